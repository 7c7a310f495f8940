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

use super::{AdminForm, CurrentUser, notice::Notice};
use crate::{
    db::{
        self,
        autosaves::{AutosavedText, Slot},
        posts::{EditablePost, SaveRefused},
        settings::Settings,
    },
    domain::{
        FormErrors,
        comment::CommentPolicy,
        post::{
            BodyFormat, Draft, EditAction, MAX_BODY_CHARS, PostChanges, PostErrors, PostKind,
            PostState, PostStatus, Stored, decide,
        },
        role::Role,
    },
    error::AppError,
    http::render,
    render::{
        dates,
        images::{MediaSizes, media_hashes},
        post::{body_html, reading_minutes, word_count},
    },
    state::AppState,
    views::{
        CommentFormView, Layout, PostView,
        admin::{
            ConflictView, EditorPage, PostFormView, PostRowView, PostsPage, RevisionPage,
            RevisionView, RevisionsPage,
        },
        public::PostPage,
    },
};

const PAGE_SIZE: i64 = 30;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/posts", get(list).post(create))
        .route("/admin/posts/new", get(new_form))
        .route("/admin/posts/render", post(render_body))
        .route("/admin/posts/{id}", get(edit_form).post(save))
        .route("/admin/posts/{post}/autosave", post(autosave))
        .route(
            "/admin/posts/{post}/autosave/discard",
            post(discard_autosave),
        )
        .route("/admin/posts/{id}/revisions", get(revisions))
        .route("/admin/posts/{id}/revisions/{revision}", get(revision))
        .route(
            "/admin/posts/{id}/revisions/{revision}/restore",
            post(restore),
        )
}

/// What the editor says after a save with `action`.
fn done(action: EditAction) -> Notice {
    match action {
        EditAction::Save => Notice::Saved,
        EditAction::Publish => Notice::Published,
        EditAction::Schedule => Notice::Scheduled,
        EditAction::Unpublish => Notice::Unpublished,
    }
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    status: Option<String>,
    q: Option<String>,
    /// `{unix nanoseconds}.{id}` of the last row shown
    before: Option<String>,
    #[serde(default, deserialize_with = "Notice::lenient")]
    done: Option<Notice>,
}

async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(query): Query<ListQuery>,
) -> Result<Response, AppError> {
    let mut layout = user.layout(&state, "posts", "Posts").await?;
    layout.notice = query.done.map(|done| done.text().to_owned());
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
    /// "autosave": open the editor on the autosaved text
    restore: Option<String>,
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
    let mut form = PostFormView {
        kind,
        ..PostFormView::default()
    };
    let slot = Slot {
        post_id: None,
        kind,
        user_id: user.id(),
    };
    let autosave = db::autosaves::find(&state.db, slot).await?;
    let mut editing = Editing::new(None, "New");
    match autosave {
        Some(saved) if query.restore.as_deref() == Some("autosave") => {
            editing.notice = Some("Your unsaved changes are back. Save to keep them.".into());
            form.restore(saved.text);
        }
        Some(saved) => editing.autosave = Some(saved.saved_at),
        None => {}
    }
    editor(&state, &user, form, editing).await
}

#[derive(Debug, Default, Deserialize)]
struct EditQuery {
    #[serde(default, deserialize_with = "Notice::lenient")]
    done: Option<Notice>,
    restore: Option<String>,
}

