//! Writing: the posts list, the editor (draft, publish, schedule, unpublish, preview) and
//! revisions. Authors reach their own posts only.

use axum::{
    Router,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::Deserialize;
use time::OffsetDateTime;

use super::{AdminForm, CurrentUser};
use crate::{
    db::{
        self,
        posts::{EditablePost, PostChanges},
        settings::Settings,
    },
    domain::{
        post::{BodyFormat, PostKind, PostState, PostStatus},
        role::Role,
        slug::{post_path, slugify},
    },
    error::AppError,
    http::render,
    render::{dates, markdown, sanitize},
    state::AppState,
    views::{
        CommentFormView, Layout, PostView,
        admin::{
            EditorPage, PostErrors, PostFormView, PostRowView, PostsPage, RevisionPage,
            RevisionView, RevisionsPage,
        },
        public::PostPage,
    },
};

const PAGE_SIZE: i64 = 30;
const MAX_TITLE_CHARS: usize = 300;
const MAX_BODY_CHARS: usize = 500_000;
const MAX_LABEL_CHARS: usize = 60;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/posts", get(list).post(create))
        .route("/admin/posts/new", get(new_form))
        .route("/admin/posts/{id}", get(edit_form).post(save))
        .route("/admin/posts/{id}/revisions", get(revisions))
        .route("/admin/posts/{id}/revisions/{revision}", get(revision))
        .route(
            "/admin/posts/{id}/revisions/{revision}/restore",
            post(restore),
        )
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    status: Option<String>,
    q: Option<String>,
    /// `{unix nanoseconds}.{id}` of the last row shown
    before: Option<String>,
    done: Option<String>,
}

fn notice(done: Option<&str>) -> Option<String> {
    let text = match done? {
        "created" => "Saved as a draft.",
        "saved" => "Saved.",
        "published" => "Published.",
        "scheduled" => "Scheduled.",
        "unpublished" => "Unpublished: readers no longer see it.",
        "restored" => "The revision was restored.",
        _ => return None,
    };
    Some(text.to_owned())
}

async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(query): Query<ListQuery>,
) -> Result<Response, AppError> {
    let mut layout = user.layout(&state, "posts", "Posts").await?;
    layout.notice = notice(query.done.as_deref());
    let tz = state.settings().await?.time_zone();
    let filter = query.status.as_deref().and_then(PostState::parse);
    let q = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    let before = query.before.as_deref().and_then(|b| {
        let (nanos, id) = b.split_once('.')?;
        let at = OffsetDateTime::from_unix_timestamp_nanos(nanos.parse().ok()?).ok()?;
        Some((at, id.parse().ok()?))
    });
    let own = (user.role < Role::Editor).then(|| user.id());
    let mut rows = db::posts::list_admin(&state.db, filter, q, own, before, PAGE_SIZE + 1).await?;
    let more = rows.len() as i64 > PAGE_SIZE;
    rows.truncate(PAGE_SIZE as usize);
    let next_url = rows.last().filter(|_| more).map(|last| {
        format!(
            "/admin/posts?status={}&q={}&before={}.{}",
            filter.map_or("", PostState::as_str),
            crate::views::query_value(q.unwrap_or("")),
            last.updated_at.unix_timestamp_nanos(),
            last.id
        )
    });
    let rows = rows
        .iter()
        .map(|row| {
            let when = match (row.state, row.published_at) {
                (PostState::Draft, _) | (_, None) => format!(
                    "changed {}",
                    dates::date_and_time(&dates::zoned(row.updated_at, &tz))
                ),
                (_, Some(at)) => dates::date_and_time(&dates::zoned(at, &tz)),
            };
            PostRowView {
                id: row.id,
                title: if row.title.is_empty() {
                    "(untitled)".to_owned()
                } else {
                    row.title.clone()
                },
                is_page: row.kind == PostKind::Page,
                state: row.state.label(),
                when,
                author: row.author_name.clone().unwrap_or_default(),
                approved: row.approved,
                pending: row.pending,
                public_url: row.state.is_visible().then(|| row.path.clone()),
            }
        })
        .collect();
    render(&PostsPage {
        layout,
        rows,
        state: filter.map_or("", PostState::as_str).to_owned(),
        q: q.unwrap_or("").to_owned(),
        next_url,
    })
}

