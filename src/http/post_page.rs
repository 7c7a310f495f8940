//! A reader's page built from one post or many: the sidebar every page has, and the post page
//! with its comments and comment form, shared by the reading routes (`public`) and the comment
//! form (`comments`, which shows the page again with what was typed).

use std::sync::Arc;

use askama::Template;
use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Redirect, Response},
};
use time::OffsetDateTime;

use super::edge::markers::{Cacheable, FormTokenFor, LabelTags, TOKEN_PLACEHOLDER, ViewOf};
use crate::{
    db::{
        self,
        comments::{CommentPage, PageWanted},
        posts::{Key, PostRow},
        settings::Site,
    },
    domain::comment::Policy,
    error::AppError,
    render::dates,
    state::{AppState, Look},
    views::{
        CommentFormView, CommentPager, GadgetData, Layout, NavLink, PostView, Sidebar,
        comment_page_url, comment_threads,
        public::{PostPage, Reactions},
    },
};

/// The sidebar's gadgets with what they list (counts cached per content version, views and
/// comments per minute), and the look the page is to be dressed in (the blog's, or `preview`).
pub(super) async fn sidebar(
    state: &AppState,
    site: &Site,
    open_year: Option<i32>,
    preview: Option<Arc<Look>>,
) -> Result<(Sidebar, Arc<Look>), AppError> {
    let look = match preview {
        Some(look) => look,
        None => state.look(site).await?,
    };
    // The zone as it resolved: an unknown name in the settings falls back to UTC everywhere.
    let tz = site.settings.time_zone();
    let zone = dates::zone_name(&tz);
    let counts = state
        .sidebar_counts(site, zone, || async {
            tokio::try_join!(
                db::posts::month_counts(&state.db, zone),
                db::labels::counts(&state.db),
                db::appearance::pages(&state.db),
            )
        })
        .await?;
    let lively = state.lively_gadgets(&look.appearance, site).await?;
    let data = GadgetData {
        months: &counts.months,
        labels: &counts.labels,
        pages: &counts.pages,
        popular: &lively.popular,
        recent_comments: &lively.recent_comments,
        mail_on: state.config.mail.is_some(),
    };
    Ok((Sidebar::new(&look, &data, open_year), look))
}

pub(super) fn key_of(row: &PostRow) -> Key {
    Key {
        at: row.published_at,
        id: row.id,
    }
}

/// How the blog pages comments, from its settings.
pub(super) fn paging(settings: &db::settings::Settings) -> db::comments::Paging {
    db::comments::Paging {
        threads_per_page: i64::from(settings.comment_threads_per_page),
        newest_first: settings.comments_newest_first,
    }
}

/// What one reader is shown of a post: which page of its comments, with the comments of their
/// own still held, the comment form (fresh, or as they sent it with its errors), and the
/// answer's status.
pub(super) struct ForReader<'a> {
    pub own_ids: &'a [i64],
    pub form: CommentFormView,
    pub comment_page: PageWanted,
    pub status: StatusCode,
}

/// The post page, with its comments and the comment form.
pub(super) async fn post_page(
    state: &AppState,
    row: &PostRow,
    site: &Site,
    reader: ForReader<'_>,
) -> Result<Response, AppError> {
    let ForReader {
        own_ids,
        mut form,
        comment_page,
        status,
    } = reader;
    let settings = &site.settings;
    let tz = settings.time_zone();
    let post = PostView::new(row, &tz);
    // A CDN files the page under its labels too (see `page_cache::cdn`).
    let label_tags = LabelTags(post.labels.iter().map(|l| l.url.clone()).collect());
    let mut layout = post_layout(state, row, site, form.has_errors());
    let policy = Policy::resolve(
        row.comment_policy,
        settings.comment_policy,
        settings.moderate_after_days,
    );
    prepare_form(state, row, policy, &mut form);
    let paging = paging(settings);
    let wanted = Wanted {
        own_ids,
        comment_page,
        reply_to: form.parent.parse::<i64>().ok(),
    };
    let read = read_for_post(state, row, site, paging, wanted, post.local_year).await?;
    layout.dress(&read.look, &row.path);
    let fresh_until = read.sidebar.fresh_until;
    let pages = paging.pages(read.comments.threads);
    let comment_page = read.comments.number;
    if comment_page > pages {
        // A link from when there were more pages (or from Blogger, which paged otherwise).
        return Ok(Redirect::to(&comment_page_url(&row.path, pages)).into_response());
    }
    let pager = CommentPager::new(&row.path, comment_page, pages, paging.newest_first);
    let here = comment_page_url(&row.path, comment_page);
    form.here.clone_from(&here);
    if comment_page > 1 {
        // Each comment page is a page of its own to search engines and to the reader's history.
        layout.page_title = format!("{} (comments, page {comment_page})", layout.page_title);
        layout.canonical = Some(format!("{}{here}", state.config.base_url));
        layout.og_url.clone_from(&layout.canonical);
    }
    let absolute = |url: &String| format!("{}{url}", state.config.base_url);
    layout.prev = pager.previous.as_ref().map(absolute);
    layout.next = pager.next.as_ref().map(absolute);
    if read.replying_to.is_none() {
        form.parent.clear();
    }
    form.replying_to = read.replying_to;
    form.token = TOKEN_PLACEHOLDER.clone();
    let nav = |n: db::posts::Neighbour| NavLink {
        url: n.path,
        title: n.title,
    };
    let mut threads = comment_threads(&read.comments.rows, &tz);
    if paging.newest_first {
        // Threads newest first; replies within a thread stay in the order they came.
        threads.reverse();
    }
    let fediverse = if settings.fediverse_enabled {
        db::fediverse::reaction_counts(&state.db, row.id).await?
    } else {
        (0, 0)
    };
    let web = if settings.webmention_enabled {
        db::webmention::reaction_counts(&state.db, row.id).await?
    } else {
        (0, 0)
    };
    let reactions = Reactions { fediverse, web };
    let page = PostPage {
        reactions,
        layout,
        sidebar: read.sidebar,
        comments: threads,
        pager,
        here,
        form,
        post,
        newer: read.newer.map(nav),
        older: read.older.map(nav),
    };
    let sent = Sent {
        status,
        own_ids,
        policy,
        label_tags,
        fresh_until,
    };
    respond(row, site, &page, sent)
}