async fn edit_form(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(query): Query<EditQuery>,
) -> Result<Response, AppError> {
    let post = editable(&state, &user, id).await?;
    let tz = state.settings().await?.time_zone();
    let mut form = PostFormView::of(&post, &tz);
    let mut editing = Editing::of(&post);
    editing.notice = query.done.map(|done| done.text().to_owned());
    let slot = Slot {
        post_id: Some(id),
        kind: post.kind,
        user_id: user.id(),
    };
    match db::autosaves::find(&state.db, slot).await? {
        Some(saved) if query.restore.as_deref() == Some("autosave") => {
            editing.notice = Some("Your unsaved changes are back. Save to keep them.".into());
            // Saved from an older version: saving it again meets the other save, not over it.
            form.version = saved.base_version.or(form.version);
            form.restore(saved.text);
        }
        // Typing that only matches what is saved (saved in another tab, say) is nothing to offer.
        Some(saved) if !same_writing(&saved.text, &post) => {
            editing.autosave = Some(saved.saved_at);
        }
        _ => {}
    }
    editor(&state, &user, form, editing).await
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

/// What the editor page says around the form.
struct Editing {
    post_id: Option<i64>,
    /// "New", "Draft", "Scheduled" or "Published"
    state_label: &'static str,
    public_url: Option<String>,
    status: StatusCode,
    notice: Option<String>,
    /// When unsaved work was autosaved, to offer it back.
    autosave: Option<OffsetDateTime>,
    /// The post as someone else saved it after this editor was opened.
    conflict: Option<EditablePost>,
}

impl Editing {
    fn new(post_id: Option<i64>, state_label: &'static str) -> Self {
        Self {
            post_id,
            state_label,
            public_url: None,
            status: StatusCode::OK,
            notice: None,
            autosave: None,
            conflict: None,
        }
    }

    fn of(post: &EditablePost) -> Self {
        let state = post.state(OffsetDateTime::now_utc());
        Self {
            public_url: state.is_visible().then(|| post.path.clone()),
            ..Self::new(Some(post.id), state.label())
        }
    }

    fn refused(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }
}

async fn editor(
    state: &AppState,
    user: &CurrentUser,
    form: PostFormView,
    editing: Editing,
) -> Result<Response, AppError> {
    let title = if editing.post_id.is_some() {
        "Edit"
    } else {
        "New"
    };
    let mut layout = user.layout(state, "posts", title).await?;
    layout.notice = editing.notice;
    if !form.errors.is_empty() || editing.conflict.is_some() {
        layout.page_title = format!("Error: {title}");
    }
    let settings = state.settings().await?;
    let tz = settings.time_zone();
    let revision_count = match editing.post_id {
        Some(id) => db::posts::revision_count(&state.db, id).await?,
        None => 0,
    };
    let words = word_count(&body_html(
        &form.body,
        form.body_format,
        &Default::default(),
    ));
    let when = |at| dates::date_and_time(&dates::zoned(at, &tz));
    let mut response = render(&EditorPage {
        layout,
        post_id: editing.post_id,
        form,
        state: editing.state_label,
        public_url: editing.public_url,
        existing_labels: db::posts::all_label_names(&state.db).await?.join(", "),
        timezone: dates::zone_name(&tz).to_owned(),
        revision_count,
        autosaved_at: editing.autosave.map(when),
        conflict: editing.conflict.map(|post| ConflictView {
            saved_by: post.edited_by.clone().unwrap_or_else(|| "Someone".into()),
            saved_at: when(post.edited_at),
            title: post.title,
            body: post.body_source,
            labels: post.labels.join(", "),
        }),
        words,
        minutes: reading_minutes(words),
        script_url: crate::render::assets::url("editor.js"),
    })?;
    *response.status_mut() = editing.status;
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
    /// The post's `edit_version` when the editor was opened.
    #[serde(default)]
    version: String,
    #[serde(default)]
    featured_image: String,
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

    fn version(&self) -> Option<i64> {
        self.version.trim().parse().ok()
    }

    fn view(&self, errors: PostErrors, body_format: BodyFormat) -> PostFormView {
        PostFormView {
            kind: self.kind,
            title: self.title.clone(),
            body: self.body.clone(),
            labels: self.labels.clone(),
            slug: self.slug.clone(),
            excerpt: self.excerpt.clone(),
            comment_policy: CommentPolicy::parse(&self.comment_policy),
            publish_at: self.publish_at.clone(),
            featured_image: self.featured_image.clone(),
            version: self.version(),
            body_format,
            errors,
        }
    }

    fn text(&self) -> AutosavedText {
        AutosavedText {
            title: self.title.clone(),
            body_source: self.body.replace("\r\n", "\n"),
            labels: self.labels.clone(),
            slug: self.slug.clone(),
            excerpt: self.excerpt.clone(),
        }
    }

    fn draft(&self) -> Draft<'_> {
        Draft {
            kind: self.kind,
            title: &self.title,
            body: &self.body,
            labels: &self.labels,
            slug: &self.slug,
            excerpt: &self.excerpt,
            // Anything else is the form's "the blog's default".
            comment_policy: CommentPolicy::parse(&self.comment_policy),
            publish_at: &self.publish_at,
            featured_image: &self.featured_image,
        }
    }
}

