//! How the blog looks: the built-in themes, the designer's choices (checked for contrast), the
//! navigation bar and the sidebar's gadgets. Pure: parsed from the theme form, checked here,
//! stored by `db::appearance`, turned into a stylesheet by `render::theme`.

use serde::{Deserialize, Serialize};

use super::{FormErrors, post::BodyFormat};

/// WCAG 2 AA for normal text.
pub const MIN_CONTRAST: f64 = 4.5;
/// Custom CSS is a stylesheet, not a place for data.
pub const MAX_CUSTOM_CSS_BYTES: usize = 64 * 1024;
pub const MAX_NAV_ITEMS: usize = 20;
pub const MAX_LINKS: usize = 50;
pub const MAX_TEXT_GADGET_BYTES: usize = 20 * 1024;
/// The text column's width in CSS pixels.
pub const WIDTH_RANGE: std::ops::RangeInclusive<i32> = 480..=1200;

/// A colour as the designer gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    /// `#rrggbb` or `#rgb`, any case.
    pub fn parse(text: &str) -> Option<Self> {
        let hex = text.trim().strip_prefix('#')?;
        if !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        let channel = |s: &str| u8::from_str_radix(s, 16).ok();
        match hex.len() {
            6 => Some(Self(
                channel(&hex[0..2])?,
                channel(&hex[2..4])?,
                channel(&hex[4..6])?,
            )),
            3 => {
                let short = |i: usize| channel(&hex[i..=i]).map(|v| v * 17);
                Some(Self(short(0)?, short(1)?, short(2)?))
            }
            _ => None,
        }
    }

    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }

    /// Relative luminance (WCAG 2).
    pub fn luminance(self) -> f64 {
        let linear = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.040_45 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * linear(self.0) + 0.7152 * linear(self.1) + 0.0722 * linear(self.2)
    }

    /// `weight` of `self` and the rest of `other`.
    pub fn mix(self, other: Self, weight: f64) -> Self {
        let channel = |a: u8, b: u8| {
            let value = f64::from(a) * weight + f64::from(b) * (1.0 - weight);
            // Within 0..=255 by construction.
            value.round().clamp(0.0, 255.0) as u8
        };
        Self(
            channel(self.0, other.0),
            channel(self.1, other.1),
            channel(self.2, other.2),
        )
    }
}

/// The WCAG contrast ratio of two colours, from 1 to 21.
pub fn contrast(a: Rgb, b: Rgb) -> f64 {
    let (la, lb) = (a.luminance(), b.luminance());
    let (light, dark) = if la > lb { (la, lb) } else { (lb, la) };
    (light + 0.05) / (dark + 0.05)
}

/// The colours a page is drawn with. The designer chooses the first four; the rest follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Palette {
    pub background: Rgb,
    pub text: Rgb,
    pub link: Rgb,
    /// Date headers, buttons (with the background colour on them), focus rings.
    pub accent: Rgb,
}

impl Palette {
    /// Secondary text (dates, counts): as faint as it can be while still readable, on the
    /// page and on a panel.
    pub fn muted(self) -> Rgb {
        let mut weight = 0.6;
        loop {
            let muted = self.text.mix(self.background, weight);
            let readable = contrast(muted, self.background).min(contrast(muted, self.panel()));
            if readable >= MIN_CONTRAST || weight >= 1.0 {
                return muted;
            }
            weight += 0.05;
        }
    }

    /// Lines between things.
    pub fn rule(self) -> Rgb {
        self.text.mix(self.background, 0.2)
    }

    /// Boxes set off from the page (code, notices): a tint of the text colour, as strong as it
    /// can be (up to 5 %) while text, links and the accent stay readable on it.
    pub fn panel(self) -> Rgb {
        (0..=5)
            .rev()
            .map(|percent| self.text.mix(self.background, f64::from(percent) / 100.0))
            .find(|panel| {
                [self.text, self.link, self.accent]
                    .iter()
                    .all(|&colour| contrast(colour, *panel) >= MIN_CONTRAST)
            })
            .unwrap_or(self.background)
    }

    /// Each pair a reader must be able to read, with what is wrong when one is too faint.
    pub fn problems(self) -> Vec<ColourProblem> {
        [
            (Colour::Text, self.text),
            (Colour::Link, self.link),
            (Colour::Accent, self.accent),
        ]
        .into_iter()
        .filter_map(|(which, colour)| {
            let ratio = contrast(colour, self.background);
            (ratio < MIN_CONTRAST).then_some(ColourProblem { which, ratio })
        })
        .collect()
    }
}

/// A designer colour that is not the background.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colour {
    Text,
    Link,
    Accent,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ColourProblem {
    pub which: Colour,
    pub ratio: f64,
}

impl ColourProblem {
    pub fn message(&self) -> String {
        let what = match self.which {
            Colour::Text => "Text",
            Colour::Link => "Links",
            Colour::Accent => "The accent (date headers and buttons)",
        };
        // Rounded down, so "4.49" is never shown as "4.5".
        let ratio = (self.ratio * 100.0).floor() / 100.0;
        format!(
            "{what} on this background would have a contrast of {ratio:.2}:1; readers need at \
             least 4.5:1 (WCAG AA). Choose a darker or lighter colour."
        )
    }
}

/// The built-in themes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThemeName {
    Classic,
    Minimal,
    Magazine,
    Night,
}