/// The layout of a post's page: its title (marked when the form comes back with errors), its
/// description and its links for sharing.
fn post_layout(state: &AppState, row: &PostRow, site: &Site, form_has_errors: bool) -> Layout {
    let mut layout = Layout::new(
        &site.settings,
        &state.config,
        Some(&row.title),
        Some(&row.path),
    );
    if !row.excerpt.is_empty() {
        layout.meta_description = row.excerpt.clone();
    }
    layout.for_post(&state.config, row, &row.excerpt);
    if form_has_errors {
        layout.page_title = format!("Error: {}", layout.page_title);
    }
    layout
}

/// What the comment form says and where it sends, from the post's policy and the server.
fn prepare_form(state: &AppState, row: &PostRow, policy: Policy, form: &mut CommentFormView) {
    form.action.clone_from(&row.path);
    form.closed = policy == Policy::Closed;
    form.mail_on = state.mailer.is_some();
    if state.config.cdn.as_ref().is_some_and(|cdn| cdn.max_age > 0) {
        form.fresh_token = Some((
            format!("/comment-token/{}", row.id),
            crate::render::assets::url("comment-token.js"),
        ));
    }
    form.moderated =
        matches!(policy, Policy::Moderated) || policy.holds(post_age_days(row.published_at));
}

/// What the reader asked to see of the comments.
struct Wanted<'a> {
    own_ids: &'a [i64],
    comment_page: PageWanted,
    reply_to: Option<i64>,
}

/// What a post page reads besides the post, read at once.
struct ReadForPost {
    comments: CommentPage,
    newer: Option<db::posts::Neighbour>,
    older: Option<db::posts::Neighbour>,
    sidebar: Sidebar,
    look: Arc<Look>,
    /// The comment being answered and its author's name, while it is still there.
    replying_to: Option<(i64, String)>,
}

async fn read_for_post(
    state: &AppState,
    row: &PostRow,
    site: &Site,
    paging: db::comments::Paging,
    wanted: Wanted<'_>,
    year: i32,
) -> Result<ReadForPost, AppError> {
    let Wanted {
        own_ids,
        comment_page,
        reply_to,
    } = wanted;
    let (comments, (newer, older), (sidebar, look), replying_to) = tokio::try_join!(
        async {
            Ok::<_, AppError>(
                db::comments::page_for_post(&state.db, row.id, own_ids, paging, comment_page)
                    .await?,
            )
        },
        async { Ok(db::posts::neighbours(&state.db, key_of(row)).await?) },
        sidebar(state, site, Some(year), None),
        async {
            Ok(match reply_to {
                Some(id) => db::comments::author_of(&state.db, row.id, id)
                    .await?
                    .map(|name| (id, name)),
                None => None,
            })
        },
    )?;
    Ok(ReadForPost {
        comments,
        newer,
        older,
        sidebar,
        look,
        replying_to,
    })
}

/// How the rendered page is sent and kept.
struct Sent<'a> {
    status: StatusCode,
    own_ids: &'a [i64],
    policy: Policy,
    label_tags: LabelTags,
    fresh_until: Option<OffsetDateTime>,
}

/// The rendered page with its tag, its markers for the edge and how long it may be kept.
fn respond(
    row: &PostRow,
    site: &Site,
    page: &PostPage,
    sent: Sent<'_>,
) -> Result<Response, AppError> {
    let Sent {
        status,
        own_ids,
        policy,
        label_tags,
        fresh_until,
    } = sent;
    // The token is put in as the page leaves (see `edge::page_cache`), so the page and its ETag
    // are the same for every reader and a post page can be answered with 304.
    let html = page.render()?;
    let etag = super::edge::etag::tag_for(html.as_bytes());
    let mut response = (status, Html(html)).into_response();
    response.extensions_mut().insert(FormTokenFor(row.id));
    response.extensions_mut().insert(ViewOf(row.id));
    response.extensions_mut().insert(label_tags);
    let headers = response.headers_mut();
    if status == StatusCode::OK {
        headers.insert(header::ETAG, etag);
    }
    if let Some(endpoint) = &page.layout.webmention
        && let Ok(link) = HeaderValue::from_str(&format!("<{endpoint}>; rel=\"webmention\""))
    {
        headers.insert(header::LINK, link);
    }
    // A page that shows the reader's own held comments is for them alone.
    if !own_ids.is_empty() {
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-cache"),
        );
        return Ok(response);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    let mut cacheable = Cacheable::for_site(site)
        .about_comments_of(row.id)
        .until_opt(fresh_until);
    if let Policy::ModerateAfter(_) = policy {
        // The form's "held for moderation" notice depends on the post's age in whole days.
        let days = post_age_days(row.published_at) + 1;
        cacheable = cacheable.until(row.published_at + time::Duration::days(days));
    }
    Ok(cacheable.mark(response))
}

pub(super) fn post_age_days(published_at: OffsetDateTime) -> i64 {
    (OffsetDateTime::now_utc() - published_at).whole_days()
}