/// What is known of the blog's images a body shows, for `render::post::body_html`.
async fn media_sizes(state: &AppState, body: &str) -> Result<MediaSizes, AppError> {
    Ok(db::media::sizes(&state.db, &media_hashes(body)).await?)
}

/// The editor's rules (`domain::post::decide`) applied to the form and the post as it is now.
fn changes(
    form: &PostForm,
    current: Option<&EditablePost>,
    settings: &Settings,
    media: &MediaSizes,
) -> Result<PostChanges, PostErrors> {
    let stored = current.map(|post| Stored {
        kind: post.kind,
        slug: &post.slug,
        path: &post.path,
        status: post.status,
        published_at: post.published_at,
        body_format: post.body_format,
    });
    decide(
        &form.draft(),
        stored,
        EditAction::parse(&form.action),
        OffsetDateTime::now_utc(),
        &settings.time_zone(),
        media,
    )
}

async fn create(
    State(state): State<AppState>,
    AdminForm { user, mut form, .. }: AdminForm<PostForm>,
) -> Result<Response, AppError> {
    form.strip_nul();
    let settings = state.settings().await?;
    if form.action == "preview" {
        return preview(&state, &settings, &form, None).await;
    }
    let refused = |errors| {
        let view = form.view(errors, BodyFormat::Markdown);
        let editing = Editing::new(None, "New").refused(StatusCode::UNPROCESSABLE_ENTITY);
        editor(&state, &user, view, editing)
    };
    let media = media_sizes(&state, &form.body).await?;
    let changes = match changes(&form, None, &settings, &media) {
        Ok(changes) => changes,
        Err(errors) => return refused(errors).await,
    };
    match db::posts::create(&state.db, &changes, user.id()).await? {
        Ok(id) => {
            let done = if changes.status == PostStatus::Draft {
                Notice::Created
            } else {
                done(EditAction::parse(&form.action))
            };
            Ok(done.after(&format!("/admin/posts/{id}")))
        }
        Err(_) => {
            refused(PostErrors {
                slug: Some(slug_taken(&changes)),
                ..PostErrors::default()
            })
            .await
        }
    }
}

fn slug_taken(changes: &PostChanges) -> &'static str {
    if changes.kind == PostKind::Page {
        "Another page already uses this slug"
    } else {
        "Another post from the same month already uses this slug"
    }
}

