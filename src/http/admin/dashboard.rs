//! The dashboard: what waits, at a glance.

use axum::{Router, extract::State, response::Response, routing::get};

use super::CurrentUser;
use crate::{
    db,
    domain::{comment::CommentStatus, role::Role},
    error::AppError,
    http::render,
    state::AppState,
    views::admin::{AdminComment, DashboardPage},
};

pub fn router() -> Router<AppState> {
    Router::new().route("/admin", get(dashboard))
}

async fn dashboard(State(state): State<AppState>, user: CurrentUser) -> Result<Response, AppError> {
    let layout = user.layout(&state, "dashboard", "Dashboard").await?;
    let own = (user.role < Role::Editor).then(|| user.id());
    let posts = db::posts::counts(&state.db, own).await?;
    let (counts, pending) = if user.role >= Role::Editor {
        let counts = db::comments::count_by_status(&state.db).await?;
        let rows = db::comments::list_by_status(
            &state.db,
            CommentStatus::Pending,
            db::comments::Listing::newest(5),
        )
        .await?;
        let tz = state.settings().await?.time_zone();
        (
            counts,
            rows.iter().map(|r| AdminComment::new(r, &tz)).collect(),
        )
    } else {
        (Default::default(), Vec::new())
    };
    render(&DashboardPage {
        layout,
        counts,
        drafts: posts.drafts,
        scheduled: posts.scheduled,
        published: posts.published,
        pending,
    })
}
