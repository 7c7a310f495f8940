//! What a post is and where it stands. The database keeps the editor's decision (`status`); where
//! a post stands for readers (`PostState`) follows from it and the clock, so a scheduled post
//! appears at its time with no job to flip it.

use serde::Deserialize;
use time::OffsetDateTime;

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

#[cfg(test)]
mod tests {
    use super::*;
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
}
