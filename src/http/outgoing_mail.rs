//! What handlers need to write mail: the blog as its messages see it, and the mail that
//! published comments owe, written in the handler's transaction.

use crate::{error::AppError, state::AppState};

/// The blog as its email sees it (links signed with its secret, times from its clock).
pub(crate) fn mail_blog<'a>(state: &'a AppState, title: &'a str) -> crate::mail::notify::Blog<'a> {
    crate::mail::notify::Blog {
        secret: &state.secret,
        base_url: &state.config.base_url,
        title,
        now: state.clock.now(),
    }
}

/// Comments just approved: the mail that causes, in the same transaction (nothing when mail
/// is off). `title` is the blog's, read before the transaction began: a query through the pool
/// here would hold one connection while waiting for another, and a burst of comments would
/// hold them all.
pub(crate) async fn comments_published(
    state: &AppState,
    tx: &mut sqlx::PgConnection,
    ids: &[i64],
    title: &str,
) -> Result<(), AppError> {
    if state.mailer.is_none() || ids.is_empty() {
        return Ok(());
    }
    let blog = mail_blog(state, title);
    crate::db::use_generic_plans(tx).await?;
    crate::mail::notify::comments_published(tx, &blog, ids).await?;
    crate::mail::notify::subscriber_notices(tx, &blog, ids).await?;
    Ok(())
}
