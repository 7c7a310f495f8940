//! What a post is and where it stands. The database keeps the editor's decision (`status`); where
//! a post stands for readers (`PostState`) follows from it and the clock, so a scheduled post
//! appears at its time with no job to flip it.

use serde::Deserialize;
use time::OffsetDateTime;

use super::{
    FormErrors,
    comment::CommentPolicy,
    slug::{post_path, slugify},
    zones::{self as dates, TimeZone},
};

/// Turns a post's source into what readers get: `render::post` does it (for the blog's images
/// as they are known), so that the rules here need nothing but what is typed.
pub trait BodyRenderer {
    /// The body's safe HTML.
    fn body_html(&self, source: &str, format: BodyFormat) -> String;
    /// The summary when none was typed.
    fn excerpt(&self, source: &str, format: BodyFormat, body_html: &str) -> String;
}

pub const MAX_TITLE_CHARS: usize = 300;
pub const MAX_BODY_CHARS: usize = 500_000;
pub const MAX_LABEL_CHARS: usize = 60;
pub const MAX_SLUG_BYTES: usize = 100;

/// A dated post, or a static page (`/p/about.html`) outside the listings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum PostKind {
    #[default]
    Post,
    Page,
}

impl PostKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PostKind::Post => "post",
            PostKind::Page => "page",
        }
    }

    pub fn is_page(self) -> bool {
        self == PostKind::Page
    }
}

impl std::fmt::Display for PostKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The editor's decision, as stored: kept back, or released to readers from `published_at` on
/// (a time still to come is a schedule).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum PostStatus {
    Draft,
    Published,
}

/// Where a post stands for readers now: its status and publication time read against a clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum PostState {
    Draft,
    Scheduled,
    Published,
}

impl PostState {
    /// The state named in a filter (`?status=scheduled`); anything else is no filter.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == text)
    }

    /// The one Rust definition of "readers can see it" (SQL's is `post_visible()`, migration 0011).
    pub fn of(
        status: PostStatus,
        published_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Self {
        match (status, published_at) {
            (PostStatus::Published, Some(at)) if at <= now => PostState::Published,
            (PostStatus::Published, Some(_)) => PostState::Scheduled,
            _ => PostState::Draft,
        }
    }

    pub fn is_visible(self) -> bool {
        self == PostState::Published
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PostState::Draft => "draft",
            PostState::Scheduled => "scheduled",
            PostState::Published => "published",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            PostState::Draft => "Draft",
            PostState::Scheduled => "Scheduled",
            PostState::Published => "Published",
        }
    }

    pub const ALL: [PostState; 3] = [PostState::Draft, PostState::Scheduled, PostState::Published];
}

/// How a post's source is written: Markdown from Folio's editor, or HTML kept from an import
/// (edited as HTML, so nothing of the original is lost).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum BodyFormat {
    #[default]
    Markdown,
    Html,
}

impl std::fmt::Display for BodyFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BodyFormat::Markdown => "markdown",
            BodyFormat::Html => "html",
        })
    }
}

/// What the editor's buttons ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditAction {
    /// Keep the post where it stands (a draft stays a draft; a published post is updated).
    Save,
    Publish,
    Schedule,
    /// Back to a draft (unpublish, or unschedule).
    Unpublish,
}

impl EditAction {
    /// The button's value; anything unknown is a plain save, which changes no state.
    pub fn parse(value: &str) -> Self {
        match value {
            "publish" => EditAction::Publish,
            "schedule" => EditAction::Schedule,
            "unpublish" => EditAction::Unpublish,
            _ => EditAction::Save,
        }
    }
}

/// The editor's fields as typed (already cleaned of control characters).
#[derive(Debug, Clone, Default)]
pub struct Draft<'a> {
    pub kind: PostKind,
    pub title: &'a str,
    pub body: &'a str,
    pub labels: &'a str,
    pub slug: &'a str,
    pub excerpt: &'a str,
    /// None: the blog's default.
    pub comment_policy: Option<CommentPolicy>,
    /// `YYYY-MM-DDTHH:MM` in the blog's zone, or empty
    pub publish_at: &'a str,
    /// An image's address for link previews, or empty
    pub featured_image: &'a str,
}

/// The post as stored, as far as the rules need it.
#[derive(Debug, Clone, Copy)]
pub struct Stored<'a> {
    pub kind: PostKind,
    pub slug: &'a str,
    pub path: &'a str,
    pub status: PostStatus,
    pub published_at: Option<OffsetDateTime>,
    pub body_format: BodyFormat,
}

