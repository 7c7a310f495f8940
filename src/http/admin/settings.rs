//! The blog's settings (admins only).

use axum::{
    Router,
    extract::{Query, State},
    http::StatusCode,
    response::Response,
    routing::get,
};
use serde::Deserialize;

use super::{
    Admin, AdminForm,
    notice::{DoneQuery, Notice},
};
use crate::{
    db::{self, settings::Settings},
    domain::{FormErrors, comment::CommentPolicy},
    error::AppError,
    http::render,
    state::AppState,
    views::admin::{SettingsErrors, SettingsForm, SettingsPage},
};

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/settings", get(page).post(save))
}

async fn page(
    State(state): State<AppState>,
    Admin(user): Admin,
    Query(query): Query<DoneQuery>,
) -> Result<Response, AppError> {
    let mut layout = user.layout(&state, "settings", "Settings").await?;
    layout.notice = query.done.map(|done| done.text().to_owned());
    let s = state.settings().await?;
    let form = SettingsForm {
        title: s.title,
        description: s.description,
        timezone: s.timezone,
        posts_per_page: s.posts_per_page.to_string(),
        comment_policy: s.comment_policy,
        moderate_after_days: s.moderate_after_days.to_string(),
        blocked_terms: s.blocked_terms,
        search_language: s.search_language,
        feed_summaries: s.feed_summaries,
        follow_full_posts: s.follow_full_posts,
        require_second_step: s.require_second_step,
        comment_threads_per_page: s.comment_threads_per_page.to_string(),
        comments_newest_first: s.comments_newest_first,
        spam_hold_at: hundredths(s.spam_hold_at),
        spam_junk_at: hundredths(s.spam_junk_at),
        spam_min_training: s.spam_min_training.to_string(),
        languages: db::settings::search_languages(&state.db).await?,
        errors: SettingsErrors::default(),
    };
    render(&SettingsPage { layout, form })
}

#[derive(Debug, Default, Deserialize)]
struct SettingsFields {
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    timezone: String,
    #[serde(default)]
    posts_per_page: String,
    #[serde(default)]
    comment_policy: String,
    #[serde(default)]
    moderate_after_days: String,
    #[serde(default)]
    blocked_terms: String,
    #[serde(default)]
    search_language: String,
    #[serde(default)]
    feed_summaries: Option<String>,
    follow_full_posts: Option<String>,
    require_second_step: Option<String>,
    /// Absent (a form from before the setting existed): kept as it is.
    comment_threads_per_page: Option<String>,
    comments_newest_first: Option<String>,
    /// Absent (a form from before the spam filter): kept as they are.
    spam_hold_at: Option<String>,
    spam_junk_at: Option<String>,
    spam_min_training: Option<String>,
}

/// 50 as "0.50".
fn hundredths(value: i32) -> String {
    format!("{}.{:02}", value / 100, value % 100)
}

/// "0.5", ".93" or "0,93" as hundredths, if it is a score from 0.01 to 1.
fn parse_score(text: &str) -> Option<i32> {
    let value: f64 = text.trim().replace(',', ".").parse().ok()?;
    let hundredths = (value * 100.0).round();
    (1.0..=100.0)
        .contains(&hundredths)
        .then_some(hundredths as i32)
}

/// The form's numbers, each with its message in `errors` when it cannot be read; all of them
/// only when every one could. A field the form did not send keeps its current value.
fn read_numbers(
    form: &SettingsFields,
    current: &Settings,
    errors: &mut SettingsErrors,
) -> Option<Numbers> {
    let posts_per_page = form
        .posts_per_page
        .trim()
        .parse::<i32>()
        .ok()
        .filter(|n| (1..=100).contains(n));
    if posts_per_page.is_none() {
        errors.posts_per_page = Some("Enter a number from 1 to 100".into());
    }
    let days = form
        .moderate_after_days
        .trim()
        .parse::<i32>()
        .ok()
        .filter(|n| (0..=36_500).contains(n));
    if days.is_none() {
        errors.moderate_after_days = Some("Enter a number of days, 0 or more".into());
    }
    let threads_per_page = match form.comment_threads_per_page.as_deref() {
        None => Some(current.comment_threads_per_page),
        Some(text) => text
            .trim()
            .parse::<i32>()
            .ok()
            .filter(|n| (1..=1000).contains(n)),
    };
    if threads_per_page.is_none() {
        errors.comment_threads_per_page = Some("Enter a number from 1 to 1000".into());
    }
    let spam_hold_at = match form.spam_hold_at.as_deref() {
        None => Some(current.spam_hold_at),
        Some(text) => parse_score(text),
    };
    let spam_junk_at = match form.spam_junk_at.as_deref() {
        None => Some(current.spam_junk_at),
        Some(text) => parse_score(text),
    };
    let spam_min_training = match form.spam_min_training.as_deref() {
        None => Some(current.spam_min_training),
        Some(text) => text
            .trim()
            .parse::<i32>()
            .ok()
            .filter(|n| (0..=100_000).contains(n)),
    };
    const SCORE: &str = "Enter a score from 0.01 to 1, such as 0.5";
    match (spam_hold_at, spam_junk_at) {
        (None, _) => errors.spam_hold_at = Some(SCORE.into()),
        (_, None) => errors.spam_junk_at = Some(SCORE.into()),
        (Some(hold), Some(junk)) if hold > junk => {
            errors.spam_hold_at =
                Some("Hold at a score no higher than the one that marks a comment as spam".into())
        }
        _ => {}
    }
    if spam_min_training.is_none() {
        errors.spam_min_training = Some("Enter a number of comments, 0 or more".into());
    }
    Some(Numbers {
        posts_per_page: posts_per_page?,
        moderate_after_days: days?,
        comment_threads_per_page: threads_per_page?,
        spam_hold_at: spam_hold_at.filter(|_| errors.spam_hold_at.is_none())?,
        spam_junk_at: spam_junk_at?,
        spam_min_training: spam_min_training?,
    })
}