#[derive(Debug, Default, Deserialize)]
struct NewQuery {
    kind: Option<String>,
}

async fn new_form(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(query): Query<NewQuery>,
) -> Result<Response, AppError> {
    let kind = if query.kind.as_deref() == Some("page") {
        PostKind::Page
    } else {
        PostKind::Post
    };
    let form = PostFormView {
        kind,
        ..PostFormView::default()
    };
    editor(&state, &user, None, form, "New", None, StatusCode::OK, None).await
}

#[derive(Debug, Default, Deserialize)]
struct EditQuery {
    done: Option<String>,
}

async fn edit_form(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(query): Query<EditQuery>,
) -> Result<Response, AppError> {
    let post = editable(&state, &user, id).await?;
    let tz = state.settings().await?.time_zone();
    let form = PostFormView {
        kind: post.kind,
        title: post.title.clone(),
        body: post.body_source.clone(),
        labels: post.labels.join(", "),
        slug: post.slug.clone(),
        excerpt: post.excerpt.clone(),
        comment_policy: post.comment_policy.clone().unwrap_or_default(),
        publish_at: post
            .published_at
            .map(|at| dates::local_input(at, &tz))
            .unwrap_or_default(),
        errors: PostErrors::default(),
    };
    let post_state = post.state(OffsetDateTime::now_utc());
    let public = post_state.is_visible().then(|| post.path.clone());
    editor(
        &state,
        &user,
        Some(id),
        form,
        post_state.label(),
        public,
        StatusCode::OK,
        notice(query.done.as_deref()),
    )
    .await
}

/// The post if it exists and this user may edit it (404 either way, so ids are not probed).
async fn editable(state: &AppState, user: &CurrentUser, id: i64) -> Result<EditablePost, AppError> {
    let post = db::posts::find_editable(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if user.role < Role::Editor && post.author_id != Some(user.id()) {
        return Err(AppError::NotFound);
    }
    Ok(post)
}

#[allow(clippy::too_many_arguments)]
async fn editor(
    state: &AppState,
    user: &CurrentUser,
    post_id: Option<i64>,
    form: PostFormView,
    state_label: &'static str,
    public_url: Option<String>,
    status: StatusCode,
    notice: Option<String>,
) -> Result<Response, AppError> {
    let title = if post_id.is_some() { "Edit" } else { "New" };
    let mut layout = user.layout(state, "posts", title).await?;
    layout.notice = notice;
    if !form.errors.is_empty() {
        layout.page_title = format!("Error: {title}");
    }
    let settings = state.settings().await?;
    let revision_count = match post_id {
        Some(id) => db::posts::revision_count(&state.db, id).await?,
        None => 0,
    };
    let mut response = render(&EditorPage {
        layout,
        post_id,
        form,
        state: state_label,
        public_url,
        existing_labels: db::posts::all_label_names(&state.db).await?.join(", "),
        timezone: dates::zone_name(&settings.time_zone()).to_owned(),
        revision_count,
    })?;
    *response.status_mut() = status;
    Ok(response)
}

/// The editor's form as sent.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PostForm {
    #[serde(default)]
    kind: PostKind,
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    labels: String,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    excerpt: String,
    #[serde(default)]
    comment_policy: String,
    #[serde(default)]
    publish_at: String,
    #[serde(default)]
    action: String,
}

impl PostForm {
    /// Control characters (NUL among them) cannot be stored or put in a feed; nobody means to
    /// type them.
    fn strip_nul(&mut self) {
        for field in [
            &mut self.title,
            &mut self.body,
            &mut self.labels,
            &mut self.slug,
            &mut self.excerpt,
        ] {
            *field = crate::domain::text::clean(field);
        }
    }

