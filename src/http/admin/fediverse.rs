//! The Fediverse page (admins only): the blog's handle and whether it federates, followers
//! waiting for a yes, the followers with their instance and since when, and blocked or held
//! instances. Turning it on needs an https base URL at a domain name.

use axum::{
    Router,
    extract::{Path, Query, State},
    response::Response,
    routing::{get, post},
};
use serde::Deserialize;

use super::{Admin, AdminForm, notice::DoneQuery};
use crate::{
    db,
    error::AppError,
    federation,
    http::render,
    render::dates,
    state::AppState,
    views::admin::{
        DomainBlockView, FediverseErrors, FediverseFollowerView, FediversePage, WebmentionView,
    },
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/fediverse", get(page).post(save))
        .route("/admin/fediverse/followers/{id}/approve", post(approve))
        .route("/admin/fediverse/followers/{id}/remove", post(remove))
        .route("/admin/fediverse/blocks", post(block))
        .route("/admin/fediverse/blocks/{domain}/remove", post(unblock))
}

#[derive(Debug, Default, Deserialize)]
struct SettingsFields {
    #[serde(default)]
    enabled: Option<String>,
    #[serde(default)]
    name: String,
    #[serde(default)]
    approve_followers: Option<String>,
    #[serde(default)]
    webmention: Option<String>,
}