impl ThemeName {
    pub const ALL: [Self; 4] = [Self::Classic, Self::Minimal, Self::Magazine, Self::Night];

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.slug() == text)
    }

    pub fn slug(self) -> &'static str {
        match self {
            Self::Classic => "classic",
            Self::Minimal => "minimal",
            Self::Magazine => "magazine",
            Self::Night => "night",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Classic => "Classic",
            Self::Minimal => "Minimal",
            Self::Magazine => "Magazine",
            Self::Night => "Night",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Self::Classic => {
                "Date headers, a serif text and a sidebar: the look of a Blogger blog."
            }
            Self::Minimal => "One centred column of text, quiet headings, nothing else in the way.",
            Self::Magazine => "Posts as cards with their featured images, a bold sans-serif.",
            Self::Night => "Light text on a dark page, whatever the reader's device prefers.",
        }
    }

    /// The palette for readers whose device prefers light.
    pub fn light(self) -> Palette {
        match self {
            Self::Classic => Palette {
                background: Rgb(0xfd, 0xfc, 0xf9),
                text: Rgb(0x1f, 0x23, 0x28),
                link: Rgb(0x0b, 0x5c, 0xad),
                accent: Rgb(0x0b, 0x5c, 0xad),
            },
            Self::Minimal => Palette {
                background: Rgb(0xff, 0xff, 0xff),
                text: Rgb(0x22, 0x22, 0x22),
                link: Rgb(0x22, 0x22, 0x22),
                accent: Rgb(0x55, 0x55, 0x55),
            },
            Self::Magazine => Palette {
                background: Rgb(0xf4, 0xf5, 0xf7),
                text: Rgb(0x14, 0x18, 0x1f),
                link: Rgb(0xb4, 0x23, 0x18),
                accent: Rgb(0xb4, 0x23, 0x18),
            },
            Self::Night => Self::Night.dark(),
        }
    }

    /// The palette for readers whose device prefers dark.
    pub fn dark(self) -> Palette {
        match self {
            Self::Classic => Palette {
                background: Rgb(0x16, 0x18, 0x1c),
                text: Rgb(0xe6, 0xe3, 0xdd),
                link: Rgb(0x7d, 0xb7, 0xff),
                accent: Rgb(0x7d, 0xb7, 0xff),
            },
            Self::Minimal => Palette {
                background: Rgb(0x12, 0x12, 0x12),
                text: Rgb(0xe8, 0xe8, 0xe8),
                link: Rgb(0xe8, 0xe8, 0xe8),
                accent: Rgb(0xb0, 0xb0, 0xb0),
            },
            Self::Magazine => Palette {
                background: Rgb(0x10, 0x13, 0x18),
                text: Rgb(0xec, 0xee, 0xf2),
                link: Rgb(0xff, 0x8a, 0x7a),
                accent: Rgb(0xff, 0x8a, 0x7a),
            },
            Self::Night => Palette {
                background: Rgb(0x0d, 0x11, 0x17),
                text: Rgb(0xd6, 0xdc, 0xe4),
                link: Rgb(0x8a, 0xc4, 0xff),
                accent: Rgb(0xd2, 0xa8, 0xff),
            },
        }
    }

    pub fn body_font(self) -> Font {
        match self {
            Self::Classic => Font::Book,
            Self::Minimal => Font::OldStyle,
            Self::Magazine | Self::Night => Font::Sans,
        }
    }

    pub fn heading_font(self) -> Font {
        match self {
            Self::Classic => Font::Book,
            Self::Minimal => Font::OldStyle,
            Self::Magazine => Font::Humanist,
            Self::Night => Font::Sans,
        }
    }

    /// The text column's width in CSS pixels.
    pub fn width(self) -> i32 {
        match self {
            Self::Classic => 672,
            Self::Minimal => 640,
            Self::Magazine => 800,
            Self::Night => 704,
        }
    }

    /// Listings show posts as cards with their featured images.
    pub fn cards(self) -> bool {
        self == Self::Magazine
    }
}

/// Font choices: stacks of fonts that ship with the reader's system, so no font is fetched
/// from anyone (after modernfontstacks.com).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Font {
    Book,
    OldStyle,
    Sans,
    Humanist,
    Rounded,
    Mono,
}