async fn save(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    AdminForm { user, mut form, .. }: AdminForm<PostForm>,
) -> Result<Response, AppError> {
    form.strip_nul();
    let current = editable(&state, &user, id).await?;
    let settings = state.settings().await?;
    if form.action == "preview" {
        return preview(&state, &settings, &form, Some(&current)).await;
    }
    let media = media_sizes(&state, &form.body).await?;
    let changes = match changes(&form, Some(&current), &settings, &media) {
        Ok(changes) => changes,
        Err(errors) => {
            let view = form.view(errors, current.body_format);
            let editing = Editing::of(&current).refused(StatusCode::UNPROCESSABLE_ENTITY);
            return editor(&state, &user, view, editing).await;
        }
    };
    match db::posts::update(&state.db, id, &changes, user.id(), form.version()).await? {
        Ok(()) => Ok(done(EditAction::parse(&form.action)).after(&format!("/admin/posts/{id}"))),
        Err(SaveRefused::PathTaken) => {
            let errors = PostErrors {
                slug: Some(slug_taken(&changes)),
                ..PostErrors::default()
            };
            let view = form.view(errors, current.body_format);
            let editing = Editing::of(&current).refused(StatusCode::UNPROCESSABLE_ENTITY);
            editor(&state, &user, view, editing).await
        }
        Err(SaveRefused::Changed) => {
            // Someone saved in between. Nothing was written: both texts are shown, this one in the
            // editor and in the autosave slot (so "use theirs" loses nothing), and a save from
            // here is made knowingly, over the version now shown.
            let slot = Slot {
                post_id: Some(id),
                kind: current.kind,
                user_id: user.id(),
            };
            db::autosaves::keep(&state.db, slot, form.version(), &form.text()).await?;
            let theirs = editable(&state, &user, id).await?;
            let mut view = form.view(PostErrors::default(), theirs.body_format);
            view.version = Some(theirs.edit_version);
            let mut editing = Editing::of(&theirs).refused(StatusCode::CONFLICT);
            editing.conflict = Some(theirs);
            editor(&state, &user, view, editing).await
        }
    }
}

/// Keeps what is being typed in the user's autosave slot for the post (`new`: the post being
/// started). Answers when it was kept, and whether someone has saved the post since the editor
/// was opened (the script says so at once, rather than at the next save).
async fn autosave(
    State(state): State<AppState>,
    Path(post): Path<String>,
    AdminForm { user, mut form, .. }: AdminForm<PostForm>,
) -> Result<Response, AppError> {
    form.strip_nul();
    let post_id = slot_of(&post)?;
    let (kind, current_version) = match post_id {
        Some(id) => {
            let post = editable(&state, &user, id).await?;
            (post.kind, Some(post.edit_version))
        }
        None => (form.kind, None),
    };
    if form.body.chars().count() > MAX_BODY_CHARS {
        return Err(AppError::BadRequest(
            "The body is longer than 500,000 characters",
        ));
    }
    let slot = Slot {
        post_id,
        kind,
        user_id: user.id(),
    };
    let saved_at = db::autosaves::keep(&state.db, slot, form.version(), &form.text()).await?;
    let tz = state.settings().await?.time_zone();
    let body = serde_json::json!({
        "saved_at": dates::time_of_day(&dates::zoned(saved_at, &tz)),
        "changed_since": current_version.is_some_and(|v| form.version().is_some_and(|mine| mine != v)),
    });
    Ok((
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        axum::Json(body),
    )
        .into_response())
}

async fn discard_autosave(
    State(state): State<AppState>,
    Path(post): Path<String>,
    AdminForm { user, form, .. }: AdminForm<KindForm>,
) -> Result<Response, AppError> {
    let post_id = slot_of(&post)?;
    let kind = match post_id {
        Some(id) => editable(&state, &user, id).await?.kind,
        None => form.kind,
    };
    let slot = Slot {
        post_id,
        kind,
        user_id: user.id(),
    };
    db::autosaves::discard(&state.db, slot).await?;
    let to = match (post_id, kind) {
        (Some(id), _) => format!("/admin/posts/{id}"),
        (None, PostKind::Page) => "/admin/posts/new?kind=page".to_owned(),
        (None, PostKind::Post) => "/admin/posts/new".to_owned(),
    };
    Ok(Redirect::to(&to).into_response())
}

#[derive(Debug, Default, Deserialize)]
struct KindForm {
    #[serde(default)]
    kind: PostKind,
}