impl SettingsFields {
    /// The form as the settings stand.
    fn saved(settings: &crate::db::settings::Settings) -> Self {
        Self {
            enabled: settings.fediverse_enabled.then(String::new),
            name: settings.fediverse_name.clone(),
            approve_followers: settings.fediverse_approve_followers.then(String::new),
            webmention: settings.webmention_enabled.then(String::new),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct BlockFields {
    #[serde(default)]
    domain: String,
    #[serde(default)]
    action: String,
}

#[derive(Debug, Default, Deserialize)]
struct FollowerFields {
    /// The author they follow; empty for the blog.
    #[serde(default)]
    followed: String,
}

impl FollowerFields {
    fn followed(&self) -> Option<i64> {
        self.followed.trim().parse().ok()
    }
}

#[derive(Debug, Deserialize)]
struct Empty {}

async fn page(
    State(state): State<AppState>,
    Admin(user): Admin,
    Query(query): Query<DoneQuery>,
) -> Result<Response, AppError> {
    let fields = SettingsFields::saved(&state.settings().await?);
    let mut layout = user.layout(&state, "fediverse", "Fediverse").await?;
    layout.notice = query.done.map(|done| done.text().to_owned());
    show(
        &state,
        layout,
        &fields,
        FediverseErrors::default(),
        BlockFields::default(),
    )
    .await
}

async fn show(
    state: &AppState,
    layout: crate::views::admin::AdminLayout,
    fields: &SettingsFields,
    errors: FediverseErrors,
    block: BlockFields,
) -> Result<Response, AppError> {
    let settings = state.settings().await?;
    let tz = settings.time_zone();
    let blog = state.fediverse.blog(&settings);
    let followers = db::fediverse::followers(&state.db, 500)
        .await?
        .into_iter()
        .map(|f| FediverseFollowerView {
            actor_id: f.actor_id,
            followed: f.followed.map(|id| id.to_string()).unwrap_or_default(),
            follows: match &f.followed_name {
                Some(name) => format!("@{name}@{}", blog.host()),
                None if f.followed.is_some() => "A former author account".to_owned(),
                None => "The blog".to_owned(),
            },
            handle: format!("@{}@{}", f.username, f.domain),
            name: f.name,
            profile: f.profile,
            instance: f.domain,
            pending: f.state == "pending",
            since: dates::date_and_time(&dates::zoned(f.since, &tz)),
        })
        .collect();
    let blocks = db::fediverse::domain_blocks(&state.db)
        .await?
        .into_iter()
        .map(|b| DomainBlockView {
            held: b.action == "hold",
            domain: b.domain,
        })
        .collect();
    let mentions = db::webmention::recent(&state.db, 100)
        .await?
        .into_iter()
        .map(|m| WebmentionView {
            state: mention_state(&m.status, m.kind.as_deref(), m.last_error.as_deref()),
            source: m.source,
            author_name: m.author_name,
            post_title: m.post_title,
            post_path: m.post_path,
            received: dates::date_and_time(&dates::zoned(m.received_at, &tz)),
        })
        .collect();
    render(&FediversePage {
        webmention: fields.webmention.is_some(),
        mentions,
        layout,
        enabled: fields.enabled.is_some(),
        name: fields.name.clone(),
        approve_followers: fields.approve_followers.is_some(),
        handle: blog.handle(),
        actor: blog.actor(),
        live: settings.fediverse_enabled,
        cannot: state.fediverse.cannot_federate().map(str::to_owned),
        followers,
        blocks,
        block_domain: block.domain,
        block_hold: block.action == "hold",
        errors,
    })
}

async fn save(
    State(state): State<AppState>,
    AdminForm { user, form, .. }: AdminForm<SettingsFields, Admin>,
) -> Result<Response, AppError> {
    let name = form.name.trim().to_ascii_lowercase();
    let mut errors = FediverseErrors::default();
    if !federation::documents::is_account_name(&name) {
        errors.name = Some(
            "Enter a name of up to 30 letters (a–z), digits or underscores, such as blog".into(),
        );
    } else if db::fediverse::author_by_name(&state.db, &name)
        .await?
        .is_some()
    {
        errors.name = Some("An author's fediverse account has that name: choose another".into());
    }
    let enabled = form.enabled.is_some();
    if enabled && let Some(reason) = state.fediverse.cannot_federate() {
        errors.enabled = Some(reason.to_owned());
    }
    let webmention = form.webmention.is_some();
    if webmention && let Some(reason) = state.fediverse.cannot_federate() {
        errors.webmention = Some(reason.replace("The fediverse reaches", "Other sites reach"));
    }
    if errors.name.is_some() || errors.enabled.is_some() || errors.webmention.is_some() {
        let layout = user.layout(&state, "fediverse", "Fediverse").await?;
        let mut response = show(&state, layout, &form, errors, BlockFields::default()).await?;
        *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(response);
    }
    db::settings::update_fediverse(
        &state.db,
        enabled,
        &name,
        form.approve_followers.is_some(),
        webmention,
    )
    .await?;
    if enabled {
        // The key is made now, not while a server waits for the actor.
        state
            .fediverse
            .keys(&state.db)
            .await
            .map_err(|e| AppError::Internal(e.into()))?;
    }
    if enabled || webmention {
        crate::http::ensure_federation_worker(&state);
    }
    Ok(super::notice::Notice::SettingsSaved.after("/admin/fediverse"))
}

async fn approve(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    AdminForm { form, .. }: AdminForm<FollowerFields, Admin>,
) -> Result<Response, AppError> {
    let settings = state.settings().await?;
    let blog = state.fediverse.blog(&settings);
    if !federation::inbox::approve(&state.db, &blog, id, form.followed()).await? {
        return Err(AppError::NotFound);
    }
    Ok(super::notice::Notice::FediverseApproved.after("/admin/fediverse"))
}

async fn remove(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    AdminForm { form, .. }: AdminForm<FollowerFields, Admin>,
) -> Result<Response, AppError> {
    let settings = state.settings().await?;
    let blog = state.fediverse.blog(&settings);
    if !federation::inbox::reject(&state.db, &blog, id, form.followed()).await? {
        return Err(AppError::NotFound);
    }
    Ok(super::notice::Notice::FediverseRemoved.after("/admin/fediverse"))
}

/// What came of a Webmention, in words.
fn mention_state(status: &str, kind: Option<&str>, error: Option<&str>) -> String {
    match (status, kind) {
        ("verified", Some("reply")) => "A reply (see Comments)".into(),
        ("verified", Some("like")) => "A like".into(),
        ("verified", Some("repost")) => "A repost".into(),
        ("verified", _) => "A mention (see Comments)".into(),
        ("waiting", _) => match error {
            Some(error) => format!("Waiting to be checked again ({error})"),
            None => "Waiting to be checked".into(),
        },
        ("unlinked", _) => "Its page does not link here".into(),
        ("gone", _) => "Its page is gone".into(),
        (_, _) => format!("Could not be checked ({})", error.unwrap_or("no reason")),
    }
}

/// `social.example` from what a person may paste: a URL, a handle or a bare name.
fn instance_of(text: &str) -> Option<String> {
    let text = text.trim().trim_start_matches('@');
    let host = if text.contains("://") {
        url::Url::parse(text).ok()?.host_str()?.to_owned()
    } else {
        let text = text.rsplit('@').next()?;
        text.split('/').next()?.to_owned()
    };
    let host = host.to_ascii_lowercase();
    let fine = !host.is_empty()
        && host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'))
        && host.contains(['.', ':']);
    fine.then_some(host)
}

async fn block(
    State(state): State<AppState>,
    AdminForm { user, form, .. }: AdminForm<BlockFields, Admin>,
) -> Result<Response, AppError> {
    let Some(domain) = instance_of(&form.domain) else {
        let fields = SettingsFields::saved(&state.settings().await?);
        let errors = FediverseErrors {
            domain: Some("Enter an instance's name, such as social.example".into()),
            ..FediverseErrors::default()
        };
        let layout = user.layout(&state, "fediverse", "Fediverse").await?;
        let mut response = show(&state, layout, &fields, errors, form).await?;
        *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(response);
    };
    let action = if form.action == "hold" {
        "hold"
    } else {
        "block"
    };
    db::fediverse::set_domain_block(&state.db, &domain, action).await?;
    Ok(super::notice::Notice::FediverseBlocked.after("/admin/fediverse"))
}

async fn unblock(
    State(state): State<AppState>,
    Path(domain): Path<String>,
    AdminForm { .. }: AdminForm<Empty, Admin>,
) -> Result<Response, AppError> {
    db::fediverse::remove_domain_block(&state.db, &domain).await?;
    Ok(super::notice::Notice::FediverseUnblocked.after("/admin/fediverse"))
}

#[cfg(test)]
mod tests {
    use super::instance_of;

    #[test]
    fn an_instance_is_read_from_a_url_a_handle_or_a_name() {
        assert_eq!(
            instance_of("social.example").as_deref(),
            Some("social.example")
        );
        assert_eq!(
            instance_of("https://Social.Example/@ana").as_deref(),
            Some("social.example")
        );
        assert_eq!(
            instance_of("@ana@social.example").as_deref(),
            Some("social.example")
        );
        assert_eq!(instance_of("not a name"), None);
        assert_eq!(instance_of("localhost"), None);
    }
}
