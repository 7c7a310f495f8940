//! The blog's own images in a post body get their size and smaller copies: `width` and `height`
//! (the page does not jump as they load), `srcset` and `sizes` (a phone downloads a small file),
//! `loading="lazy"` and `decoding="async"`, and a WebP `<source>` where one was made.

use crate::domain::image::ImageKind;
pub use crate::domain::image::{MediaImage, MediaSizes};

/// How wide an image is shown: the whole screen on a phone, the text column (42rem) beyond.
const SIZES: &str = "(max-width: 44rem) 100vw, 42rem";

/// The hashes of the blog's images a text mentions (`/media/{hash}.{ext}`), each once.
pub fn media_hashes(text: &str) -> Vec<String> {
    let mut hashes: Vec<String> = Vec::new();
    for (at, _) in text.match_indices("/media/") {
        let hash = &text[at + 7..];
        let hash = hash.get(..64).unwrap_or("");
        if hash.len() == 64
            && hash.bytes().all(|b| b.is_ascii_hexdigit())
            && !hashes.iter().any(|h| h == hash)
        {
            hashes.push(hash.to_owned());
        }
    }
    hashes
}

/// Adds sizes and smaller copies to every `<img>` of sanitised HTML whose `src` is one of the
/// blog's images known in `sizes`. Anything else is left exactly as it was.
pub fn with_sizes(html: &str, sizes: &MediaSizes) -> String {
    if sizes.is_empty() {
        return html.to_owned();
    }
    let mut out = String::with_capacity(html.len() + 256);
    let mut rest = html;
    while let Some(start) = rest.find("<img ") {
        out.push_str(&rest[..start]);
        let Some(length) = tag_length(&rest[start..]) else {
            out.push_str(&rest[start..]);
            return out;
        };
        let tag = &rest[start..start + length];
        out.push_str(&sized_tag(tag, sizes).unwrap_or_else(|| tag.to_owned()));
        rest = &rest[start + length..];
    }
    out.push_str(rest);
    out
}

/// The length of a tag up to and including its `>`, quoted values read as values.
fn tag_length(tag: &str) -> Option<usize> {
    let mut quote = None;
    for (at, c) in tag.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return Some(at + 1),
            _ => {}
        }
    }
    None
}

fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=\"");
    let from = tag.find(&key)? + key.len();
    let to = from + tag[from..].find('"')?;
    Some(&tag[from..to])
}