impl Font {
    pub const ALL: [Self; 6] = [
        Self::Book,
        Self::OldStyle,
        Self::Sans,
        Self::Humanist,
        Self::Rounded,
        Self::Mono,
    ];

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.slug() == text)
    }

    pub fn slug(self) -> &'static str {
        match self {
            Self::Book => "book",
            Self::OldStyle => "old-style",
            Self::Sans => "sans",
            Self::Humanist => "humanist",
            Self::Rounded => "rounded",
            Self::Mono => "mono",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Book => "Book serif (Charter, Cambria, Georgia)",
            Self::OldStyle => "Old-style serif (Palatino, Iowan)",
            Self::Sans => "System sans-serif (the device's own)",
            Self::Humanist => "Humanist sans-serif (Gill Sans, Ubuntu, Calibri)",
            Self::Rounded => "Rounded sans-serif",
            Self::Mono => "Monospace",
        }
    }

    pub fn stack(self) -> &'static str {
        match self {
            Self::Book => r#"Charter, "Bitstream Charter", "Sitka Text", Cambria, Georgia, serif"#,
            Self::OldStyle => {
                r#""Iowan Old Style", "Palatino Linotype", Palatino, "URW Palladio L", P052, serif"#
            }
            Self::Sans => {
                r#"system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif"#
            }
            Self::Humanist => {
                r#"Seravek, "Gill Sans Nova", Ubuntu, Calibri, "DejaVu Sans", source-sans-pro, sans-serif"#
            }
            Self::Rounded => {
                r#"ui-rounded, "Hiragino Maru Gothic ProN", Quicksand, Comfortaa, Manjari, "Arial Rounded MT", Calibri, sans-serif"#
            }
            Self::Mono => {
                r#"ui-monospace, "Cascadia Code", "Source Code Pro", Menlo, Consolas, "DejaVu Sans Mono", monospace"#
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SidebarSide {
    Right,
    Left,
    None,
}

impl SidebarSide {
    pub const ALL: [Self; 3] = [Self::Right, Self::Left, Self::None];

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.slug() == text)
    }

    pub fn slug(self) -> &'static str {
        match self {
            Self::Right => "right",
            Self::Left => "left",
            Self::None => "none",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Right => "On the right",
            Self::Left => "On the left",
            Self::None => "None (gadgets go below the posts)",
        }
    }
}

/// A link in the navigation bar or the Link List gadget.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub label: String,
    pub url: String,
}

/// Where a link may point: a path on the blog, or an http(s) address.
pub fn link_url_is_valid(url: &str) -> bool {
    let safe = |rest: &str| {
        rest.chars()
            .all(|c| !c.is_control() && !c.is_whitespace() && !matches!(c, '"' | '<' | '>'))
    };
    // `/\host` is `//host` to browsers: another site.
    (url.starts_with('/') && !url.starts_with("//") && !url.contains('\\') && safe(url))
        || ["https://", "http://"].iter().any(|scheme| {
            url.strip_prefix(scheme)
                .is_some_and(|rest| !rest.is_empty() && safe(rest))
        })
}

/// One link per line, `Label | address`, in the order shown.
pub fn parse_links(text: &str, max: usize) -> Result<Vec<Link>, String> {
    let mut links = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let Some((label, url)) = line.rsplit_once('|') else {
            return Err(format!(
                "Line {}: write the link's text, a bar and its address, like “About | /p/about.html”.",
                number + 1
            ));
        };
        let (label, url) = (label.trim(), url.trim());
        if label.is_empty() || label.chars().count() > 80 {
            return Err(format!(
                "Line {}: the link's text must be 1 to 80 characters.",
                number + 1
            ));
        }
        if !link_url_is_valid(url) {
            return Err(format!(
                "Line {}: “{url}” is not an address on this blog (starting with /) or an http(s) address.",
                number + 1
            ));
        }
        links.push(Link {
            label: label.to_owned(),
            url: url.to_owned(),
        });
    }
    if links.len() > max {
        return Err(format!("At most {max} links, please."));
    }
    Ok(links)
}

pub fn links_text(links: &[Link]) -> String {
    links
        .iter()
        .map(|l| format!("{} | {}\n", l.label, l.url))
        .collect()
}

/// The sidebar's gadgets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GadgetKind {
    Search,
    Profile,
    Pages,
    LinkList,
    PopularPosts,
    BlogArchive,
    Labels,
    RecentComments,
    FeedLinks,
    FollowByEmail,
    Text,
}

impl GadgetKind {
    pub const ALL: [Self; 11] = [
        Self::Search,
        Self::Profile,
        Self::Pages,
        Self::LinkList,
        Self::PopularPosts,
        Self::BlogArchive,
        Self::Labels,
        Self::RecentComments,
        Self::FeedLinks,
        Self::FollowByEmail,
        Self::Text,
    ];

    pub fn slug(self) -> &'static str {
        match self {
            Self::Search => "search",
            Self::Profile => "profile",
            Self::Pages => "pages",
            Self::LinkList => "link_list",
            Self::PopularPosts => "popular_posts",
            Self::BlogArchive => "blog_archive",
            Self::Labels => "labels",
            Self::RecentComments => "recent_comments",
            Self::FeedLinks => "feed_links",
            Self::FollowByEmail => "follow_by_email",
            Self::Text => "text",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.slug() == text)
    }

    /// The heading a gadget has until the admin gives it another.
    pub fn default_title(self) -> &'static str {
        match self {
            Self::Search => "Search",
            Self::Profile => "About me",
            Self::Pages => "Pages",
            Self::LinkList => "Links",
            Self::PopularPosts => "Popular posts",
            Self::BlogArchive => "Blog Archive",
            Self::Labels => "Labels",
            Self::RecentComments => "Recent comments",
            Self::FeedLinks => "Subscribe",
            Self::FollowByEmail => "Follow by email",
            Self::Text => "Notes",
        }
    }

    /// What the admin page calls it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Search => "Search",
            Self::Profile => "Profile",
            Self::Pages => "Pages",
            Self::LinkList => "Link list",
            Self::PopularPosts => "Popular posts",
            Self::BlogArchive => "Blog Archive",
            Self::Labels => "Labels",
            Self::RecentComments => "Recent comments",
            Self::FeedLinks => "Feed links",
            Self::FollowByEmail => "Follow by email",
            Self::Text => "Text",
        }
    }
}

/// One gadget's place in the sidebar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gadget {
    pub kind: GadgetKind,
    pub on: bool,
    /// Empty for the kind's default title.
    #[serde(default)]
    pub title: String,
}

