//! What readers see: the home page, posts, archives, labels, static pages, search.

use axum::{
    Router,
    extract::{Path, Query, Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header},
    middleware::{self, Next},
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use serde::Deserialize;
use std::sync::Arc;

use super::{
    comments,
    edge::cookies::own_comment_ids,
    edge::etag::etag,
    edge::extract::ReadState,
    edge::markers::Cacheable,
    post_page::{ForReader, key_of, paging, post_page, sidebar},
    render,
};
use crate::{
    db::{
        self,
        comments::PageWanted,
        posts::{Key, PostRow, Scope, Side},
        settings::Settings,
    },
    domain::post::PostKind,
    error::AppError,
    render::dates,
    state::{AppState, Look},
    views::{
        CommentFormView, Layout, PostView, comment_page_url, group_by_day,
        public::{ListPage, SearchPage, SearchResultView, StaticPage},
        query_value, snippet_html,
    },
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/search", get(search))
        .route("/search/label/{label}", get(label))
        .route("/{year}", get(year_without_slash))
        .route("/{year}/", get(year_archive))
        .route("/{year}/{month}", get(month_without_slash))
        .route("/{year}/{month}/", get(month_archive))
        .route(
            "/{year}/{month}/{file}",
            get(by_path).post(comments::submit),
        )
        .route("/p/{file}", get(by_path))
        .route("/comment/{id}", get(comment_permalink))
        .route("/comment-token/{post_id}", get(comments::fresh_token))
        .layer(middleware::from_fn(etag))
}

/// Blogger's paging parameters, kept so an imported blog's links keep working.
#[derive(Debug, Default, Deserialize)]
pub struct PageParams {
    #[serde(rename = "updated-max")]
    updated_max: Option<String>,
    #[serde(rename = "updated-min")]
    updated_min: Option<String>,
    #[serde(rename = "reverse-paginate")]
    reverse_paginate: Option<String>,
    #[serde(rename = "max-results")]
    max_results: Option<String>,
    /// Folio's tie-breaker for posts published at the same instant.
    #[serde(rename = "cursor-id")]
    cursor_id: Option<String>,
    q: Option<String>,
    page: Option<String>,
    /// WordPress's own links to a post (`/?p=12`) and a page (`/?page_id=2`).
    p: Option<String>,
    page_id: Option<String>,
}

/// Where a listing starts, parsed from its parameters.
enum Start {
    Newest,
    OlderThan(Key),
    NewerThan(Key),
}

impl PageParams {
    fn start(&self) -> Result<Start, AppError> {
        const BAD_LINK: AppError = AppError::BadRequest("That page link is not valid.");
        let cursor_id = match self.cursor_id.as_deref().filter(|s| !s.is_empty()) {
            Some(id) => Some(id.parse::<i64>().map_err(|_| BAD_LINK)?),
            None => None,
        };
        let parse = |text: &str| dates::parse_rfc3339(text).ok_or(BAD_LINK);
        let reverse = self.reverse_paginate.as_deref() == Some("true");
        Ok(match (&self.updated_min, &self.updated_max) {
            (Some(min), _) if reverse => {
                let at = parse(min)?;
                Start::NewerThan(cursor_id.map_or(Key::after_instant(at), |id| Key { at, id }))
            }
            (_, Some(max)) if !max.is_empty() => {
                let at = parse(max)?;
                Start::OlderThan(cursor_id.map_or(Key::before_instant(at), |id| Key { at, id }))
            }
            _ => Start::Newest,
        })
    }

    fn limit(&self, settings: &Settings) -> i64 {
        self.max_results
            .as_deref()
            .and_then(|n| n.parse::<i64>().ok())
            .unwrap_or(i64::from(settings.posts_per_page))
            .clamp(1, 50)
    }
}

async fn home(
    ReadState(state): ReadState,
    Query(params): Query<PageParams>,
) -> Result<Response, AppError> {
    let wordpress_link = match (&params.p, &params.page_id) {
        (Some(id), _) if is_number(id) => Some(format!("/?p={id}")),
        (_, Some(id)) if is_number(id) => Some(format!("/?page_id={id}")),
        _ => None,
    };
    if let Some(old) = wordpress_link
        && let Some(target) = db::posts::redirect_target(&state.db, &old).await?
    {
        return Ok(moved_permanently(&target));
    }
    listing_page(&state, &params, Listing::home()).await
}

/// A 301, the status search engines and old bookmarks know best for a page that moved.
fn moved_permanently(target: &str) -> Response {
    match HeaderValue::from_str(target) {
        Ok(location) => (
            StatusCode::MOVED_PERMANENTLY,
            [(header::LOCATION, location)],
        )
            .into_response(),
        Err(_) => AppError::NotFound.into_response(),
    }
}

fn is_number(text: &str) -> bool {
    !text.is_empty() && text.len() < 20 && text.bytes().all(|b| b.is_ascii_digit())
}

/// Response marker, set by `by_path`, read by `old_links` (public stack): this 404's handler
/// has already looked its path up among the redirects, so it is not looked up twice.
#[derive(Clone, Copy)]
struct RedirectsChecked;

/// An address nothing answers (404) may be an old link of an imported blog (a WordPress
/// permalink such as `/2024/03/17/slug/`): if a post moved from there, it moves to the post.
pub async fn old_links(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let reads = matches!(*request.method(), Method::GET | Method::HEAD);
    // A clone of the URI shares its bytes: no allocation on the way to the handler.
    let uri = request.uri().clone();
    let slot = request
        .extensions()
        .get::<crate::store::replicas::ReadSlot>()
        .cloned();
    let response = next.run(request).await;
    if !reads
        || response.status() != StatusCode::NOT_FOUND
        || response.extensions().get::<RedirectsChecked>().is_some()
    {
        return response;
    }
    let path = uri.path();
    let other = match path.strip_suffix('/') {
        Some("") => None,
        Some(bare) => Some(bare.to_owned()),
        None => Some(format!("{path}/")),
    };
    let candidates: Vec<&str> = std::iter::once(path).chain(other.as_deref()).collect();
    // Unavailable: the 404 stands (the outage shows elsewhere soon enough).
    let db = match slot {
        Some(slot) => slot.choose(&state.reads).await.pool,
        None => state.db.clone(),
    };
    match db::posts::first_redirect_target(&db, &candidates).await {
        Ok(Some(target)) => moved_permanently(&target),
        _ => response,
    }
}

async fn search(
    ReadState(state): ReadState,
    Query(params): Query<PageParams>,
) -> Result<Response, AppError> {
    if params.q.is_some() {
        let page = params
            .page
            .as_deref()
            .and_then(|p| p.parse().ok())
            .unwrap_or(1);
        return search_results(&state, params.q.as_deref(), page).await;
    }
    listing_page(&state, &params, Listing::home()).await
}

async fn label(
    ReadState(state): ReadState,
    Path(name): Path<String>,
    Query(params): Query<PageParams>,
) -> Result<Response, AppError> {
    let label_id = db::labels::find_id(&state.db, &name)
        .await?
        .ok_or(AppError::NotFound)?;
    let listing = Listing {
        label_feed: Some(name.clone()),
        scope: Scope::label(label_id),
        base_path: crate::views::label_url(&name),
        heading: Some(format!("Showing posts with label {name}")),
        page_title: Some(name),
        open_year: None,
        preview: None,
    };
    self::listing_page(&state, &params, listing).await
}

async fn year_archive(
    ReadState(state): ReadState,
    Path(year): Path<String>,
    Query(params): Query<PageParams>,
) -> Result<Response, AppError> {
    let year = parse_year(&year)?;
    let settings = state.settings().await?;
    let (from, until) =
        dates::local_range(year, None, &settings.time_zone()).ok_or(AppError::NotFound)?;
    let listing = Listing {
        label_feed: None,
        scope: Scope::range(from, until),
        base_path: format!("/{year:04}/"),
        heading: Some(format!("Posts from {year}")),
        page_title: Some(year.to_string()),
        open_year: Some(i32::from(year)),
        preview: None,
    };
    self::listing_page(&state, &params, listing).await
}

async fn month_archive(
    ReadState(state): ReadState,
    Path((year, month)): Path<(String, String)>,
    Query(params): Query<PageParams>,
) -> Result<Response, AppError> {
    let year = parse_year(&year)?;
    let month = parse_month(&month)?;
    let settings = state.settings().await?;
    let (from, until) =
        dates::local_range(year, Some(month), &settings.time_zone()).ok_or(AppError::NotFound)?;
    let name = format!("{} {year}", dates::month_name(month));
    let listing = Listing {
        label_feed: None,
        scope: Scope::range(from, until),
        base_path: format!("/{year:04}/{month:02}/"),
        heading: Some(format!("Posts from {name}")),
        page_title: Some(name),
        open_year: Some(i32::from(year)),
        preview: None,
    };
    self::listing_page(&state, &params, listing).await
}

/// `/2021` and `/2021/09` are the archive pages without their final slash.
async fn year_without_slash(Path(year): Path<String>) -> Result<Redirect, AppError> {
    let year = parse_year(&year)?;
    Ok(Redirect::permanent(&format!("/{year:04}/")))
}

async fn month_without_slash(
    Path((year, month)): Path<(String, String)>,
) -> Result<Redirect, AppError> {
    let (year, month) = (parse_year(&year)?, parse_month(&month)?);
    Ok(Redirect::permanent(&format!("/{year:04}/{month:02}/")))
}

fn parse_year(text: &str) -> Result<i16, AppError> {
    match text.parse::<i16>() {
        Ok(year) if text.len() == 4 && (1..=9998).contains(&year) => Ok(year),
        _ => Err(AppError::NotFound),
    }
}

fn parse_month(text: &str) -> Result<i8, AppError> {
    match text.parse::<i8>() {
        Ok(month) if text.len() == 2 && (1..=12).contains(&month) => Ok(month),
        _ => Err(AppError::NotFound),
    }
}

/// What a listing page shows and where its pager links point.
struct Listing {
    /// A label page also offers the label's own feed.
    label_feed: Option<String>,
    scope: Scope,
    base_path: String,
    heading: Option<String>,
    page_title: Option<String>,
    open_year: Option<i32>,
    /// A look being tried on the theme page instead of the blog's own.
    preview: Option<Arc<Look>>,
}

impl Listing {
    fn home() -> Self {
        Self {
            label_feed: None,
            scope: Scope::EVERYTHING,
            base_path: "/search".to_owned(),
            heading: None,
            page_title: None,
            open_year: None,
            preview: None,
        }
    }
}

/// The home page as it would look in `look` (the theme page's preview): the real posts and
/// gadgets, nothing saved.
pub async fn preview_home(state: &AppState, look: Arc<Look>) -> Result<Response, AppError> {
    let listing = Listing {
        preview: Some(look),
        ..Listing::home()
    };
    listing_page(state, &PageParams::default(), listing).await
}

/// A page of posts by keyset: newest first, `limit` of them, with links to newer and older pages.
async fn listing_page(
    state: &AppState,
    params: &PageParams,
    listing: Listing,
) -> Result<Response, AppError> {
    let site = state.site().await?;
    let settings = &site.settings;
    let tz = settings.time_zone();
    let limit = params.limit(settings);
    let start = params.start()?;
    let scope = listing.scope;

    let (key, side) = match start {
        Start::Newest => (Key::after_instant(Scope::EVERYTHING.until), Side::Older),
        Start::OlderThan(key) => (key, Side::Older),
        Start::NewerThan(key) => (key, Side::Newer),
    };
    let rows = db::posts::list(&state.db, scope, key, side, limit).await?;
    // Whether there is more either side of what is shown.
    let (newer_exists, older_exists) = match (rows.first(), rows.last()) {
        (Some(first), Some(last)) => {
            db::posts::beyond(&state.db, scope, key_of(first), key_of(last)).await?
        }
        _ => (false, false),
    };

    let extra = match params.max_results.as_deref() {
        Some(n) if !n.is_empty() => format!("&max-results={limit}"),
        _ => String::new(),
    };
    let link = |name: &str, row: &PostRow, reverse: bool| {
        let at = dates::rfc3339(&dates::zoned(row.published_at, &tz));
        format!(
            "{}?{name}={}&cursor-id={}{extra}{}",
            listing.base_path,
            query_value(&at),
            row.id,
            if reverse {
                "&reverse-paginate=true"
            } else {
                ""
            }
        )
    };
    let newer_url = rows
        .first()
        .filter(|_| newer_exists)
        .map(|row| link("updated-min", row, true));
    let older_url = rows
        .last()
        .filter(|_| older_exists)
        .map(|row| link("updated-max", row, false));

    let preview = listing.preview.is_some();
    let (sidebar, look) = sidebar(state, &site, listing.open_year, listing.preview).await?;
    let is_home = matches!(start, Start::Newest) && listing.heading.is_none();
    // The first page of a listing is its canonical address; later pages are not.
    let path = match start {
        Start::Newest if is_home => Some("/"),
        Start::Newest => Some(listing.base_path.as_str()),
        _ => None,
    };
    let mut layout = Layout::new(settings, &state.config, listing.page_title.as_deref(), path);
    layout.dress(&look, path.unwrap_or_default());
    if preview {
        layout.preview = true;
        layout.noindex = true;
    }
    if let Some(name) = &listing.label_feed {
        layout.feeds.push(crate::views::FeedLink {
            title: format!("{} - {name}", settings.title),
            url: format!(
                "{}/feeds/posts/default/-/{}",
                state.config.base_url,
                query_value(name)
            ),
            content_type: "application/atom+xml",
        });
    }
    let fresh_until = sidebar.fresh_until;
    let page = ListPage {
        layout,
        fresh_blog: rows.is_empty() && !sidebar.has_posts,
        sidebar,
        is_home,
        heading: listing.heading,
        days: group_by_day(&rows, &tz),
        newer_url,
        older_url,
    };
    Ok(Cacheable::for_site(&site)
        .until_opt(fresh_until)
        .mark(render(&page)?))
}

const SEARCH_PAGE_SIZE: i64 = 10;
/// Search pages go this deep; past it, people refine the words.
const SEARCH_MAX_PAGES: i64 = 10;
const SEARCH_SHOWN: i64 = SEARCH_PAGE_SIZE * SEARCH_MAX_PAGES;

/// Full-text search, best matches first, with highlighted snippets.
async fn search_results(
    state: &AppState,
    q: Option<&str>,
    page: i64,
) -> Result<Response, AppError> {
    let site = state.site().await?;
    let settings = &site.settings;
    let tz = settings.time_zone();
    // Long enough for any real query; a pasted novel is cut, never an error.
    let query: String = q
        .unwrap_or("")
        .trim()
        .chars()
        .filter(|c| *c != '\0')
        .take(256)
        .collect();
    let page = page.clamp(1, SEARCH_MAX_PAGES);
    let (total, hits) = if query.is_empty() {
        (None, Vec::new())
    } else {
        let hits = db::posts::search(
            &state.db,
            &query,
            SEARCH_PAGE_SIZE,
            (page - 1) * SEARCH_PAGE_SIZE,
        )
        .await?;
        // The hits carry the count; only a page past the last one needs it counted apart.
        let total = match hits.first() {
            Some(hit) => hit.total,
            None if page == 1 => 0,
            None => db::posts::search_count(&state.db, &query, SEARCH_SHOWN + 1).await?,
        };
        (Some(total), hits)
    };
    let link = |page: i64| format!("/search?q={}&page={page}", query_value(&query));
    let pages = total
        .map_or(0, |t| (t + SEARCH_PAGE_SIZE - 1) / SEARCH_PAGE_SIZE)
        .min(SEARCH_MAX_PAGES);
    let (sidebar, look) = sidebar(state, &site, None, None).await?;
    let title = if query.is_empty() {
        "Search".to_owned()
    } else {
        format!("Search: {query}")
    };
    let mut layout = Layout::new(settings, &state.config, Some(&title), None);
    layout.dress(&look, "/search");
    layout.noindex = true;
    let fresh_until = sidebar.fresh_until;
    let results = hits
        .iter()
        .map(|hit| {
            let at = dates::zoned(hit.published_at, &tz);
            SearchResultView {
                title: hit.title.clone(),
                url: hit.path.clone(),
                date: dates::date_header(&at),
                datetime: dates::html_datetime(&at),
                labels: hit
                    .labels
                    .iter()
                    .map(|name| crate::views::LabelLink {
                        name: name.clone(),
                        url: crate::views::label_url(name),
                        count: 0,
                        size: 1,
                    })
                    .collect(),
                snippet_html: snippet_html(&hit.snippet),
            }
        })
        .collect();
    let page = render(&SearchPage {
        layout,
        sidebar,
        total,
        results,
        more_than: total.filter(|t| *t > SEARCH_SHOWN).map(|_| SEARCH_SHOWN),
        previous_url: (page > 1).then(|| link(page - 1)),
        next_url: (page < pages).then(|| link(page + 1)),
        query,
    })?;
    Ok(Cacheable::for_site(&site).until_opt(fresh_until).mark(page))
}

#[derive(Debug, Default, Deserialize)]
pub struct PostParams {
    /// "Reply" on a comment: the form answers that comment.
    reply: Option<String>,
    /// Which comment page (from 1; page 1 is the post's own address).
    #[serde(rename = "commentPage")]
    comment_page: Option<String>,
    /// Blogger's link to a comment: its time in milliseconds (`?showComment=1631234567890#c…`).
    #[serde(rename = "showComment")]
    show_comment: Option<String>,
}

/// A post at `/yyyy/mm/slug.html` or a page at `/p/slug.html`, looked up by its stored path.
async fn by_path(
    ReadState(state): ReadState,
    uri: Uri,
    headers: HeaderMap,
    Query(params): Query<PostParams>,
) -> Result<Response, AppError> {
    let path = uri.path();
    if !path.ends_with(".html") {
        return Err(AppError::NotFound);
    }
    if crate::federation::asks_for_activity(&headers) {
        return super::fediverse::article(&state, path).await;
    }
    html_by_path(state, path, headers, params)
        .await
        .map(answers_activitypub_too)
}

/// A page whose URL gives ActivityPub clients JSON (by `Accept`): shared caches must not hand
/// one the other's answer.
fn answers_activitypub_too(mut response: Response) -> Response {
    super::edge::vary_on(response.headers_mut(), "accept");
    response
}

async fn html_by_path(
    state: AppState,
    path: &str,
    headers: HeaderMap,
    params: PostParams,
) -> Result<Response, AppError> {
    let Some(row) = db::posts::find_by_path(&state.db, path).await? else {
        return match db::posts::redirect_target(&state.db, path).await? {
            Some(target) => Ok(Redirect::permanent(&target).into_response()),
            None => {
                let mut response = AppError::NotFound.into_response();
                response.extensions_mut().insert(RedirectsChecked);
                Ok(response)
            }
        };
    };
    let site = state.site().await?;
    let settings = &site.settings;
    if row.kind == PostKind::Page {
        let tz = settings.time_zone();
        let mut layout = Layout::new(settings, &state.config, Some(&row.title), Some(&row.path));
        if !row.excerpt.is_empty() {
            layout.meta_description = row.excerpt.clone();
        }
        let (sidebar, look) = sidebar(&state, &site, None, None).await?;
        layout.dress(&look, &row.path);
        let fresh_until = sidebar.fresh_until;
        let page = render(&StaticPage {
            layout,
            sidebar,
            page: PostView::new(&row, &tz),
        })?;
        // A page shows no comments: a comment anywhere leaves it be.
        return Ok(Cacheable::for_site(&site)
            .about_comments_of(row.id)
            .until_opt(fresh_until)
            .mark(page));
    }
    let own_ids = own_comment_ids(&headers, &state.secret);
    if let Some(millis) = params.show_comment.as_deref() {
        // The page that holds the comment; the browser keeps the link's `#c…` across the
        // redirect, and the comment carries its old anchor.
        let page = match millis.parse::<i64>() {
            Ok(millis) => match db::comments::at_millis(&state.db, row.id, millis).await? {
                Some(id) => {
                    db::comments::page_of(&state.db, row.id, id, &own_ids, paging(settings)).await?
                }
                None => None,
            },
            Err(_) => None,
        };
        let target = comment_page_url(&row.path, page.unwrap_or(1));
        return Ok(Redirect::to(&target).into_response());
    }
    let comment_page = match params.comment_page.as_deref() {
        None => PageWanted::Number(1),
        // Where a new thread is (the address a commenter is sent to): see `comments::stored`.
        Some("last") => PageWanted::Last,
        Some(text) => match text.parse::<i64>() {
            Ok(page) if (1..=MAX_COMMENT_PAGE).contains(&page) => {
                // One address per page: `commentPage=1` is the post itself, `=02` is `=2`.
                if page == 1 || text != page.to_string() {
                    let canonical = comment_page_url(&row.path, page);
                    return Ok(Redirect::permanent(&canonical).into_response());
                }
                PageWanted::Number(page)
            }
            _ => return Err(AppError::NotFound),
        },
    };
    let mut form = CommentFormView::default();
    let mut comment_page = comment_page;
    if let Some(id) = params
        .reply
        .as_deref()
        .and_then(|id| id.parse::<i64>().ok())
    {
        form.parent = id.to_string();
        // "Reply" from an old link or another page: the page that shows the comment answered.
        if params.comment_page.is_none()
            && let Some(page) =
                db::comments::page_of(&state.db, row.id, id, &own_ids, paging(settings)).await?
        {
            comment_page = PageWanted::Number(page);
        }
    }
    let reader = ForReader {
        own_ids: &own_ids,
        form,
        comment_page,
        status: StatusCode::OK,
    };
    post_page(&state, &row, &site, reader).await
}

/// No post has this many comment pages; a larger number is not a page (and no arithmetic on it
/// can overflow).
const MAX_COMMENT_PAGE: i64 = 1_000_000;

/// A comment's lasting address (feeds, mail and the admin link to it): to the comment page
/// that holds it now, which moves as threads are added when the newest come first.
async fn comment_permalink(
    ReadState(state): ReadState,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let id = id.parse::<i64>().map_err(|_| AppError::NotFound)?;
    if crate::federation::asks_for_activity(&headers) {
        return super::fediverse::answer(&state, id).await;
    }
    let Some((post_id, path)) = db::comments::permalink_post(&state.db, id).await? else {
        return Err(AppError::NotFound);
    };
    // The reader's own held comments move pages for them (their pages are made for them and
    // never cached; nor is this answer, for them).
    let own_ids = own_comment_ids(&headers, &state.secret);
    let site = state.site().await?;
    let target =
        match db::comments::page_of(&state.db, post_id, id, &own_ids, paging(&site.settings))
            .await?
        {
            Some(page) => format!("{}#c{id}", comment_page_url(&path, page)),
            // Not shown any more (moderated away since the link was made): the post itself.
            None => path,
        };
    // Kept in the page cache like the pages: any change to comments or settings empties it.
    Ok(Cacheable::for_site(&site)
        .about_comments_of(post_id)
        .mark(answers_activitypub_too(
            Redirect::to(&target).into_response(),
        )))
}
