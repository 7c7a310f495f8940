//! What a page that sent a Webmention says of its target, read from its microformats2: the
//! `h-entry` that answers, likes or reposts the target (or only mentions it), its author
//! (`p-author h-card`, else the page's `h-card`, else the site) and its text. Only the parts of
//! the mf2 parsing rules that answer those questions: properties (`p-`, `u-`, `dt-`, `e-`)
//! with nested microformats, URL values from their attributes, and implied names.

use std::collections::HashMap;

use scraper::{ElementRef, Html};

/// What the source is to the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Reply,
    Like,
    Repost,
    /// A page that links to the target without answering it.
    Mention,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Reply => "reply",
            Kind::Like => "like",
            Kind::Repost => "repost",
            Kind::Mention => "mention",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub kind: Kind,
    pub author_name: String,
    pub author_url: Option<String>,
    /// The entry's text (its content, else its summary or name), paragraphs kept.
    pub text: String,
}

/// Reads `html`, fetched from `page` (after redirects): `None` when it does not link to
/// `target`.
pub fn read(html: &str, page: &url::Url, target: &url::Url) -> Option<Entry> {
    let document = Html::parse_document(html);
    let root = document.root_element();
    let base = elements(root)
        .find(|e| e.value().name() == "base")
        .and_then(|e| e.value().attr("href"))
        .and_then(|href| page.join(href).ok())
        .unwrap_or_else(|| page.clone());
    let resolve = |value: &str| base.join(value.trim()).ok();
    let names_target = |value: &str| resolve(value).is_some_and(|url| same_page(&url, target));

    let links = elements(root).any(|e| {
        ["href", "src"]
            .iter()
            .filter_map(|attr| e.value().attr(attr))
            .any(names_target)
    });
    if !links {
        return None;
    }

    let entries: Vec<Item> = elements(root)
        .filter(|e| has_class(e, "h-entry"))
        .map(|e| Item::parse(e, &resolve))
        .collect();
    let answering = |property: &str| {
        entries.iter().find(|entry| {
            entry
                .get(property)
                .iter()
                .any(|value| value.url_like().is_some_and(names_target))
        })
    };
    let (kind, entry) = if let Some(entry) = answering("like-of") {
        (Kind::Like, Some(entry))
    } else if let Some(entry) = answering("repost-of") {
        (Kind::Repost, Some(entry))
    } else if let Some(entry) = answering("in-reply-to") {
        (Kind::Reply, Some(entry))
    } else {
        (Kind::Mention, entries.first())
    };

    let (mut author_name, mut author_url) = entry
        .and_then(|entry| entry.get("author").first().map(Value::as_author))
        .unwrap_or_default();
    if author_name.is_empty() && author_url.is_none() {
        // The page's own h-card (a home page or a site-wide header names its author).
        if let Some(card) = elements(root)
            .find(|e| has_class(e, "h-card"))
            .map(|e| Item::parse(e, &resolve))
        {
            (author_name, author_url) = Value::Nested(card).as_author();
        }
    }
    let site = format!(
        "{}://{}",
        page.scheme(),
        page.host_str().unwrap_or_default()
    );
    if author_name.is_empty() {
        author_name = page.host_str().unwrap_or_default().to_owned();
    }
    let author_url = author_url
        .filter(|url| url.starts_with("https://") || url.starts_with("http://"))
        .or(Some(site));

    let text = entry
        .map(|entry| {
            ["content", "summary", "name"]
                .iter()
                .filter_map(|property| entry.get(property).first().map(Value::text))
                .find(|text| !text.trim().is_empty())
                .unwrap_or_default()
        })
        .filter(|text| !text.trim().is_empty())
        .or_else(|| {
            elements(root)
                .find(|e| e.value().name() == "title")
                .map(|e| collapse(&e.text().collect::<String>()))
        })
        .unwrap_or_default();

    Some(Entry {
        kind,
        author_name: collapse(&author_name),
        author_url,
        text: text.trim().to_owned(),
    })
}

/// Two URLs name the same page: equal once parsed, fragments aside.
fn same_page(a: &url::Url, b: &url::Url) -> bool {
    let mut a = a.clone();
    let mut b = b.clone();
    a.set_fragment(None);
    b.set_fragment(None);
    a == b
}