    fn view(&self, errors: PostErrors) -> PostFormView {
        PostFormView {
            kind: self.kind,
            title: self.title.clone(),
            body: self.body.clone(),
            labels: self.labels.clone(),
            slug: self.slug.clone(),
            excerpt: self.excerpt.clone(),
            comment_policy: self.comment_policy.clone(),
            publish_at: self.publish_at.clone(),
            errors,
        }
    }
}

/// Checks the form and works out what to write, given the post as it is now (if it exists).
fn changes(
    form: &PostForm,
    current: Option<&EditablePost>,
    settings: &Settings,
) -> Result<PostChanges, PostErrors> {
    let tz = settings.time_zone();
    let mut errors = PostErrors::default();
    let now = OffsetDateTime::now_utc();
    let kind = current.map_or(form.kind, |p| p.kind);
    let title = form.title.trim();
    if title.is_empty() {
        errors.title = Some("Enter a title".into());
    } else if title.chars().count() > MAX_TITLE_CHARS {
        errors.title = Some(format!("Use at most {MAX_TITLE_CHARS} characters"));
    }
    let body = form.body.replace("\r\n", "\n");
    if body.chars().count() > MAX_BODY_CHARS {
        errors.body = Some("The body is longer than 500,000 characters".into());
    }
    let slug = match form.slug.trim() {
        "" => slugify(title),
        given => given.to_ascii_lowercase(),
    };
    // An imported post keeps the slug it came with, whatever characters it has.
    let kept_slug = current.is_some_and(|p| p.slug == slug);
    let slug_ok = kept_slug
        || !slug.is_empty()
            && slug.len() <= 100
            && slug.split('-').all(|part| {
                !part.is_empty()
                    && part
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            });
    if !slug_ok && errors.title.is_none() {
        errors.slug =
            Some("Use lowercase letters, digits and single hyphens, e.g. first-frost".into());
    }
    let mut labels: Vec<String> = Vec::new();
    for label in form
        .labels
        .split(',')
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        if label.chars().count() > MAX_LABEL_CHARS {
            errors.labels = Some(format!(
                "Each label can have at most {MAX_LABEL_CHARS} characters"
            ));
        } else if !labels.iter().any(|l| l == label) {
            labels.push(label.to_owned());
        }
    }
    let policy = match form.comment_policy.as_str() {
        "" => None,
        p @ ("open" | "moderated" | "moderate_after" | "closed") => Some(p.to_owned()),
        _ => None,
    };
    let entered = match form.publish_at.trim() {
        "" => None,
        text => match dates::parse_local_input(text, &tz) {
            Some(at) => Some(at),
            None => {
                errors.publish_at = Some("Enter a date and time like 2026-12-01T09:30".into());
                None
            }
        },
    };
    let was_visible = current.is_some_and(|p| p.state(now).is_visible());
    // A schedule is a publication whose time is still to come: the status says "published".
    let (status, published_at) = match form.action.as_str() {
        "publish" => (
            PostStatus::Published,
            if was_visible {
                current.and_then(|p| p.published_at)
            } else {
                Some(now)
            },
        ),
        "schedule" => match entered {
            Some(at) if at > now => (PostStatus::Published, Some(at)),
            Some(_) => {
                errors.publish_at = Some("Choose a time in the future, or publish now".into());
                (PostStatus::Published, None)
            }
            None => {
                if errors.publish_at.is_none() {
                    errors.publish_at = Some("Choose when to publish".into());
                }
                (PostStatus::Published, None)
            }
        },
        "unpublish" => (PostStatus::Draft, current.and_then(|p| p.published_at)),
        // "save" keeps the post's status; a date typed for a published or scheduled post moves it.
        _ => match current {
            Some(post) if post.status == PostStatus::Published => {
                (PostStatus::Published, entered.or(post.published_at))
            }
            Some(post) => (PostStatus::Draft, post.published_at),
            None => (PostStatus::Draft, None),
        },
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    let body_format = current.map_or(BodyFormat::Markdown, |p| p.body_format);
    let path = match current {
        // Same slug, same date: the post stays where it is (an imported post keeps its old URL).
        Some(post)
            if post.slug == slug
                && (post.published_at == published_at
                    || post.status == PostStatus::Draft && status == PostStatus::Draft) =>
        {
            post.path.clone()
        }
        _ if kind == PostKind::Page => format!("/p/{slug}.html"),
        _ => {
            let at = dates::zoned(published_at.unwrap_or(now), &tz);
            post_path(at.year(), at.month(), &slug)
        }
    };
    let body_html = if body_format == BodyFormat::Html {
        sanitize::post_html(&body)
    } else {
        markdown::to_html(&body)
    };
    let excerpt = match form.excerpt.trim() {
        "" if body_format == BodyFormat::Html => {
            markdown::cut_at_word(&sanitize::html_text(&body_html), 200)
        }
        "" => markdown::excerpt(&body, 200),
        given => given.to_owned(),
    };
    Ok(PostChanges {
        kind,
        path,
        slug,
        title: title.to_owned(),
        body_html,
        body_source: body,
        body_format,
        excerpt,
        status,
        published_at,
        comment_policy: policy,
        labels: if kind == PostKind::Page {
            Vec::new()
        } else {
            labels
        },
    })
}