/// One message per field, shown beside it and in the summary above the form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PostErrors {
    pub title: Option<&'static str>,
    pub slug: Option<&'static str>,
    pub labels: Option<&'static str>,
    pub publish_at: Option<&'static str>,
    pub body: Option<&'static str>,
    pub featured_image: Option<&'static str>,
}

impl FormErrors for PostErrors {}

/// What a save writes.
#[derive(Debug, Clone)]
pub struct PostChanges {
    pub kind: PostKind,
    pub path: String,
    pub slug: String,
    pub title: String,
    pub body_source: String,
    pub body_format: BodyFormat,
    pub body_html: String,
    pub excerpt: String,
    pub status: PostStatus,
    pub published_at: Option<OffsetDateTime>,
    pub comment_policy: Option<CommentPolicy>,
    pub labels: Vec<String>,
    /// A `/media/…` image for link previews, or empty.
    pub featured_image: String,
}

/// Why a state change was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduleError {
    /// "Schedule" with no time.
    NoTime,
    /// "Schedule" with a time already past.
    InThePast,
}

/// Where an action takes a post: its new status and publication time. A schedule is a
/// publication whose time is still to come, so its status says "published".
pub fn transition(
    current: Option<(PostStatus, Option<OffsetDateTime>)>,
    action: EditAction,
    entered: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Result<(PostStatus, Option<OffsetDateTime>), ScheduleError> {
    let published_at = current.and_then(|(_, at)| at);
    let was_visible =
        current.is_some_and(|(status, at)| PostState::of(status, at, now).is_visible());
    Ok(match action {
        // A post already out keeps its date: publishing again must not move it to the top.
        EditAction::Publish if was_visible => (PostStatus::Published, published_at),
        EditAction::Publish => (PostStatus::Published, Some(now)),
        EditAction::Schedule => match entered {
            Some(at) if at > now => (PostStatus::Published, Some(at)),
            Some(_) => return Err(ScheduleError::InThePast),
            None => return Err(ScheduleError::NoTime),
        },
        // The date is kept, so publishing again later can find it.
        EditAction::Unpublish => (PostStatus::Draft, published_at),
        // A date typed for a published or scheduled post moves it.
        EditAction::Save => match current {
            Some((PostStatus::Published, at)) => (PostStatus::Published, entered.or(at)),
            Some((PostStatus::Draft, at)) => (PostStatus::Draft, at),
            None => (PostStatus::Draft, None),
        },
    })
}

/// Checks what was typed and works out what to write, given the post as it is now (if it exists):
/// validation, the state change, the slug and the public path, the rendered body and excerpt.
/// `body` renders the source (with what is known of the blog's images it shows).
pub fn decide(
    draft: &Draft<'_>,
    current: Option<Stored<'_>>,
    action: EditAction,
    now: OffsetDateTime,
    tz: &TimeZone,
    body: &impl BodyRenderer,
) -> Result<PostChanges, PostErrors> {
    let checked = check(draft, current, action, now, tz)?;
    let body_format = current.map_or(BodyFormat::Markdown, |p| p.body_format);
    let path = public_path(current, &checked, now, tz);
    let body_html = body.body_html(&checked.source, body_format);
    let excerpt = match draft.excerpt.trim() {
        "" => body.excerpt(&checked.source, body_format, &body_html),
        given => given.to_owned(),
    };
    Ok(PostChanges {
        kind: checked.kind,
        path,
        slug: checked.slug,
        title: checked.title.to_owned(),
        body_html,
        body_source: checked.source,
        body_format,
        excerpt,
        status: checked.status,
        published_at: checked.published_at,
        comment_policy: draft.comment_policy,
        labels: if checked.kind == PostKind::Page {
            Vec::new()
        } else {
            checked.labels
        },
        featured_image: checked.featured_image.to_owned(),
    })
}

/// The fields of a draft that passed every check, and where the action takes the post.
struct Checked<'a> {
    kind: PostKind,
    title: &'a str,
    source: String,
    slug: String,
    labels: Vec<String>,
    featured_image: &'a str,
    status: PostStatus,
    published_at: Option<OffsetDateTime>,
}

