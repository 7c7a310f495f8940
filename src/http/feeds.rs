//! Feeds (Atom, RSS, comments; at Blogger's paths), the sitemap and robots.txt.

use askama::Template;
use axum::{
    Router,
    extract::{Path, Query},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    middleware,
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use serde::Deserialize;
use time::OffsetDateTime;

use super::{edge::etag::etag, edge::extract::ReadState, edge::markers::Cacheable};
use crate::{
    db::{self, feeds::FeedPost, settings::Site},
    error::AppError,
    render::dates,
    state::AppState,
    views::{
        feeds::{
            AtomFeed, FeedEntry, FeedMeta, InReplyTo, RssFeed, Sitemap, SitemapEntry, SitemapIndex,
        },
        label_url,
    },
};

const DEFAULT_RESULTS: i64 = 25;
const MAX_RESULTS: i64 = 500;
const MAX_START_INDEX: i64 = 10_000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/feeds/posts/default", get(posts_feed))
        .route("/feeds/posts/default/-/{label}", get(label_feed))
        .route("/feeds/comments/default", get(comments_feed))
        .route("/feeds/{post_id}/comments/default", get(post_comments_feed))
        .route(
            "/atom.xml",
            get(|| async { Redirect::permanent("/feeds/posts/default") }),
        )
        .route(
            "/rss.xml",
            get(|| async { Redirect::permanent("/feeds/posts/default?alt=rss") }),
        )
        .route("/sitemap.xml", get(sitemap))
        .route("/sitemap/{file}", get(sitemap_part))
        .route("/robots.txt", get(robots))
        .layer(middleware::from_fn(etag))
}

/// Blogger's feed parameters.
#[derive(Debug, Default, Deserialize)]
pub struct FeedParams {
    alt: Option<String>,
    #[serde(rename = "max-results")]
    max_results: Option<String>,
    #[serde(rename = "start-index")]
    start_index: Option<String>,
}

impl FeedParams {
    fn rss(&self) -> bool {
        self.alt.as_deref() == Some("rss")
    }

    fn limit(&self) -> i64 {
        self.max_results
            .as_deref()
            .and_then(|n| n.parse().ok())
            .unwrap_or(DEFAULT_RESULTS)
            .clamp(1, MAX_RESULTS)
    }

    fn offset(&self) -> i64 {
        self.start_index
            .as_deref()
            .and_then(|n| n.parse::<i64>().ok())
            .unwrap_or(1)
            .clamp(1, MAX_START_INDEX)
            - 1
    }
}

use dates::{http_date, rfc2822, utc_rfc3339 as rfc3339_utc};

/// A feed or sitemap response: exact content type, `Last-Modified`, and 304 for a client whose
/// copy is as new (`If-Modified-Since`; `If-None-Match` is the ETag layer's).
fn document(
    headers: &HeaderMap,
    content_type: &'static str,
    body: String,
    modified: Option<OffsetDateTime>,
) -> Response {
    let modified = modified.map(|m| m.replace_nanosecond(0).unwrap_or(m));
    if let (Some(modified), Some(since), None) = (
        modified,
        headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok()),
        headers.get(header::IF_NONE_MATCH),
    ) && let Ok(since) =
        OffsetDateTime::parse(since, &time::format_description::well_known::Rfc2822)
        && modified <= since
    {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    let mut response = (
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        body,
    )
        .into_response();
    if let Some(modified) = modified
        && let Ok(value) = HeaderValue::from_str(&http_date(modified))
    {
        response.headers_mut().insert(header::LAST_MODIFIED, value);
    }
    response
}

/// A feed document; it changes with the content only, so the page cache may keep it.
fn render_feed(
    site: &Site,
    headers: &HeaderMap,
    rss: bool,
    feed: FeedMeta,
    entries: Vec<FeedEntry>,
    modified: Option<OffsetDateTime>,
) -> Result<Response, AppError> {
    let response = if rss {
        document(
            headers,
            "application/rss+xml",
            RssFeed { feed, entries }.render()?,
            modified,
        )
    } else {
        document(
            headers,
            "application/atom+xml",
            AtomFeed { feed, entries }.render()?,
            modified,
        )
    };
    Ok(Cacheable::for_site(site).mark(response))
}