/// The settings page's numbers, read.
struct Numbers {
    posts_per_page: i32,
    moderate_after_days: i32,
    comment_threads_per_page: i32,
    spam_hold_at: i32,
    spam_junk_at: i32,
    spam_min_training: i32,
}

async fn save(
    State(state): State<AppState>,
    AdminForm { user, mut form, .. }: AdminForm<SettingsFields, Admin>,
) -> Result<Response, AppError> {
    // What no page or feed can hold goes at the boundary (the title is in every feed).
    for field in [
        &mut form.title,
        &mut form.description,
        &mut form.blocked_terms,
    ] {
        *field = crate::domain::text::clean(field);
    }
    let mut errors = SettingsErrors::default();
    let title = form.title.trim();
    if title.is_empty() || title.chars().count() > 200 {
        errors.title = Some("Enter a title (up to 200 characters)".into());
    }
    let timezone = form.timezone.trim();
    let known = crate::render::dates::zone_named(timezone).is_some()
        && db::settings::database_knows_zone(&state.db, timezone).await?;
    if !known {
        errors.timezone =
            Some("Enter a time zone name such as UTC, Europe/Berlin or America/New_York".into());
    }
    let current = state.settings().await?;
    let numbers = read_numbers(&form, &current, &mut errors);
    let languages = db::settings::search_languages(&state.db).await?;
    let search_language = if languages.contains(&form.search_language) {
        form.search_language.clone()
    } else {
        "simple".to_owned()
    };
    let policy = CommentPolicy::parse(&form.comment_policy).unwrap_or_default();
    // (Each number left unread has its message in `errors`.)
    if errors.is_empty()
        && let Some(numbers) = numbers
    {
        let settings = Settings {
            title: title.to_owned(),
            description: form.description.trim().to_owned(),
            timezone: timezone.to_owned(),
            posts_per_page: numbers.posts_per_page,
            comment_policy: policy,
            moderate_after_days: numbers.moderate_after_days,
            blocked_terms: form.blocked_terms.replace("\r\n", "\n"),
            search_language: search_language.clone(),
            feed_summaries: form.feed_summaries.is_some(),
            follow_full_posts: form.follow_full_posts.is_some(),
            require_second_step: form.require_second_step.is_some(),
            comment_threads_per_page: numbers.comment_threads_per_page,
            comments_newest_first: form.comments_newest_first.is_some(),
            spam_hold_at: numbers.spam_hold_at,
            spam_junk_at: numbers.spam_junk_at,
            spam_min_training: numbers.spam_min_training,
            ..current.clone()
        };
        db::settings::update_all(&state.db, &settings).await?;
        return Ok(Notice::SettingsSaved.after("/admin/settings"));
    }
    let layout = user.layout(&state, "settings", "Settings").await?;
    let form = SettingsForm {
        title: form.title,
        description: form.description,
        timezone: form.timezone,
        posts_per_page: form.posts_per_page,
        comment_policy: policy,
        moderate_after_days: form.moderate_after_days,
        blocked_terms: form.blocked_terms,
        search_language,
        feed_summaries: form.feed_summaries.is_some(),
        follow_full_posts: form.follow_full_posts.is_some(),
        require_second_step: form.require_second_step.is_some(),
        comment_threads_per_page: form
            .comment_threads_per_page
            .unwrap_or_else(|| current.comment_threads_per_page.to_string()),
        comments_newest_first: form.comments_newest_first.is_some(),
        spam_hold_at: form
            .spam_hold_at
            .unwrap_or_else(|| hundredths(current.spam_hold_at)),
        spam_junk_at: form
            .spam_junk_at
            .unwrap_or_else(|| hundredths(current.spam_junk_at)),
        spam_min_training: form
            .spam_min_training
            .unwrap_or_else(|| current.spam_min_training.to_string()),
        languages,
        errors,
    };
    let mut response = render(&SettingsPage { layout, form })?;
    *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}