/// Every field's check, so that all that is wrong is said at once.
fn check<'a>(
    draft: &Draft<'a>,
    current: Option<Stored<'_>>,
    action: EditAction,
    now: OffsetDateTime,
    tz: &TimeZone,
) -> Result<Checked<'a>, PostErrors> {
    let mut errors = PostErrors::default();
    let title = draft.title.trim();
    errors.title = title_problem(title);
    let source = draft.body.replace("\r\n", "\n");
    errors.body = body_problem(&source);
    let slug = typed_or_made_slug(draft.slug, title);
    if errors.title.is_none() {
        errors.slug = slug_problem(&slug, current);
    }
    let labels = parse_labels(draft.labels).unwrap_or_else(|message| {
        errors.labels = Some(message);
        Vec::new()
    });
    let entered = parse_publish_at(draft.publish_at, tz).unwrap_or_else(|message| {
        errors.publish_at = Some(message);
        None
    });
    let featured_image = draft.featured_image.trim();
    errors.featured_image = featured_image_problem(featured_image);
    let stored = current.map(|p| (p.status, p.published_at));
    let (status, published_at) = transition(stored, action, entered, now).unwrap_or_else(|error| {
        if errors.publish_at.is_none() {
            errors.publish_at = Some(schedule_problem(error));
        }
        (PostStatus::Draft, None)
    });
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Checked {
        kind: current.map_or(draft.kind, |p| p.kind),
        title,
        source,
        slug,
        labels,
        featured_image,
        status,
        published_at,
    })
}

fn title_problem(title: &str) -> Option<&'static str> {
    if title.is_empty() {
        Some("Enter a title")
    } else if title.chars().count() > MAX_TITLE_CHARS {
        Some("Use at most 300 characters")
    } else {
        None
    }
}

fn body_problem(source: &str) -> Option<&'static str> {
    (source.chars().count() > MAX_BODY_CHARS)
        .then_some("The body is longer than 500,000 characters")
}

/// The slug typed, or one made from the title when none was.
fn typed_or_made_slug(typed: &str, title: &str) -> String {
    match typed.trim() {
        "" => slugify(title),
        given => given.to_ascii_lowercase(),
    }
}

fn slug_problem(slug: &str, current: Option<Stored<'_>>) -> Option<&'static str> {
    // An imported post keeps the slug it came with, whatever characters it has.
    let kept_slug = current.is_some_and(|p| p.slug == slug);
    (!kept_slug && !slug_is_valid(slug))
        .then_some("Use lowercase letters, digits and single hyphens, e.g. first-frost")
}

/// The publication time typed in the blog's zone; empty is none.
fn parse_publish_at(text: &str, tz: &TimeZone) -> Result<Option<OffsetDateTime>, &'static str> {
    match text.trim() {
        "" => Ok(None),
        text => dates::parse_local_input(text, tz)
            .map(Some)
            .ok_or("Enter a date and time like 2026-12-01T09:30"),
    }
}

fn featured_image_problem(address: &str) -> Option<&'static str> {
    (!featured_image_is_valid(address))
        .then_some("Choose an image from the library (a /media/… address) or an https:// address")
}

fn schedule_problem(error: ScheduleError) -> &'static str {
    match error {
        ScheduleError::NoTime => "Choose when to publish",
        ScheduleError::InThePast => "Choose a time in the future, or publish now",
    }
}

/// Where readers find the post.
fn public_path(
    current: Option<Stored<'_>>,
    checked: &Checked<'_>,
    now: OffsetDateTime,
    tz: &TimeZone,
) -> String {
    match current {
        // Same slug, same date: the post stays where it is (an imported post keeps its old URL).
        Some(post)
            if post.slug == checked.slug
                && (post.published_at == checked.published_at
                    || post.status == PostStatus::Draft && checked.status == PostStatus::Draft) =>
        {
            post.path.to_owned()
        }
        _ if checked.kind == PostKind::Page => format!("/p/{}.html", checked.slug),
        _ => {
            let at = dates::zoned(checked.published_at.unwrap_or(now), tz);
            post_path(at.year(), at.month(), &checked.slug)
        }
    }
}

/// Empty, one of the blog's own images (`/media/…`), or an https address with nothing in it that
/// could break out of an attribute.
pub fn featured_image_is_valid(address: &str) -> bool {
    let safe = |rest: &str| {
        !rest.is_empty()
            && rest
                .chars()
                .all(|c| c.is_ascii_graphic() && !matches!(c, '"' | '\'' | '<' | '>' | '\\'))
    };
    address.is_empty()
        || address.strip_prefix("/media/").is_some_and(safe)
        || address.strip_prefix("https://").is_some_and(safe)
}