fn post_entry(state: &AppState, post: &FeedPost) -> FeedEntry {
    let base = &state.config.base_url;
    FeedEntry {
        id: format!("tag:{},2026:post-{}", state.config.host(), post.id),
        title: post.title.clone(),
        url: format!("{base}{}", post.path),
        published: rfc3339_utc(post.published_at),
        updated: rfc3339_utc(post.updated_at.max(post.published_at)),
        published_rss: rfc2822(post.published_at),
        author: post
            .author_name
            .clone()
            .unwrap_or_else(|| "Anonymous".into()),
        categories: post.labels.clone(),
        content_html: absolute_links(&post.body_html, base),
        summary: post.excerpt.clone(),
        in_reply_to: None,
    }
}

/// Feed readers show content away from the blog: root-relative links must carry the host (in a
/// `srcset` too, every candidate of it).
fn absolute_links(html: &str, base: &str) -> String {
    let html = html
        .replace("href=\"/", &format!("href=\"{base}/"))
        .replace("src=\"/", &format!("src=\"{base}/"));
    let mut out = String::with_capacity(html.len());
    let mut rest = html.as_str();
    while let Some(at) = rest.find("srcset=\"") {
        let start = at + "srcset=\"".len();
        let Some(length) = rest[start..].find('"') else {
            break;
        };
        out.push_str(&rest[..start]);
        let candidates: Vec<String> = rest[start..start + length]
            .split(", ")
            .map(|candidate| match candidate.strip_prefix('/') {
                Some(path) => format!("{base}/{path}"),
                None => candidate.to_owned(),
            })
            .collect();
        out.push_str(&candidates.join(", "));
        rest = &rest[start + length..];
    }
    out.push_str(rest);
    out
}

async fn posts_for(
    state: &AppState,
    headers: &HeaderMap,
    params: &FeedParams,
    label: Option<(i64, String)>,
) -> Result<Response, AppError> {
    let site = state.site().await?;
    let settings = &site.settings;
    let base = &state.config.base_url;
    let posts = db::feeds::posts(
        &state.db,
        label.as_ref().map(|l| l.0),
        params.limit(),
        params.offset(),
    )
    .await?;
    let modified = posts.iter().map(|p| p.updated_at.max(p.published_at)).max();
    let (id_suffix, title, self_path, html_path) = match &label {
        Some((_, name)) => (
            format!("/label/{name}"),
            format!("{}: {name}", settings.title),
            format!("/feeds/posts/default/-/{}", crate::views::query_value(name)),
            label_url(name),
        ),
        None => (
            String::new(),
            settings.title.clone(),
            "/feeds/posts/default".to_owned(),
            "/".to_owned(),
        ),
    };
    let feed = FeedMeta {
        id: format!("tag:{},2026:blog{id_suffix}", state.config.host()),
        title,
        subtitle: settings.description.clone(),
        updated: rfc3339_utc(modified.unwrap_or(OffsetDateTime::UNIX_EPOCH)),
        self_url: format!(
            "{base}{self_path}{}",
            if params.rss() { "?alt=rss" } else { "" }
        ),
        html_url: format!("{base}{html_path}"),
        summaries: settings.feed_summaries,
    };
    let entries = posts.iter().map(|p| post_entry(state, p)).collect();
    render_feed(&site, headers, params.rss(), feed, entries, modified)
}

async fn posts_feed(
    ReadState(state): ReadState,
    headers: HeaderMap,
    Query(params): Query<FeedParams>,
) -> Result<Response, AppError> {
    posts_for(&state, &headers, &params, None).await
}

async fn label_feed(
    ReadState(state): ReadState,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(params): Query<FeedParams>,
) -> Result<Response, AppError> {
    let id = db::labels::find_id(&state.db, &name)
        .await?
        .ok_or(AppError::NotFound)?;
    posts_for(&state, &headers, &params, Some((id, name))).await
}

