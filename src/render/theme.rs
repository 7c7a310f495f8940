//! The blog's own stylesheet: the theme's palette with the designer's colours, fonts and width
//! as CSS custom properties (which `assets/css/folio.css` is written against), then the admin's
//! custom CSS. Served as a fingerprinted file, so the Content-Security-Policy keeps forbidding
//! inline styles.

use std::fmt::Write;

use sha2::{Digest, Sha256};

use crate::domain::theme::{Appearance, Palette, ThemeName};

/// The stylesheet and its fingerprinted address.
#[derive(Debug, Clone)]
pub struct SiteStylesheet {
    pub css: String,
    /// e.g. "/assets/site/3f2a9c1b04.css"
    pub url: String,
    /// e.g. "3f2a9c1b04.css"
    pub file: String,
}

pub fn stylesheet(appearance: &Appearance) -> SiteStylesheet {
    let mut css = String::from("/* Folio: this blog's theme settings (generated). */\n");
    let scheme = match (appearance.theme, appearance.dark_palette()) {
        (ThemeName::Night, _) => "dark",
        (_, Some(_)) => "light dark",
        (_, None) => "light",
    };
    let _ = write!(
        css,
        ":root {{\n  --measure: {}px;\n  --body-font: {};\n  --heading-font: {};\n}}\n",
        appearance.width(),
        appearance.body_font().stack(),
        appearance.heading_font().stack(),
    );
    // Colours for screens only: paper gets folio.css's print palette (black on white).
    let _ = write!(
        css,
        "@media screen {{\n  :root {{\n{}    color-scheme: {scheme};\n  }}\n}}\n",
        indented(&properties(appearance.palette())),
    );
    if let Some(dark) = appearance.dark_palette() {
        let _ = write!(
            css,
            "@media screen and (prefers-color-scheme: dark) {{\n  :root {{\n{}  }}\n}}\n",
            indented(&properties(dark))
        );
    }
    if !appearance.custom_css.trim().is_empty() {
        css.push_str("/* The blog's custom CSS. */\n");
        css.push_str(&appearance.custom_css);
        css.push('\n');
    }
    let hash = hex::encode(&Sha256::digest(css.as_bytes())[..5]);
    let file = format!("{hash}.css");
    SiteStylesheet {
        url: format!("/assets/site/{file}"),
        file,
        css,
    }
}

fn indented(lines: &str) -> String {
    lines.lines().map(|line| format!("  {line}\n")).collect()
}

fn properties(palette: Palette) -> String {
    format!(
        "  --bg: {};\n  --fg: {};\n  --muted: {};\n  --link: {};\n  --accent: {};\n  --rule: {};\n  --panel: {};\n",
        palette.background.hex(),
        palette.text.hex(),
        palette.muted().hex(),
        palette.link.hex(),
        palette.accent.hex(),
        palette.rule().hex(),
        palette.panel().hex(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::theme::Rgb;

    #[test]
    fn the_designer_s_colours_and_custom_css_make_a_new_file() {
        let plain = stylesheet(&Appearance::default());
        assert!(plain.css.contains("--bg: #fdfcf9;"), "{}", plain.css);
        assert!(plain.css.contains("prefers-color-scheme: dark"));
        let designed = stylesheet(&Appearance {
            background: Some(Rgb(0xff, 0xff, 0xff)),
            custom_css: ".post-title { letter-spacing: 0.01em; }".into(),
            dark_variant: false,
            ..Appearance::default()
        });
        assert!(designed.css.contains("--bg: #ffffff;"));
        assert!(
            designed
                .css
                .ends_with(".post-title { letter-spacing: 0.01em; }\n")
        );
        assert!(!designed.css.contains("prefers-color-scheme"));
        assert!(designed.css.contains("color-scheme: light;"));
        assert_ne!(plain.url, designed.url);
        assert!(plain.url.starts_with("/assets/site/") && plain.url.ends_with(".css"));
    }

    #[test]
    fn paper_gets_the_print_palette_whatever_the_theme() {
        let night = stylesheet(&Appearance {
            theme: ThemeName::Night,
            ..Appearance::default()
        });
        // Every colour is inside a screen-only block.
        let colours_at = night.css.find("--bg:").unwrap();
        let screen_at = night.css.find("@media screen {").unwrap();
        assert!(screen_at < colours_at);
        assert!(!night.css.contains(":root {\n  --bg"));
    }

    #[test]
    fn night_is_dark_whatever_the_device_prefers() {
        let night = stylesheet(&Appearance {
            theme: ThemeName::Night,
            ..Appearance::default()
        });
        assert!(night.css.contains("color-scheme: dark;"));
        assert!(!night.css.contains("prefers-color-scheme"));
    }
}