/// Lowercase ASCII letters and digits in hyphen-separated runs, at most 100 bytes.
pub fn slug_is_valid(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= MAX_SLUG_BYTES
        && slug.split('-').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
}

/// Comma-separated labels, trimmed, each once in the order typed.
pub fn parse_labels(text: &str) -> Result<Vec<String>, &'static str> {
    let mut labels: Vec<String> = Vec::new();
    for label in text.split(',').map(str::trim).filter(|l| !l.is_empty()) {
        if label.chars().count() > MAX_LABEL_CHARS {
            return Err("Each label can have at most 60 characters");
        }
        if !labels.iter().any(|l| l == label) {
            labels.push(label.to_owned());
        }
    }
    Ok(labels)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::images::MediaSizes;
    use time::Duration;

    #[test]
    fn state_follows_status_and_the_clock() {
        let now = OffsetDateTime::now_utc();
        let past = Some(now - Duration::minutes(1));
        let future = Some(now + Duration::minutes(1));
        assert_eq!(
            PostState::of(PostStatus::Draft, past, now),
            PostState::Draft
        );
        assert_eq!(
            PostState::of(PostStatus::Draft, None, now),
            PostState::Draft
        );
        assert_eq!(
            PostState::of(PostStatus::Published, future, now),
            PostState::Scheduled
        );
        assert_eq!(
            PostState::of(PostStatus::Published, Some(now), now),
            PostState::Published
        );
        assert_eq!(
            PostState::of(PostStatus::Published, future, now + Duration::minutes(2)),
            PostState::Published
        );
        assert!(!PostState::Scheduled.is_visible());
    }

    fn at(now: OffsetDateTime, minutes: i64) -> Option<OffsetDateTime> {
        Some(now + Duration::minutes(minutes))
    }

    #[test]
    fn every_action_from_every_state() {
        use EditAction::*;
        use PostStatus::{Draft as D, Published as P};
        let now = OffsetDateTime::now_utc();
        let past = at(now, -60);
        let future = at(now, 60);
        let new = None;
        let draft = Some((D, None));
        let unpublished = Some((D, past));
        let published = Some((P, past));
        let scheduled = Some((P, future));
        // New posts
        assert_eq!(transition(new, Save, None, now), Ok((D, None)));
        assert_eq!(transition(new, Publish, None, now), Ok((P, Some(now))));
        assert_eq!(transition(new, Schedule, future, now), Ok((P, future)));
        assert_eq!(
            transition(new, Schedule, None, now),
            Err(ScheduleError::NoTime)
        );
        assert_eq!(
            transition(new, Schedule, past, now),
            Err(ScheduleError::InThePast)
        );
        // A draft: saving keeps it back whatever date is typed
        assert_eq!(transition(draft, Save, future, now), Ok((D, None)));
        assert_eq!(transition(unpublished, Save, None, now), Ok((D, past)));
        // Publishing a draft dates it now, even one published once before
        assert_eq!(
            transition(unpublished, Publish, None, now),
            Ok((P, Some(now)))
        );
        // A published post keeps its date when published again, moves when a date is typed
        assert_eq!(transition(published, Publish, None, now), Ok((P, past)));
        assert_eq!(transition(published, Save, None, now), Ok((P, past)));
        assert_eq!(transition(published, Save, future, now), Ok((P, future)));
        assert_eq!(transition(published, Unpublish, None, now), Ok((D, past)));
        // A scheduled post: publish now brings it forward, unschedule keeps the time typed
        assert_eq!(
            transition(scheduled, Publish, None, now),
            Ok((P, Some(now)))
        );
        assert_eq!(transition(scheduled, Unpublish, None, now), Ok((D, future)));
        assert_eq!(
            transition(scheduled, Schedule, at(now, 90), now),
            Ok((P, at(now, 90)))
        );
        // What readers see follows
        let (status, when) = transition(draft, Schedule, future, now).unwrap();
        assert_eq!(PostState::of(status, when, now), PostState::Scheduled);
    }

    fn utc() -> TimeZone {
        TimeZone::UTC
    }

    fn typed<'a>(title: &'a str, body: &'a str) -> Draft<'a> {
        Draft {
            title,
            body,
            ..Draft::default()
        }
    }

    #[test]
    fn a_new_draft_gets_its_slug_path_html_and_excerpt() {
        let now = OffsetDateTime::now_utc();
        let mut draft = typed("  Frost on the Ferns ", "First *light*.\r\n\r\nSecond.");
        draft.labels = "garden, winter, garden, ";
        let post = decide(
            &draft,
            None,
            EditAction::Save,
            now,
            &utc(),
            &MediaSizes::new(),
        )
        .unwrap();
        assert_eq!(post.title, "Frost on the Ferns");
        assert_eq!(post.slug, "frost-on-the-ferns");
        let month = dates::zoned(now, &utc());
        assert_eq!(
            post.path,
            post_path(month.year(), month.month(), "frost-on-the-ferns")
        );
        assert_eq!(post.body_source, "First *light*.\n\nSecond.");
        assert_eq!(
            post.body_html,
            "<p>First <em>light</em>.</p>\n<p>Second.</p>\n"
        );
        assert_eq!(post.excerpt, "First light.");
        assert_eq!(post.labels, ["garden", "winter"]);
        assert_eq!(post.status, PostStatus::Draft);
        assert_eq!(post.comment_policy, None);
    }

    #[test]
    fn what_is_wrong_is_said_per_field() {
        let now = OffsetDateTime::now_utc();
        let long_label = "x".repeat(MAX_LABEL_CHARS + 1);
        let mut draft = typed("", "body");
        draft.labels = &long_label;
        draft.publish_at = "tomorrow";
        let errors = decide(
            &draft,
            None,
            EditAction::Schedule,
            now,
            &utc(),
            &MediaSizes::new(),
        )
        .unwrap_err();
        assert_eq!(errors.title, Some("Enter a title"));
        assert!(errors.labels.unwrap().contains("at most 60"));
        assert!(errors.publish_at.unwrap().contains("like 2026-12-01T09:30"));
        // A slug problem is only named once the title is right
        assert_eq!(errors.slug, None);
        let mut draft = typed("Fine", "body");
        draft.slug = "Not OK!";
        let errors = decide(
            &draft,
            None,
            EditAction::Save,
            now,
            &utc(),
            &MediaSizes::new(),
        )
        .unwrap_err();
        assert!(errors.slug.is_some());
        assert!(slug_is_valid("first-frost-2"));
        assert!(!slug_is_valid("first--frost"));
        assert!(!slug_is_valid("-first"));
    }

    #[test]
    fn a_stored_post_keeps_its_path_format_and_odd_slug() {
        let now = OffsetDateTime::now_utc();
        let published = now - Duration::days(400);
        let stored = Stored {
            kind: PostKind::Post,
            slug: "Ünïcode_slug",
            path: "/2020/01/Ünïcode_slug.html",
            status: PostStatus::Published,
            published_at: Some(published),
            body_format: BodyFormat::Html,
        };
        let mut draft = typed("Imported", "<p>Kept <i>as</i> HTML</p>");
        draft.slug = "Ünïcode_slug";
        let post = decide(
            &draft,
            Some(stored),
            EditAction::Save,
            now,
            &utc(),
            &MediaSizes::new(),
        )
        .unwrap();
        assert_eq!(post.path, stored.path);
        assert_eq!(post.body_format, BodyFormat::Html);
        assert_eq!(post.body_html, "<p>Kept <i>as</i> HTML</p>");
        assert_eq!(post.excerpt, "Kept as HTML");
        assert_eq!(post.published_at, Some(published));
        // A new slug moves it, under its own month
        draft.slug = "moved";
        let post = decide(
            &draft,
            Some(stored),
            EditAction::Save,
            now,
            &utc(),
            &MediaSizes::new(),
        )
        .unwrap();
        let month = dates::zoned(published, &utc());
        assert_eq!(post.path, post_path(month.year(), month.month(), "moved"));
    }

    #[test]
    fn a_page_lives_under_p_and_has_no_labels() {
        let now = OffsetDateTime::now_utc();
        let mut draft = typed("About me", "Hello");
        draft.kind = PostKind::Page;
        draft.labels = "ignored";
        let page = decide(
            &draft,
            None,
            EditAction::Publish,
            now,
            &utc(),
            &MediaSizes::new(),
        )
        .unwrap();
        assert_eq!(page.path, "/p/about-me.html");
        assert!(page.labels.is_empty());
        assert_eq!(page.status, PostStatus::Published);
    }
}