fn sized_tag(tag: &str, sizes: &MediaSizes) -> Option<String> {
    if attribute(tag, "srcset").is_some() {
        return None;
    }
    let src = attribute(tag, "src")?;
    let file = src.strip_prefix("/media/")?;
    let (hash, ext) = file.split_once('.')?;
    let image = sizes.get(hash)?;
    if image.kind.extension() != ext {
        return None;
    }
    let body = tag.strip_suffix('>')?.trim_end_matches('/').trim_end();
    let mut extra = String::new();
    if attribute(tag, "width").is_none() && attribute(tag, "height").is_none() {
        extra.push_str(&format!(
            " width=\"{}\" height=\"{}\"",
            image.width, image.height
        ));
    }
    if attribute(tag, "loading").is_none() {
        extra.push_str(" loading=\"lazy\"");
    }
    extra.push_str(" decoding=\"async\"");
    let srcset = |kind: ImageKind| {
        let mut widths: Vec<String> = image
            .variants
            .iter()
            .filter(|(_, k)| *k == kind)
            .map(|(w, k)| format!("/media/{hash}-{w}.{} {w}w", k.extension()))
            .collect();
        if widths.is_empty() {
            return None;
        }
        if kind == image.kind {
            widths.push(format!("{src} {}w", image.width));
        }
        Some(widths.join(", "))
    };
    if let Some(set) = srcset(image.kind) {
        extra.push_str(&format!(" srcset=\"{set}\" sizes=\"{SIZES}\""));
    }
    let img = format!("{body}{extra}>");
    // A WebP source must offer every width the image has, the full one included, or a browser
    // taking WebP would stretch a small copy.
    let count = |kind: ImageKind| image.variants.iter().filter(|(_, k)| *k == kind).count();
    let webp_complete =
        image.kind != ImageKind::Webp && count(ImageKind::Webp) == count(image.kind) + 1;
    Some(match srcset(ImageKind::Webp).filter(|_| webp_complete) {
        Some(set) => format!(
            "<picture><source type=\"image/webp\" srcset=\"{set}\" sizes=\"{SIZES}\">{img}</picture>"
        ),
        None => img,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const HASH: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

    fn known(kind: ImageKind, variants: Vec<(u32, ImageKind)>) -> MediaSizes {
        HashMap::from([(
            HASH.to_owned(),
            MediaImage {
                kind,
                width: 2000,
                height: 1000,
                variants,
            },
        )])
    }

    #[test]
    fn the_blogs_photos_get_sizes_and_smaller_copies() {
        let html = format!(
            "<figure><img src=\"/media/{HASH}.jpg\" alt=\"A heron &gt; a duck\" title=\"x\"><figcaption>Dawn</figcaption></figure>"
        );
        let sizes = known(
            ImageKind::Jpeg,
            vec![(480, ImageKind::Jpeg), (960, ImageKind::Jpeg)],
        );
        assert_eq!(
            with_sizes(&html, &sizes),
            format!(
                "<figure><img src=\"/media/{HASH}.jpg\" alt=\"A heron &gt; a duck\" title=\"x\" width=\"2000\" height=\"1000\" loading=\"lazy\" decoding=\"async\" srcset=\"/media/{HASH}-480.jpg 480w, /media/{HASH}-960.jpg 960w, /media/{HASH}.jpg 2000w\" sizes=\"{SIZES}\"><figcaption>Dawn</figcaption></figure>"
            )
        );
        assert_eq!(media_hashes(&html), [HASH]);
    }

    #[test]
    fn a_png_with_webp_copies_becomes_a_picture() {
        let html = format!("<p><img src=\"/media/{HASH}.png\" alt=\"\"></p>");
        let sizes = known(
            ImageKind::Png,
            vec![
                (480, ImageKind::Png),
                (480, ImageKind::Webp),
                (2000, ImageKind::Webp),
            ],
        );
        // Without the full-size WebP there is no WebP source (a browser would stretch 480 px).
        let partial = known(
            ImageKind::Png,
            vec![(480, ImageKind::Png), (480, ImageKind::Webp)],
        );
        assert!(!with_sizes(&html, &partial).contains("<picture>"));
        let out = with_sizes(&html, &sizes);
        assert!(
            out.starts_with(&format!(
                "<p><picture><source type=\"image/webp\" srcset=\"/media/{HASH}-480.webp 480w, /media/{HASH}-2000.webp 2000w\""
            )),
            "{out}"
        );
        assert!(
            out.contains(&format!(
                "srcset=\"/media/{HASH}-480.png 480w, /media/{HASH}.png 2000w\""
            )),
            "{out}"
        );
        assert!(out.ends_with("></picture></p>"), "{out}");
    }

    #[test]
    fn other_images_and_text_are_left_alone() {
        let html = format!(
            "<p>See /media/{HASH}.jpg</p><img src=\"https://example.org/a.jpg\" alt=\"\"><img src=\"/media/{HASH}.png\" alt=\"wrong type\"><img src=\"/media/bbbb.jpg\">"
        );
        let sizes = known(ImageKind::Jpeg, vec![]);
        assert_eq!(with_sizes(&html, &sizes), html);
        // A photo narrower than every copy still gets its size, so the page does not jump.
        let small = format!("<img src=\"/media/{HASH}.jpg\" alt=\"\">");
        assert_eq!(
            with_sizes(&small, &sizes),
            format!(
                "<img src=\"/media/{HASH}.jpg\" alt=\"\" width=\"2000\" height=\"1000\" loading=\"lazy\" decoding=\"async\">"
            )
        );
    }
}