fn done_for(action: &str) -> &'static str {
    match action {
        "publish" => "published",
        "schedule" => "scheduled",
        "unpublish" => "unpublished",
        _ => "saved",
    }
}

async fn create(
    State(state): State<AppState>,
    AdminForm { user, mut form }: AdminForm<PostForm>,
) -> Result<Response, AppError> {
    form.strip_nul();
    let settings = state.settings().await?;
    if form.action == "preview" {
        return preview(&state, &settings, &form, None).await;
    }
    let changes = match changes(&form, None, &settings) {
        Ok(changes) => changes,
        Err(errors) => {
            return editor(
                &state,
                &user,
                None,
                form.view(errors),
                "New",
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
            )
            .await;
        }
    };
    match db::posts::create(&state.db, &changes, user.id()).await? {
        Ok(id) => {
            let done = if changes.status == PostStatus::Draft {
                "created"
            } else {
                done_for(&form.action)
            };
            Ok(Redirect::to(&format!("/admin/posts/{id}?done={done}")).into_response())
        }
        Err(_) => {
            let errors = PostErrors {
                slug: Some(slug_taken(&changes)),
                ..PostErrors::default()
            };
            editor(
                &state,
                &user,
                None,
                form.view(errors),
                "New",
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
            )
            .await
        }
    }
}

fn slug_taken(changes: &PostChanges) -> String {
    if changes.kind == PostKind::Page {
        "Another page already uses this slug".into()
    } else {
        "Another post from the same month already uses this slug".into()
    }
}

async fn save(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    AdminForm { user, mut form }: AdminForm<PostForm>,
) -> Result<Response, AppError> {
    form.strip_nul();
    let current = editable(&state, &user, id).await?;
    let settings = state.settings().await?;
    if form.action == "preview" {
        return preview(&state, &settings, &form, Some(&current)).await;
    }
    let state_label = current.state(OffsetDateTime::now_utc()).label();
    let public = current
        .state(OffsetDateTime::now_utc())
        .is_visible()
        .then(|| current.path.clone());
    let changes = match changes(&form, Some(&current), &settings) {
        Ok(changes) => changes,
        Err(errors) => {
            return editor(
                &state,
                &user,
                Some(id),
                form.view(errors),
                state_label,
                public,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
            )
            .await;
        }
    };
    match db::posts::update(&state.db, id, &changes, user.id()).await? {
        Ok(()) => Ok(Redirect::to(&format!(
            "/admin/posts/{id}?done={}",
            done_for(&form.action)
        ))
        .into_response()),
        Err(_) => {
            let errors = PostErrors {
                slug: Some(slug_taken(&changes)),
                ..PostErrors::default()
            };
            editor(
                &state,
                &user,
                Some(id),
                form.view(errors),
                state_label,
                public,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
            )
            .await
        }
    }
}