async fn comments_for(
    state: &AppState,
    headers: &HeaderMap,
    params: &FeedParams,
    post: Option<(i64, String, String)>,
) -> Result<Response, AppError> {
    let site = state.site().await?;
    let settings = &site.settings;
    let base = &state.config.base_url;
    let host = state.config.host();
    let comments =
        db::feeds::comments(&state.db, post.as_ref().map(|p| p.0), params.limit()).await?;
    let modified = comments
        .iter()
        .map(|c| c.updated_at.max(c.created_at))
        .max();
    let entries = comments
        .iter()
        .map(|c| FeedEntry {
            id: format!("tag:{host},2026:comment-{}", c.id),
            title: format!("{} on {}", c.author_name, c.post_title),
            url: format!("{base}/comment/{}", c.id),
            published: rfc3339_utc(c.created_at),
            updated: rfc3339_utc(c.updated_at.max(c.created_at)),
            published_rss: rfc2822(c.created_at),
            author: c.author_name.clone(),
            categories: Vec::new(),
            content_html: c.body_html.clone(),
            summary: String::new(),
            in_reply_to: Some(InReplyTo {
                id: format!("tag:{host},2026:post-{}", c.post_id),
                url: format!("{base}{}", c.post_path),
            }),
        })
        .collect();
    let (id_suffix, title, self_path, html_path) = match &post {
        Some((id, title, path)) => (
            format!("/post-{id}/comments"),
            format!("Comments on {title}"),
            format!("/feeds/{id}/comments/default"),
            format!("{path}#comments"),
        ),
        None => (
            "/comments".to_owned(),
            format!("{}: comments", settings.title),
            "/feeds/comments/default".to_owned(),
            "/".to_owned(),
        ),
    };
    let feed = FeedMeta {
        id: format!("tag:{host},2026:blog{id_suffix}"),
        title,
        subtitle: settings.description.clone(),
        updated: rfc3339_utc(modified.unwrap_or(OffsetDateTime::UNIX_EPOCH)),
        self_url: format!(
            "{base}{self_path}{}",
            if params.rss() { "?alt=rss" } else { "" }
        ),
        html_url: format!("{base}{html_path}"),
        summaries: false,
    };
    render_feed(&site, headers, params.rss(), feed, entries, modified)
}

async fn comments_feed(
    ReadState(state): ReadState,
    headers: HeaderMap,
    Query(params): Query<FeedParams>,
) -> Result<Response, AppError> {
    comments_for(&state, &headers, &params, None).await
}

async fn post_comments_feed(
    ReadState(state): ReadState,
    headers: HeaderMap,
    Path(post_id): Path<String>,
    Query(params): Query<FeedParams>,
) -> Result<Response, AppError> {
    let post_id: i64 = post_id.parse().map_err(|_| AppError::NotFound)?;
    let (title, path) = db::feeds::visible_post(&state.db, post_id)
        .await?
        .ok_or(AppError::NotFound)?;
    comments_for(&state, &headers, &params, Some((post_id, title, path))).await
}

fn sitemap_entry(state: &AppState, url: &db::feeds::SitemapUrl) -> SitemapEntry {
    let location = if url.is_label {
        label_url(&url.location)
    } else {
        url.location.clone()
    };
    SitemapEntry {
        url: format!("{}{location}", state.config.base_url),
        last_modified: rfc3339_utc(url.last_modified),
    }
}

/// The sitemap, or past `sitemap_chunk` URLs an index of `/sitemap/{n}.xml` parts.
async fn sitemap(ReadState(state): ReadState, headers: HeaderMap) -> Result<Response, AppError> {
    let chunk = state.config.sitemap_chunk.max(1);
    let size = db::feeds::sitemap_size(&state.db).await?;
    if size > chunk {
        let parts = (size + chunk - 1) / chunk;
        let sitemaps = (1..=parts)
            .map(|n| format!("{}/sitemap/{n}.xml", state.config.base_url))
            .collect();
        return Ok(document(
            &headers,
            "application/xml",
            SitemapIndex { sitemaps }.render()?,
            None,
        ));
    }
    sitemap_slice(&state, &headers, 1).await
}

async fn sitemap_part(
    ReadState(state): ReadState,
    headers: HeaderMap,
    Path(file): Path<String>,
) -> Result<Response, AppError> {
    let n: i64 = file
        .strip_suffix(".xml")
        .and_then(|n| n.parse().ok())
        .filter(|n| *n >= 1)
        .ok_or(AppError::NotFound)?;
    sitemap_slice(&state, &headers, n).await
}

/// Part `n` (from 1) of the sitemap; past the last part, 404 (the first is never missing).
async fn sitemap_slice(
    state: &AppState,
    headers: &HeaderMap,
    n: i64,
) -> Result<Response, AppError> {
    let chunk = state.config.sitemap_chunk.max(1);
    let urls = db::feeds::sitemap_urls(&state.db, chunk, (n - 1).saturating_mul(chunk)).await?;
    if urls.is_empty() && n > 1 {
        return Err(AppError::NotFound);
    }
    let modified = urls.iter().map(|u| u.last_modified).max();
    let urls = urls.iter().map(|u| sitemap_entry(state, u)).collect();
    Ok(document(
        headers,
        "application/xml",
        Sitemap { urls }.render()?,
        modified,
    ))
}

async fn robots(ReadState(state): ReadState) -> Response {
    let body = format!(
        "User-agent: *\nDisallow: /admin\nSitemap: {}/sitemap.xml\n",
        state.config.base_url
    );
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}