fn elements(root: ElementRef<'_>) -> impl Iterator<Item = ElementRef<'_>> {
    root.descendants().filter_map(ElementRef::wrap)
}

fn has_class(element: &ElementRef<'_>, class: &str) -> bool {
    element.value().classes().any(|c| c == class)
}

fn is_microformat(element: &ElementRef<'_>) -> bool {
    element
        .value()
        .classes()
        .any(|c| c.starts_with("h-") && c.len() > 2)
}

/// A microformat's properties, each with its values in document order.
#[derive(Debug, Default)]
struct Item {
    properties: HashMap<String, Vec<Value>>,
    /// The implied name: the element's text, when it has no `p-name`.
    implied_name: String,
    /// The implied URL: a link's own `href`, when it has no `u-url`.
    implied_url: Option<String>,
}

#[derive(Debug)]
enum Value {
    Text(String),
    Url(String),
    Html { text: String },
    Nested(Item),
}

impl Item {
    fn parse(element: ElementRef<'_>, resolve: &dyn Fn(&str) -> Option<url::Url>) -> Item {
        let implied_url = matches!(element.value().name(), "a" | "area")
            .then(|| element.value().attr("href"))
            .flatten()
            .and_then(resolve)
            .map(|url| url.to_string());
        let mut item = Item {
            implied_name: collapse(&text_of(element)),
            implied_url,
            ..Item::default()
        };
        collect(element, resolve, &mut item);
        item
    }

    fn get(&self, property: &str) -> &[Value] {
        self.properties.get(property).map_or(&[], Vec::as_slice)
    }

    fn name(&self) -> String {
        self.get("name")
            .first()
            .map(Value::text)
            .unwrap_or_else(|| self.implied_name.clone())
    }
}

impl Value {
    fn text(&self) -> String {
        match self {
            Value::Text(text) | Value::Url(text) | Value::Html { text } => text.clone(),
            Value::Nested(item) => item.name(),
        }
    }

    /// The URL a value names: a `u-` value, a nested item's `u-url`, or text that is one.
    fn url_like(&self) -> Option<&str> {
        match self {
            Value::Url(url) | Value::Text(url) => Some(url),
            Value::Nested(item) => item
                .get("url")
                .first()
                .and_then(Value::url_like)
                .or(item.implied_url.as_deref()),
            Value::Html { .. } => None,
        }
    }

    fn as_author(&self) -> (String, Option<String>) {
        match self {
            Value::Nested(_) => (self.text(), self.url_like().map(str::to_owned)),
            Value::Url(url) => (String::new(), Some(url.clone())),
            Value::Text(name) | Value::Html { text: name } => (name.clone(), None),
        }
    }
}

/// The properties under `element`, not looking inside nested microformats (whose own classes
/// still make them a property of this one).
fn collect(element: ElementRef<'_>, resolve: &dyn Fn(&str) -> Option<url::Url>, item: &mut Item) {
    for child in element.children().filter_map(ElementRef::wrap) {
        let mut nested = is_microformat(&child).then(|| Item::parse(child, resolve));
        for class in child.value().classes() {
            let Some((prefix, name)) = class.split_once('-') else {
                continue;
            };
            if name.is_empty() || !matches!(prefix, "p" | "u" | "dt" | "e") {
                continue;
            }
            let value = match (prefix, nested.take()) {
                (_, Some(inner)) => Value::Nested(inner),
                ("u", None) => url_value(child, resolve),
                ("dt", None) => Value::Text(
                    child
                        .value()
                        .attr("datetime")
                        .map(str::to_owned)
                        .unwrap_or_else(|| collapse(&text_of(child))),
                ),
                ("e", None) => Value::Html {
                    text: crate::render::sanitize::html_to_text(&child.inner_html()),
                },
                _ => Value::Text(text_value(child)),
            };
            item.properties
                .entry(name.to_owned())
                .or_default()
                .push(value);
        }
        if !is_microformat(&child) {
            collect(child, resolve, item);
        }
    }
}

/// A `u-` property's value: the URL its element carries, resolved against the page.
fn url_value(element: ElementRef<'_>, resolve: &dyn Fn(&str) -> Option<url::Url>) -> Value {
    let attr = match element.value().name() {
        "a" | "area" | "link" => "href",
        "img" | "audio" | "video" | "source" | "iframe" => "src",
        "object" => "data",
        _ => "",
    };
    let raw = element
        .value()
        .attr(attr)
        .map(str::to_owned)
        .unwrap_or_else(|| text_value(element));
    match resolve(&raw) {
        Some(url) => Value::Url(url.to_string()),
        None => Value::Text(raw),
    }
}

/// A `p-` property's value: a title, alt text or value where the element has one, else its
/// text.
fn text_value(element: ElementRef<'_>) -> String {
    let attr = match element.value().name() {
        "abbr" | "link" => "title",
        "img" | "area" => "alt",
        "data" | "input" => "value",
        _ => "",
    };
    element
        .value()
        .attr(attr)
        .map(collapse)
        .unwrap_or_else(|| collapse(&text_of(element)))
}

/// An element's text, without scripts and styles.
fn text_of(element: ElementRef<'_>) -> String {
    let mut out = String::new();
    for node in element.descendants() {
        if let Some(text) = node.value().as_text() {
            let inside_code = node
                .ancestors()
                .filter_map(ElementRef::wrap)
                .any(|e| matches!(e.value().name(), "script" | "style" | "template"));
            if !inside_code {
                out.push_str(text);
            }
        }
    }
    out
}

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> url::Url {
        url::Url::parse(s).expect("a URL")
    }

    const TARGET: &str = "https://blog.example/2026/11/tide-tables.html";

    #[test]
    fn a_reply_with_its_author_card_and_content() {
        let html = r#"<!doctype html><html><head><title>Re: tide tables</title></head><body>
            <article class="h-entry">
              <a class="u-in-reply-to" href="https://blog.example/2026/11/tide-tables.html">In reply to</a>
              <div class="p-author h-card"><img class="u-photo" src="/me.jpg" alt="">
                <a class="p-name u-url" href="/">Ines Okafor</a></div>
              <div class="e-content"><p>The spring tides were <b>higher</b> than forecast.</p>
                <p>Second thought.</p></div>
              <a class="u-url" href="/notes/42"><time class="dt-published" datetime="2026-11-30T10:00:00Z">30 Nov</time></a>
            </article></body></html>"#;
        let entry = read(html, &url("https://ines.example/notes/42"), &url(TARGET)).unwrap();
        assert_eq!(entry.kind, Kind::Reply);
        assert_eq!(entry.author_name, "Ines Okafor");
        assert_eq!(entry.author_url.as_deref(), Some("https://ines.example/"));
        assert_eq!(
            entry.text,
            "The spring tides were higher than forecast.\n\nSecond thought."
        );
    }

    #[test]
    fn likes_and_reposts_through_nested_citations() {
        let like = r#"<div class="h-entry"><span class="p-author">Sam</span> liked
            <a class="u-like-of h-cite" href="https://blog.example/2026/11/tide-tables.html"><span class="p-name">Tide tables</span></a></div>"#;
        let entry = read(like, &url("https://sam.example/likes/1"), &url(TARGET)).unwrap();
        assert_eq!(entry.kind, Kind::Like);
        assert_eq!(entry.author_name, "Sam");
        assert_eq!(entry.author_url.as_deref(), Some("https://sam.example"));

        let repost = r#"<div class="h-entry"><div class="u-repost-of h-cite">
            <a class="u-url" href="https://blog.example/2026/11/tide-tables.html#top">the post</a></div></div>"#;
        let entry = read(repost, &url("https://sam.example/r/1"), &url(TARGET)).unwrap();
        assert_eq!(entry.kind, Kind::Repost);
        assert_eq!(
            entry.author_name, "sam.example",
            "no author: the site's name"
        );
    }

    #[test]
    fn a_page_that_only_links_is_a_mention_and_one_that_does_not_is_nothing() {
        let mention = r#"<html><head><title>Weekend links</title></head><body>
            <header class="h-card"><a class="u-url p-name" href="https://kai.example/">Kai</a></header>
            <article class="h-entry"><h1 class="p-name">Weekend links</h1>
            <div class="e-content">See <a href="/2026/11/tide-tables.html">this</a>.</div></article>"#;
        let page = url("https://blog.example/elsewhere");
        let entry = read(mention, &page, &url(TARGET)).unwrap();
        assert_eq!(entry.kind, Kind::Mention);
        assert_eq!(entry.author_name, "Kai");
        assert_eq!(entry.text, "See this.");

        let unrelated = r#"<p>Nothing <a href="https://blog.example/other">here</a>, and
            <span>https://blog.example/2026/11/tide-tables.html</span> as text is no link.</p>"#;
        assert_eq!(read(unrelated, &page, &url(TARGET)), None);
    }

    #[test]
    fn without_microformats_the_title_and_the_site_speak() {
        let html = r#"<html><head><title> A page   about tides </title><script>var x = "<a href='https://blog.example/2026/11/tide-tables.html'>";</script></head>
            <body><p><img src="https://blog.example/2026/11/tide-tables.html"></p></body></html>"#;
        let entry = read(html, &url("http://plain.example/a"), &url(TARGET)).unwrap();
        assert_eq!(entry.kind, Kind::Mention);
        assert_eq!(entry.author_name, "plain.example");
        assert_eq!(entry.author_url.as_deref(), Some("http://plain.example"));
        assert_eq!(entry.text, "A page about tides");
    }
}