/// The post as readers would see it, from the form as sent, without saving anything.
async fn preview(
    state: &AppState,
    settings: &Settings,
    form: &PostForm,
    current: Option<&EditablePost>,
) -> Result<Response, AppError> {
    let tz = settings.time_zone();
    let body = form.body.replace("\r\n", "\n");
    let title = form.title.trim();
    let labels: Vec<String> = form
        .labels
        .split(',')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    let row = db::posts::PostRow {
        id: current.map_or(0, |p| p.id),
        kind: PostKind::Post,
        path: current.map_or_else(|| "/".to_owned(), |p| p.path.clone()),
        title: title.to_owned(),
        body_html: markdown::to_html(&body),
        excerpt: String::new(),
        published_at: current
            .and_then(|p| p.published_at)
            .unwrap_or_else(OffsetDateTime::now_utc),
        author_name: None,
        labels,
        comment_count: 0,
        comment_policy: Some("closed".into()),
    };
    let mut layout = Layout::new(
        settings,
        &state.config,
        Some(&format!("Preview: {title}")),
        None,
    );
    layout.noindex = true;
    let page = PostPage {
        layout,
        sidebar: crate::views::Sidebar::default(),
        post: PostView::new(&row, &tz),
        comments: Vec::new(),
        pager: crate::views::CommentPager::default(),
        here: row.path.clone(),
        form: CommentFormView {
            closed: true,
            ..CommentFormView::default()
        },
        newer: None,
        older: None,
    };
    let mut response = render(&page)?;
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

fn revision_view(revision: &db::posts::Revision, tz: &dates::TimeZone) -> RevisionView {
    RevisionView {
        id: revision.id,
        title: revision.title.clone(),
        slug: revision.slug.clone(),
        labels: revision.labels.clone(),
        excerpt: revision.excerpt.clone(),
        body_source: revision.body_source.clone(),
        saved_by: revision
            .saved_by
            .clone()
            .unwrap_or_else(|| "(a removed user)".into()),
        when: dates::date_and_time(&dates::zoned(revision.created_at, tz)),
    }
}

async fn revisions(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let post = editable(&state, &user, id).await?;
    let tz = state.settings().await?.time_zone();
    let revisions = db::posts::revisions(&state.db, id).await?;
    render(&RevisionsPage {
        layout: user.layout(&state, "posts", "Revisions").await?,
        post_id: id,
        title: post.title,
        revisions: revisions.iter().map(|r| revision_view(r, &tz)).collect(),
    })
}

async fn revision(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, revision_id)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    editable(&state, &user, id).await?;
    let tz = state.settings().await?.time_zone();
    let revision = db::posts::revision(&state.db, id, revision_id)
        .await?
        .ok_or(AppError::NotFound)?;
    render(&RevisionPage {
        layout: user.layout(&state, "posts", "Revision").await?,
        post_id: id,
        revision: revision_view(&revision, &tz),
    })
}

#[derive(Debug, Deserialize)]
struct Empty {}

/// Restores a revision's text (title, slug, body, summary, labels); the post keeps its state.
async fn restore(
    State(state): State<AppState>,
    Path((id, revision_id)): Path<(i64, i64)>,
    AdminForm { user, .. }: AdminForm<Empty>,
) -> Result<Response, AppError> {
    let current = editable(&state, &user, id).await?;
    let revision = db::posts::revision(&state.db, id, revision_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let settings = state.settings().await?;
    let tz = settings.time_zone();
    let form = PostForm {
        kind: current.kind,
        title: revision.title,
        body: revision.body_source,
        labels: revision.labels,
        slug: revision.slug,
        excerpt: revision.excerpt,
        comment_policy: current.comment_policy.clone().unwrap_or_default(),
        publish_at: current
            .published_at
            .map(|at| dates::local_input(at, &tz))
            .unwrap_or_default(),
        action: "save".into(),
    };
    let changes = changes(&form, Some(&current), &settings)
        .map_err(|_| AppError::BadRequest("That revision can no longer be restored as it is."))?;
    match db::posts::update(&state.db, id, &changes, user.id()).await? {
        Ok(()) => Ok(Redirect::to(&format!("/admin/posts/{id}?done=restored")).into_response()),
        Err(_) => Err(AppError::BadRequest(
            "Another post now uses that revision's address; change the slug in the editor instead.",
        )),
    }
}
