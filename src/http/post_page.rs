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
        comment_page_url, comment_threads, public::PostPage,
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
    let mut layout = Layout::new(settings, &state.config, Some(&row.title), Some(&row.path));
    if !row.excerpt.is_empty() {
        layout.meta_description = row.excerpt.clone();
    }
    layout.for_post(&state.config, row, &row.excerpt);
    if form.has_errors() {
        layout.page_title = format!("Error: {}", layout.page_title);
    }
    let policy = Policy::resolve(
        row.comment_policy,
        settings.comment_policy,
        settings.moderate_after_days,
    );
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
    let reply_to = form.parent.parse::<i64>().ok();

    let key = key_of(row);
    let paging = paging(settings);
    let (comment_page_read, (newer, older), (sidebar, look), replying_to) = tokio::try_join!(
        async {
            Ok::<_, AppError>(
                db::comments::page_for_post(&state.db, row.id, own_ids, paging, comment_page)
                    .await?,
            )
        },
        async { Ok(db::posts::neighbours(&state.db, key).await?) },
        sidebar(state, site, Some(post.local_year), None),
        async {
            Ok(match reply_to {
                Some(id) => db::comments::author_of(&state.db, row.id, id)
                    .await?
                    .map(|name| (id, name)),
                None => None,
            })
        },
    )?;
    layout.dress(&look, &row.path);
    let fresh_until = sidebar.fresh_until;
    let CommentPage {
        rows: comments,
        threads,
        number: comment_page,
    } = comment_page_read;
    let pages = paging.pages(threads);
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
    if replying_to.is_none() {
        form.parent.clear();
    }
    form.replying_to = replying_to;
    form.token = TOKEN_PLACEHOLDER.clone();
    let nav = |n: db::posts::Neighbour| NavLink {
        url: n.path,
        title: n.title,
    };
    let page = PostPage {
        layout,
        sidebar,
        comments: {
            let mut threads = comment_threads(&comments, &tz);
            if paging.newest_first {
                // Threads newest first; replies within a thread stay in the order they came.
                threads.reverse();
            }
            threads
        },
        pager,
        here,
        form,
        post,
        newer: newer.map(nav),
        older: older.map(nav),
    };
    // The token is put in as the page leaves (see `edge::page_cache`), so the page and its ETag are the same
    // for every reader and a post page can be answered with 304.
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