/// Whether autosaved writing says what the post already says, read as a save would read it
/// (title trimmed, labels as a set, an empty slug taken from the title).
fn same_writing(saved: &AutosavedText, post: &EditablePost) -> bool {
    let mut labels = crate::domain::post::parse_labels(&saved.labels).unwrap_or_default();
    labels.sort();
    let mut stored = post.labels.clone();
    stored.sort();
    let slug = match saved.slug.trim() {
        "" => crate::domain::slug::slugify(saved.title.trim()),
        given => given.to_ascii_lowercase(),
    };
    saved.title.trim() == post.title
        && saved.body_source == post.body_source
        && (post.kind == PostKind::Page || labels == stored)
        && slug == post.slug
        && (saved.excerpt.trim().is_empty() || saved.excerpt.trim() == post.excerpt)
}

/// `new` or a post's id in an autosave address.
fn slot_of(post: &str) -> Result<Option<i64>, AppError> {
    match post {
        "new" => Ok(None),
        id => id.parse().map(Some).map_err(|_| AppError::NotFound),
    }
}

#[derive(Debug, Default, Deserialize)]
struct RenderForm {
    #[serde(default)]
    post: String,
    #[serde(default)]
    body: String,
}

/// The body as it will be published (the live preview beside the text), with its word count.
async fn render_body(
    State(state): State<AppState>,
    AdminForm { user, form, .. }: AdminForm<RenderForm>,
) -> Result<Response, AppError> {
    let format = match form.post.parse::<i64>() {
        Ok(id) => editable(&state, &user, id).await?.body_format,
        Err(_) => BodyFormat::Markdown,
    };
    let body = crate::domain::text::clean(&form.body).replace("\r\n", "\n");
    if body.chars().count() > MAX_BODY_CHARS {
        return Err(AppError::BadRequest(
            "The body is longer than 500,000 characters",
        ));
    }
    let media = media_sizes(&state, &body).await?;
    let html = body_html(&body, format, &media);
    let words = word_count(&html);
    let json = serde_json::json!({
        "html": html,
        "words": words,
        "minutes": reading_minutes(words),
    });
    Ok((
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        axum::Json(json),
    )
        .into_response())
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
        body_html: body_html(
            &body,
            current.map_or(BodyFormat::Markdown, |p| p.body_format),
            &media_sizes(state, &body).await?,
        ),
        excerpt: String::new(),
        published_at: current
            .and_then(|p| p.published_at)
            .unwrap_or_else(OffsetDateTime::now_utc),
        author_name: None,
        labels,
        comment_count: 0,
        comment_policy: Some(CommentPolicy::Closed),
        featured_image: form.featured_image.trim().to_owned(),
    };
    let mut layout = Layout::new(
        settings,
        &state.config,
        Some(&format!("Preview: {title}")),
        None,
    );
    // In the blog's look, as readers will see it.
    let site = state.site().await?;
    layout.dress(&*state.look(&site).await?, "");
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
        reactions: crate::views::public::Reactions::default(),
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
        comment_policy: current
            .comment_policy
            .map_or("", CommentPolicy::as_str)
            .to_owned(),
        publish_at: current
            .published_at
            .map(|at| dates::local_input(at, &tz))
            .unwrap_or_default(),
        version: String::new(),
        featured_image: current.featured_image.clone(),
        action: "save".into(),
    };
    let media = media_sizes(&state, &form.body).await?;
    let changes = changes(&form, Some(&current), &settings, &media)
        .map_err(|_| AppError::BadRequest("That revision can no longer be restored as it is."))?;
    match db::posts::update(&state.db, id, &changes, user.id(), None).await? {
        Ok(()) => Ok(Notice::Restored.after(&format!("/admin/posts/{id}"))),
        // A restore saves over any version: the only refusal is the address.
        Err(_) => Err(AppError::BadRequest(
            "Another post now uses that revision's address; change the slug in the editor instead.",
        )),
    }
}