impl Gadget {
    pub fn title(&self) -> &str {
        if self.title.is_empty() {
            self.kind.default_title()
        } else {
            &self.title
        }
    }
}

/// What a blog starts with: the sidebar Folio has always had.
pub fn default_gadgets() -> Vec<Gadget> {
    let on = [
        GadgetKind::Search,
        GadgetKind::FollowByEmail,
        GadgetKind::BlogArchive,
        GadgetKind::Labels,
    ];
    let mut gadgets: Vec<Gadget> = on
        .iter()
        .map(|&kind| Gadget {
            kind,
            on: true,
            title: String::new(),
        })
        .collect();
    complete_gadgets(&mut gadgets);
    gadgets
}

/// Every kind once: the first of each kept, the missing ones added switched off.
pub fn complete_gadgets(gadgets: &mut Vec<Gadget>) {
    let mut seen = Vec::new();
    gadgets.retain(|g| {
        let first = !seen.contains(&g.kind);
        seen.push(g.kind);
        first
    });
    for kind in GadgetKind::ALL {
        if !gadgets.iter().any(|g| g.kind == kind) {
            gadgets.push(Gadget {
                kind,
                on: false,
                title: String::new(),
            });
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ArchiveStyle {
    #[default]
    Hierarchy,
    Flat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LabelsStyle {
    #[default]
    List,
    Cloud,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LabelsOrder {
    #[default]
    Name,
    Count,
}

/// Each gadget's own options. Missing fields (an older row) take their defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GadgetOptions {
    pub profile_name: String,
    /// A '/media/…' or https address.
    pub profile_picture: String,
    pub profile_bio: String,
    pub links: Vec<Link>,
    pub popular_count: i32,
    /// Counted over the last this many days; 0 for all time.
    pub popular_days: i32,
    pub archive_style: ArchiveStyle,
    pub labels_style: LabelsStyle,
    pub labels_order: LabelsOrder,
    pub recent_comments_count: i32,
    pub text_format: TextFormat,
    pub text_body: String,
}

impl Default for GadgetOptions {
    fn default() -> Self {
        Self {
            profile_name: String::new(),
            profile_picture: String::new(),
            profile_bio: String::new(),
            links: Vec::new(),
            popular_count: 5,
            popular_days: 30,
            archive_style: ArchiveStyle::Hierarchy,
            labels_style: LabelsStyle::List,
            labels_order: LabelsOrder::Name,
            recent_comments_count: 5,
            text_format: TextFormat::Markdown,
            text_body: String::new(),
        }
    }
}

/// The Text gadget's source format (stored by name, like posts' `body_format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TextFormat {
    #[default]
    Markdown,
    Html,
}

impl TextFormat {
    pub fn body_format(self) -> BodyFormat {
        match self {
            Self::Markdown => BodyFormat::Markdown,
            Self::Html => BodyFormat::Html,
        }
    }
}

/// Everything the theme page sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appearance {
    pub theme: ThemeName,
    pub dark_variant: bool,
    pub background: Option<Rgb>,
    pub text: Option<Rgb>,
    pub link: Option<Rgb>,
    pub accent: Option<Rgb>,
    pub body_font: Option<Font>,
    pub heading_font: Option<Font>,
    /// None for the theme's own.
    pub content_width: Option<i32>,
    pub sidebar: SidebarSide,
    pub header_image: String,
    pub logo: String,
    pub favicon: String,
    pub custom_css: String,
    pub navigation: Vec<Link>,
    pub gadgets: Vec<Gadget>,
    pub options: GadgetOptions,
}

impl Default for Appearance {
    fn default() -> Self {
        Self {
            theme: ThemeName::Classic,
            dark_variant: true,
            background: None,
            text: None,
            link: None,
            accent: None,
            body_font: None,
            heading_font: None,
            content_width: None,
            sidebar: SidebarSide::Right,
            header_image: String::new(),
            logo: String::new(),
            favicon: String::new(),
            custom_css: String::new(),
            navigation: Vec::new(),
            gadgets: default_gadgets(),
            options: GadgetOptions::default(),
        }
    }
}

impl Appearance {
    /// The light palette: the theme's, with the designer's colours over it.
    pub fn palette(&self) -> Palette {
        let theme = self.theme.light();
        Palette {
            background: self.background.unwrap_or(theme.background),
            text: self.text.unwrap_or(theme.text),
            link: self.link.unwrap_or(theme.link),
            accent: self.accent.unwrap_or(theme.accent),
        }
    }

    /// The palette for a reader who prefers dark, when the blog offers one.
    pub fn dark_palette(&self) -> Option<Palette> {
        (self.dark_variant && self.theme != ThemeName::Night).then(|| self.theme.dark())
    }

    pub fn body_font(&self) -> Font {
        self.body_font.unwrap_or(self.theme.body_font())
    }

    pub fn heading_font(&self) -> Font {
        self.heading_font.unwrap_or(self.theme.heading_font())
    }

    pub fn width(&self) -> i32 {
        self.content_width.unwrap_or(self.theme.width())
    }

    /// The gadgets shown, in order.
    pub fn shown_gadgets(&self) -> impl Iterator<Item = &Gadget> {
        self.gadgets.iter().filter(|g| g.on)
    }

    pub fn shows(&self, kind: GadgetKind) -> bool {
        self.shown_gadgets().any(|g| g.kind == kind)
    }
}

/// What is wrong with a theme form, field by field.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AppearanceErrors {
    pub theme: Option<String>,
    pub background: Option<String>,
    pub text: Option<String>,
    pub link: Option<String>,
    pub accent: Option<String>,
    pub fonts: Option<String>,
    pub content_width: Option<String>,
    pub sidebar: Option<String>,
    pub header_image: Option<String>,
    pub logo: Option<String>,
    pub favicon: Option<String>,
    pub custom_css: Option<String>,
    pub navigation: Option<String>,
    pub gadgets: Option<String>,
    pub profile: Option<String>,
    pub links: Option<String>,
    pub text_gadget: Option<String>,
}

impl FormErrors for AppearanceErrors {}

impl AppearanceErrors {
    /// Every message, in the form's order.
    pub fn messages(&self) -> Vec<&str> {
        [
            &self.theme,
            &self.background,
            &self.text,
            &self.link,
            &self.accent,
            &self.fonts,
            &self.content_width,
            &self.sidebar,
            &self.header_image,
            &self.logo,
            &self.favicon,
            &self.navigation,
            &self.gadgets,
            &self.profile,
            &self.links,
            &self.text_gadget,
            &self.custom_css,
        ]
        .into_iter()
        .filter_map(|message| message.as_deref())
        .collect()
    }
}

/// The theme form's fields as typed (every character kept for a form shown again).
pub type FormFields = Vec<(String, String)>;

/// A field of the form as typed; empty when it was not sent (an unticked box).
pub fn field<'a>(fields: &'a FormFields, name: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

fn optional_colour(text: &str, error: &mut Option<String>) -> Option<Rgb> {
    if text.trim().is_empty() {
        return None;
    }
    let colour = Rgb::parse(text);
    if colour.is_none() {
        *error = Some(format!(
            "“{}” is not a colour: write it as # and six hexadecimal digits, like #1f2328.",
            text.trim()
        ));
    }
    colour
}

fn optional_font(text: &str, error: &mut Option<String>) -> Option<Font> {
    match text {
        "" | "theme" => None,
        other => {
            let font = Font::parse(other);
            if font.is_none() {
                *error = Some("Choose one of the fonts offered.".to_owned());
            }
            font
        }
    }
}

/// Reads the theme form: every field checked, colours against each other.
pub fn parse_form(fields: &FormFields) -> Result<Appearance, Box<AppearanceErrors>> {
    let mut errors = AppearanceErrors::default();
    let theme = parse_theme(field(fields, "theme"), &mut errors.theme);
    let background = optional_colour(field(fields, "background"), &mut errors.background);
    let text = optional_colour(field(fields, "text"), &mut errors.text);
    let link = optional_colour(field(fields, "link"), &mut errors.link);
    let accent = optional_colour(field(fields, "accent"), &mut errors.accent);
    let body_font = optional_font(field(fields, "body_font"), &mut errors.fonts);
    let heading_font = optional_font(field(fields, "heading_font"), &mut errors.fonts);
    let content_width = optional_width(field(fields, "content_width"), &mut errors.content_width);
    let sidebar = parse_sidebar(field(fields, "sidebar"), &mut errors.sidebar);
    let header_image = image_address(field(fields, "header_image"), &mut errors.header_image);
    let logo = image_address(field(fields, "logo"), &mut errors.logo);
    let favicon = image_address(field(fields, "favicon"), &mut errors.favicon);
    let custom_css = parse_custom_css(field(fields, "custom_css"), &mut errors.custom_css);
    let navigation = parse_navigation(field(fields, "navigation"), &mut errors.navigation);

    let gadgets = parse_gadgets(fields, &mut errors);
    let options = parse_gadget_options(fields, &mut errors);

    let appearance = Appearance {
        theme,
        dark_variant: !field(fields, "dark_variant").is_empty(),
        background,
        text,
        link,
        accent,
        body_font,
        heading_font,
        content_width,
        sidebar,
        header_image,
        logo,
        favicon,
        custom_css,
        navigation,
        gadgets,
        options,
    };
    check_contrast(&appearance, &mut errors);
    if errors.is_empty() {
        Ok(appearance)
    } else {
        Err(Box::new(errors))
    }
}

fn parse_theme(text: &str, error: &mut Option<String>) -> ThemeName {
    ThemeName::parse(text).unwrap_or_else(|| {
        *error = Some("Choose one of the themes.".to_owned());
        ThemeName::Classic
    })
}

/// None (empty or 0) is the theme's own width.
fn optional_width(text: &str, error: &mut Option<String>) -> Option<i32> {
    match text.trim() {
        "" | "0" => None,
        typed => match typed.parse::<i32>() {
            Ok(width) if WIDTH_RANGE.contains(&width) => Some(width),
            _ => {
                *error = Some(format!(
                    "The width is a number of pixels from {} to {}, or empty for the theme's own.",
                    WIDTH_RANGE.start(),
                    WIDTH_RANGE.end()
                ));
                None
            }
        },
    }
}

fn parse_sidebar(text: &str, error: &mut Option<String>) -> SidebarSide {
    SidebarSide::parse(text).unwrap_or_else(|| {
        *error = Some("Choose where the sidebar goes.".to_owned());
        SidebarSide::Right
    })
}

/// An image's address as typed (trimmed), checked as a featured image's is.
fn image_address(text: &str, error: &mut Option<String>) -> String {
    let address = text.trim().to_owned();
    if !super::post::featured_image_is_valid(&address) {
        *error = Some(format!(
            "“{address}” is not an image of this blog’s library (/media/…) or an https address."
        ));
    }
    address
}

fn parse_custom_css(text: &str, error: &mut Option<String>) -> String {
    let custom_css = text.replace("\r\n", "\n");
    if custom_css.len() > MAX_CUSTOM_CSS_BYTES {
        *error = Some(format!(
            "Custom CSS can be at most {} KB.",
            MAX_CUSTOM_CSS_BYTES / 1024
        ));
    } else if custom_css.contains("</") || custom_css.contains('\0') {
        *error = Some("Custom CSS cannot contain “</” or a NUL character.".to_owned());
    } else if custom_css.contains("@import") || custom_css.contains("@charset") {
        // Both only work at the very top of a stylesheet, and this one is the theme's first.
        *error = Some(
            "Custom CSS cannot use @import or @charset: it comes after the theme’s own rules, \
             where browsers ignore them. Paste the rules themselves instead."
                .to_owned(),
        );
    }
    custom_css
}

fn parse_navigation(text: &str, error: &mut Option<String>) -> Vec<Link> {
    parse_links(text, MAX_NAV_ITEMS).unwrap_or_else(|message| {
        *error = Some(message);
        Vec::new()
    })
}

/// Contrast is judged on the colours the page would really have: the designer's over the
/// theme's, so a dark text colour chosen for Night's dark background is refused too.
fn check_contrast(appearance: &Appearance, errors: &mut AppearanceErrors) {
    for problem in appearance.palette().problems() {
        let slot = match problem.which {
            Colour::Text => &mut errors.text,
            Colour::Link => &mut errors.link,
            Colour::Accent => &mut errors.accent,
        };
        // A colour that could not be read keeps that message.
        if slot.is_none() {
            *slot = Some(problem.message());
        }
    }
}

/// The sidebar's gadgets: a switch, a place and a title for each kind; ties keep the kinds'
/// listed order.
fn parse_gadgets(fields: &FormFields, errors: &mut AppearanceErrors) -> Vec<Gadget> {
    let mut placed: Vec<(i64, usize, Gadget)> = Vec::new();
    for (index, kind) in GadgetKind::ALL.into_iter().enumerate() {
        let slug = kind.slug();
        let order_text = field(fields, &format!("gadget_{slug}_order"));
        let order = if order_text.trim().is_empty() {
            i64::try_from(index + 1).unwrap_or(i64::MAX)
        } else {
            order_text.trim().parse::<i64>().unwrap_or_else(|_| {
                errors.gadgets = Some(format!(
                    "The place of “{}” must be a whole number.",
                    kind.name()
                ));
                0
            })
        };
        let title = field(fields, &format!("gadget_{slug}_title")).trim();
        if title.chars().count() > 80 {
            errors.gadgets = Some(format!(
                "The title of “{}” can be at most 80 characters.",
                kind.name()
            ));
        }
        let title = if title == kind.default_title() {
            ""
        } else {
            title
        };
        placed.push((
            order,
            index,
            Gadget {
                kind,
                on: !field(fields, &format!("gadget_{slug}_on")).is_empty(),
                title: title.to_owned(),
            },
        ));
    }
    placed.sort_by_key(|(order, index, _)| (*order, *index));
    placed.into_iter().map(|(_, _, g)| g).collect()
}

/// What the gadgets show: counts, styles, the profile, links and the text gadget.
fn parse_gadget_options(fields: &FormFields, errors: &mut AppearanceErrors) -> GadgetOptions {
    let number = |name: &str, range: std::ops::RangeInclusive<i32>, fallback: i32| {
        let typed = field(fields, name).trim();
        if typed.is_empty() {
            return Ok(fallback);
        }
        typed
            .parse::<i32>()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or(())
    };
    let defaults = GadgetOptions::default();
    let popular_count = number("popular_count", 1..=20, defaults.popular_count);
    let popular_days = number("popular_days", 0..=3650, defaults.popular_days);
    let recent_comments_count = number(
        "recent_comments_count",
        1..=20,
        defaults.recent_comments_count,
    );
    if popular_count.is_err() || popular_days.is_err() || recent_comments_count.is_err() {
        errors.gadgets = Some(
            "Popular posts and recent comments show 1 to 20 items; popular posts count the \
             last 0 (all time) to 3650 days."
                .to_owned(),
        );
    }
    let profile_picture = field(fields, "profile_picture").trim().to_owned();
    if !super::post::featured_image_is_valid(&profile_picture) {
        errors.profile = Some(
            "The picture must be an image of this blog’s library (/media/…) or an https address."
                .to_owned(),
        );
    }
    let profile_bio = field(fields, "profile_bio").replace("\r\n", "\n");
    if profile_bio.chars().count() > 1000 {
        errors.profile = Some("The short bio can be at most 1000 characters.".to_owned());
    }
    let links = parse_links(field(fields, "links"), MAX_LINKS).unwrap_or_else(|message| {
        errors.links = Some(message);
        Vec::new()
    });
    let text_body = field(fields, "text_body").replace("\r\n", "\n");
    if text_body.len() > MAX_TEXT_GADGET_BYTES {
        errors.text_gadget = Some(format!(
            "The text can be at most {} KB.",
            MAX_TEXT_GADGET_BYTES / 1024
        ));
    }
    GadgetOptions {
        profile_name: field(fields, "profile_name").trim().to_owned(),
        profile_picture,
        profile_bio,
        links,
        popular_count: popular_count.unwrap_or(defaults.popular_count),
        popular_days: popular_days.unwrap_or(defaults.popular_days),
        archive_style: if field(fields, "archive_style") == "flat" {
            ArchiveStyle::Flat
        } else {
            ArchiveStyle::Hierarchy
        },
        labels_style: if field(fields, "labels_style") == "cloud" {
            LabelsStyle::Cloud
        } else {
            LabelsStyle::List
        },
        labels_order: if field(fields, "labels_order") == "count" {
            LabelsOrder::Count
        } else {
            LabelsOrder::Name
        },
        recent_comments_count: recent_comments_count.unwrap_or(defaults.recent_comments_count),
        text_format: if field(fields, "text_format") == "html" {
            TextFormat::Html
        } else {
            TextFormat::Markdown
        },
        text_body,
    }
}

/// The form's fields for a stored appearance (what the theme page shows first).
pub fn form_fields(appearance: &Appearance) -> FormFields {
    let colour = |c: Option<Rgb>| c.map(Rgb::hex).unwrap_or_default();
    let font = |f: Option<Font>| f.map_or("theme", Font::slug).to_owned();
    let mut fields: FormFields = vec![
        ("theme".into(), appearance.theme.slug().into()),
        (
            "dark_variant".into(),
            if appearance.dark_variant { "on" } else { "" }.into(),
        ),
        ("background".into(), colour(appearance.background)),
        ("text".into(), colour(appearance.text)),
        ("link".into(), colour(appearance.link)),
        ("accent".into(), colour(appearance.accent)),
        ("body_font".into(), font(appearance.body_font)),
        ("heading_font".into(), font(appearance.heading_font)),
        (
            "content_width".into(),
            appearance
                .content_width
                .map(|w| w.to_string())
                .unwrap_or_default(),
        ),
        ("sidebar".into(), appearance.sidebar.slug().into()),
        ("header_image".into(), appearance.header_image.clone()),
        ("logo".into(), appearance.logo.clone()),
        ("favicon".into(), appearance.favicon.clone()),
        ("custom_css".into(), appearance.custom_css.clone()),
        ("navigation".into(), links_text(&appearance.navigation)),
    ];
    for (place, gadget) in appearance.gadgets.iter().enumerate() {
        let slug = gadget.kind.slug();
        fields.push((
            format!("gadget_{slug}_on"),
            if gadget.on { "on" } else { "" }.into(),
        ));
        fields.push((format!("gadget_{slug}_order"), (place + 1).to_string()));
        fields.push((format!("gadget_{slug}_title"), gadget.title().to_owned()));
    }
    let o = &appearance.options;
    fields.extend([
        ("profile_name".into(), o.profile_name.clone()),
        ("profile_picture".into(), o.profile_picture.clone()),
        ("profile_bio".into(), o.profile_bio.clone()),
        ("links".into(), links_text(&o.links)),
        ("popular_count".into(), o.popular_count.to_string()),
        ("popular_days".into(), o.popular_days.to_string()),
        (
            "archive_style".into(),
            match o.archive_style {
                ArchiveStyle::Hierarchy => "hierarchy",
                ArchiveStyle::Flat => "flat",
            }
            .into(),
        ),
        (
            "labels_style".into(),
            match o.labels_style {
                LabelsStyle::List => "list",
                LabelsStyle::Cloud => "cloud",
            }
            .into(),
        ),
        (
            "labels_order".into(),
            match o.labels_order {
                LabelsOrder::Name => "name",
                LabelsOrder::Count => "count",
            }
            .into(),
        ),
        (
            "recent_comments_count".into(),
            o.recent_comments_count.to_string(),
        ),
        (
            "text_format".into(),
            match o.text_format {
                TextFormat::Markdown => "markdown",
                TextFormat::Html => "html",
            }
            .into(),
        ),
        ("text_body".into(), o.text_body.clone()),
    ]);
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contrast_matches_the_wcag_examples() {
        let white = Rgb(255, 255, 255);
        let black = Rgb(0, 0, 0);
        assert!((contrast(white, black) - 21.0).abs() < 1e-9);
        assert!((contrast(white, white) - 1.0).abs() < 1e-9);
        // #767676 is the lightest grey that passes AA on white; #777777 fails it.
        assert!(contrast(Rgb::parse("#767676").unwrap(), white) >= MIN_CONTRAST);
        assert!(contrast(Rgb::parse("#777").unwrap(), white) < MIN_CONTRAST);
    }

    #[test]
    fn colours_parse_in_both_lengths_and_nothing_else() {
        assert_eq!(Rgb::parse("#1F2328"), Some(Rgb(0x1f, 0x23, 0x28)));
        assert_eq!(Rgb::parse(" #abc "), Some(Rgb(0xaa, 0xbb, 0xcc)));
        for bad in ["1f2328", "#12345", "#ggg", "red", "#1f23281", "", "#+1+2+3"] {
            assert_eq!(Rgb::parse(bad), None, "{bad}");
        }
        assert_eq!(Rgb(1, 2, 255).hex(), "#0102ff");
    }

    #[test]
    fn every_built_in_palette_is_readable() {
        for theme in ThemeName::ALL {
            for palette in [theme.light(), theme.dark()] {
                assert_eq!(palette.problems(), vec![], "{theme:?}");
                for ground in [palette.background, palette.panel()] {
                    let muted = contrast(palette.muted(), ground);
                    assert!(muted >= MIN_CONTRAST, "{theme:?} muted {muted}");
                    for colour in [palette.text, palette.link, palette.accent] {
                        let ratio = contrast(colour, ground);
                        assert!(ratio >= MIN_CONTRAST, "{theme:?} on panel {ratio}");
                    }
                }
            }
        }
    }

    fn form(pairs: &[(&str, &str)]) -> FormFields {
        let mut fields = form_fields(&Appearance::default());
        for (name, value) in pairs {
            fields.retain(|(k, _)| k != name);
            fields.push(((*name).to_owned(), (*value).to_owned()));
        }
        fields
    }

    #[test]
    fn a_faint_pair_is_refused_with_its_ratio() {
        let errors = parse_form(&form(&[("background", "#ffffff"), ("text", "#777777")]))
            .expect_err("4.48:1 is below AA");
        let message = errors.text.expect("the text field says why");
        assert!(
            message.contains("4.47:1") || message.contains("4.48:1"),
            "{message}"
        );
        assert!(message.contains("4.5:1"), "{message}");
        assert_eq!(errors.background, None);
        // The link and accent are judged against the chosen background as well.
        let errors = parse_form(&form(&[("theme", "night"), ("link", "#0b5cad")]))
            .expect_err("a dark link on Night's dark page");
        assert!(errors.link.is_some());
        let passing = parse_form(&form(&[("background", "#ffffff"), ("text", "#767676")]))
            .expect("4.54:1 passes");
        // Panels and secondary text then keep to AA as well.
        let palette = passing.palette();
        assert!(contrast(palette.text, palette.panel()) >= MIN_CONTRAST);
        assert!(contrast(palette.muted(), palette.panel()) >= MIN_CONTRAST);
        assert!(contrast(palette.muted(), palette.background) >= MIN_CONTRAST);
    }

    #[test]
    fn the_stored_form_reads_back_to_the_same_appearance() {
        let appearance = Appearance::default();
        assert_eq!(parse_form(&form_fields(&appearance)), Ok(appearance));
        let fields = form(&[
            ("theme", "magazine"),
            ("background", "#fafafa"),
            ("body_font", "humanist"),
            ("content_width", "720"),
            ("sidebar", "left"),
            (
                "navigation",
                "About | /p/about.html\r\nElsewhere | https://example.org/\n",
            ),
            ("gadget_text_on", "on"),
            ("gadget_text_order", "0"),
            ("gadget_text_title", "Hello"),
            ("text_body", "*hi*"),
            ("labels_style", "cloud"),
        ]);
        let parsed = parse_form(&fields).expect("valid");
        assert_eq!(parsed.theme, ThemeName::Magazine);
        assert_eq!(parsed.content_width, Some(720));
        assert_eq!(parsed.navigation.len(), 2);
        assert_eq!(parsed.gadgets[0].kind, GadgetKind::Text);
        assert_eq!(parsed.gadgets[0].title(), "Hello");
        assert_eq!(parsed.options.labels_style, LabelsStyle::Cloud);
        assert_eq!(parse_form(&form_fields(&parsed)), Ok(parsed));
    }

    #[test]
    fn bad_fields_each_say_what_is_wrong() {
        let errors = parse_form(&form(&[
            ("theme", "gothic"),
            ("accent", "blue"),
            ("content_width", "99"),
            ("navigation", "no bar here"),
            ("links", "Bad | javascript:alert(1)"),
            ("custom_css", "a{}</style><script>"),
            ("logo", "ftp://example.org/x.png"),
            ("popular_count", "500"),
        ]))
        .expect_err("all wrong");
        for (name, error) in [
            ("theme", &errors.theme),
            ("accent", &errors.accent),
            ("width", &errors.content_width),
            ("navigation", &errors.navigation),
            ("links", &errors.links),
            ("css", &errors.custom_css),
            ("logo", &errors.logo),
            ("gadgets", &errors.gadgets),
        ] {
            assert!(error.is_some(), "{name}");
        }
    }

    #[test]
    fn gadgets_are_completed_and_deduplicated() {
        let mut gadgets = vec![
            Gadget {
                kind: GadgetKind::Labels,
                on: true,
                title: String::new(),
            },
            Gadget {
                kind: GadgetKind::Labels,
                on: false,
                title: String::new(),
            },
        ];
        complete_gadgets(&mut gadgets);
        assert_eq!(gadgets.len(), GadgetKind::ALL.len());
        assert!(gadgets[0].on);
        assert!(gadgets[1..].iter().all(|g| !g.on));
    }

    #[test]
    fn link_addresses_are_the_blog_s_or_the_web_s() {
        for good in [
            "/p/about.html",
            "/search/label/Garden",
            "https://example.org/a?b=c",
        ] {
            assert!(link_url_is_valid(good), "{good}");
        }
        for bad in [
            "//evil.example/",
            "/\\evil.example/",
            "javascript:alert(1)",
            "https://",
            "/a b",
            "data:x",
        ] {
            assert!(!link_url_is_valid(bad), "{bad}");
        }
    }
}
