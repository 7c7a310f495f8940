//! Where a page takes Webmentions (its endpoint: a `Link` header, else the first `<link>` or
//! `<a>` with `rel="webmention"`), and which pages a post links to.

use hyper::{HeaderMap, header};
use scraper::{ElementRef, Html};

/// The Webmention endpoint of a page fetched from `page` (after redirects), if it has one.
pub fn endpoint(
    page: &url::Url,
    headers: &HeaderMap,
    body: &str,
    is_html: bool,
) -> Option<url::Url> {
    let from_header = headers
        .get_all(header::LINK)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(link_values)
        .find(|(_, rels)| {
            rels.split_whitespace()
                .any(|rel| rel.eq_ignore_ascii_case("webmention"))
        })
        .map(|(href, _)| href);
    if let Some(href) = from_header {
        return page.join(&href).ok();
    }
    if !is_html {
        return None;
    }
    let document = Html::parse_document(body);
    document
        .root_element()
        .descendants()
        .filter_map(ElementRef::wrap)
        .filter(|e| matches!(e.value().name(), "link" | "a"))
        .find(|e| {
            e.value().attr("href").is_some()
                && e.value().attr("rel").is_some_and(|rels| {
                    rels.split_ascii_whitespace()
                        .any(|r| r.eq_ignore_ascii_case("webmention"))
                })
        })
        .and_then(|e| page.join(e.value().attr("href").unwrap_or_default()).ok())
}

/// A `Link` header's links: each URI with its `rel` (RFC 8288), commas inside `<…>` and quotes
/// kept.
fn link_values(header: &str) -> Vec<(String, String)> {
    let mut links = Vec::new();
    let mut rest = header;
    while let Some(open) = rest.find('<') {
        let Some(close) = rest[open..].find('>') else {
            break;
        };
        let href = rest[open + 1..open + close].trim().to_owned();
        rest = &rest[open + close + 1..];
        // The parameters run to the next link (a comma outside quotes).
        let mut in_quotes = false;
        let end = rest
            .char_indices()
            .find(|&(_, c)| {
                if c == '"' {
                    in_quotes = !in_quotes;
                }
                c == ',' && !in_quotes
            })
            .map_or(rest.len(), |(i, _)| i);
        let params = &rest[..end];
        rest = &rest[end..];
        let rel = params
            .split(';')
            .filter_map(|param| param.split_once('='))
            .find(|(name, _)| name.trim().eq_ignore_ascii_case("rel"))
            .map(|(_, value)| value.trim().trim_matches('"').to_owned())
            .unwrap_or_default();
        links.push((href, rel));
    }
    links
}

/// The pages a post's HTML links to, once each: http(s) links off the blog (another origin),
/// at most `most`.
pub fn links_of(body_html: &str, base_url: &str, most: usize) -> Vec<String> {
    let Ok(base) = url::Url::parse(&format!("{}/", base_url.trim_end_matches('/'))) else {
        return Vec::new();
    };
    let fragment = Html::parse_fragment(body_html);
    let mut links: Vec<String> = Vec::new();
    for element in fragment
        .root_element()
        .descendants()
        .filter_map(ElementRef::wrap)
        .filter(|e| e.value().name() == "a")
    {
        let Some(mut url) = element
            .value()
            .attr("href")
            .and_then(|href| base.join(href.trim()).ok())
        else {
            continue;
        };
        url.set_fragment(None);
        if !matches!(url.scheme(), "http" | "https") || url.origin() == base.origin() {
            continue;
        }
        let url = url.to_string();
        if !links.contains(&url) {
            links.push(url);
            if links.len() == most {
                break;
            }
        }
    }
    links
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> url::Url {
        url::Url::parse(s).expect("a URL")
    }

    #[test]
    fn the_link_header_comes_first_then_the_first_link_or_anchor() {
        let page = url("https://other.example/posts/1");
        let mut headers = HeaderMap::new();
        headers.append(
            header::LINK,
            r#"<https://other.example/feed>; rel="alternate", </wm?x=1,2>; rel="webmention other""#
                .parse()
                .unwrap(),
        );
        assert_eq!(
            endpoint(&page, &headers, "", true).unwrap().as_str(),
            "https://other.example/wm?x=1,2"
        );
        let html = r#"<html><head><link rel="stylesheet" href="/s.css"></head><body>
            <a rel="me webmention" href="">here</a><link rel="webmention" href="/late"></body></html>"#;
        assert_eq!(
            endpoint(&page, &HeaderMap::new(), html, true)
                .unwrap()
                .as_str(),
            "https://other.example/posts/1",
            "an empty href is the page itself"
        );
        assert_eq!(endpoint(&page, &HeaderMap::new(), html, false), None);
        assert_eq!(
            endpoint(&page, &HeaderMap::new(), "<p>none</p>", true),
            None
        );
    }

    #[test]
    fn a_posts_links_to_other_sites_once_each() {
        let html = r##"<p><a href="https://a.example/x#part">A</a> <a href="/2026/own.html">own</a>
            <a href="https://blog.example/2026/own.html">own too</a> <a href="mailto:x@y">mail</a>
            <a href="https://a.example/x">again</a> <a href="http://b.example/">B</a></p>"##;
        assert_eq!(
            links_of(html, "https://blog.example", 10),
            ["https://a.example/x", "http://b.example/"]
        );
        assert_eq!(
            links_of(html, "https://blog.example", 1),
            ["https://a.example/x"]
        );
    }
}
