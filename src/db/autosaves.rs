//! Autosaved work: what an editor typed and has not saved, one slot per post and user (the post
//! they are starting has `post_id` null). Never published and never a revision.

use sqlx::{PgExecutor, PgPool};
use time::OffsetDateTime;

use crate::domain::post::PostKind;

/// Whose slot, for what: a post's id (none for the one being started), its kind and the user.
#[derive(Debug, Clone, Copy)]
pub struct Slot {
    pub post_id: Option<i64>,
    pub kind: PostKind,
    pub user_id: i64,
}

/// The fields an autosave keeps: the writing, not the publishing choices.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AutosavedText {
    pub title: String,
    pub body_source: String,
    pub labels: String,
    pub slug: String,
    pub excerpt: String,
}

#[derive(Debug, Clone)]
pub struct Autosave {
    pub text: AutosavedText,
    /// The post's `edit_version` the editor started from.
    pub base_version: Option<i64>,
    pub saved_at: OffsetDateTime,
}

/// Keeps the text in the slot, replacing what was there; returns when it was kept.
pub async fn keep(
    db: &PgPool,
    slot: Slot,
    base_version: Option<i64>,
    text: &AutosavedText,
) -> Result<OffsetDateTime, sqlx::Error> {
    sqlx::query_scalar!(
        r#"insert into post_autosaves (post_id, user_id, kind, base_version, title, body_source,
                                       labels, slug, excerpt)
           values ($1, $2, $9, $3, $4, $5, $6, $7, $8)
           on conflict ((coalesce(post_id, 0)), user_id, kind) do update
           set base_version = excluded.base_version, title = excluded.title,
               body_source = excluded.body_source, labels = excluded.labels,
               slug = excluded.slug, excerpt = excluded.excerpt, saved_at = now()
           returning saved_at"#,
        slot.post_id,
        slot.user_id,
        base_version,
        text.title,
        text.body_source,
        text.labels,
        text.slug,
        text.excerpt,
        slot.kind as PostKind
    )
    .fetch_one(db)
    .await
}

pub async fn find(db: &PgPool, slot: Slot) -> Result<Option<Autosave>, sqlx::Error> {
    let row = sqlx::query!(
        r#"select title, body_source, labels, slug, excerpt, base_version, saved_at
           from post_autosaves
           where coalesce(post_id, 0) = coalesce($1::bigint, 0) and user_id = $2 and kind = $3"#,
        slot.post_id,
        slot.user_id,
        slot.kind as PostKind
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|row| Autosave {
        text: AutosavedText {
            title: row.title,
            body_source: row.body_source,
            labels: row.labels,
            slug: row.slug,
            excerpt: row.excerpt,
        },
        base_version: row.base_version,
        saved_at: row.saved_at,
    }))
}

/// Empties the slot (after a save, or when the editor discards it).
pub async fn discard(db: impl PgExecutor<'_>, slot: Slot) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"delete from post_autosaves
           where coalesce(post_id, 0) = coalesce($1::bigint, 0) and user_id = $2 and kind = $3"#,
        slot.post_id,
        slot.user_id,
        slot.kind as PostKind
    )
    .execute(db)
    .await?;
    Ok(())
}
