//! Uploaded images, kept in the database so that app servers stay stateless.

use sqlx::PgPool;
use time::OffsetDateTime;

use crate::domain::image::{ImageKind, MediaImage, MediaSizes, Processed};

#[derive(Debug, Clone)]
pub struct MediaFile {
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// A query returning `MediaRow`s: an image, who uploaded it and the posts that show it (in their
/// text or as their featured image, looked up once), followed by the query's own conditions.
macro_rules! query_media_rows {
    ($rest:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            MediaRow,
            r#"select m.hash, m.content_type, m.size_bytes, u.display_name as "uploaded_by?",
                      m.uploaded_by as uploaded_by_id, m.created_at, m.name, m.alt, m.width,
                      m.height, used.ids as "used_in_ids!", used.titles as "used_in_titles!"
               from media m
               left join users u on u.id = m.uploaded_by
               cross join lateral (
                   select coalesce(array_agg(p.id order by p.id), '{}') as ids,
                          coalesce(array_agg(p.title order by p.id), '{}') as titles
                   from posts p
                   where strpos(p.body_source, m.hash) > 0
                      or strpos(p.featured_image, m.hash) > 0
               ) used
               "# + $rest
            $(, $arg)*
        )
    };
}

#[derive(Debug, Clone)]
pub struct MediaRow {
    pub hash: String,
    pub content_type: String,
    pub size_bytes: i32,
    pub uploaded_by: Option<String>,
    pub uploaded_by_id: Option<i64>,
    pub created_at: OffsetDateTime,
    pub name: String,
    pub alt: String,
    pub width: Option<i32>,
    pub height: Option<i32>,
    /// The posts and pages that show it (in their text or as their featured image).
    pub used_in_ids: Vec<i64>,
    pub used_in_titles: Vec<String>,
}

/// An image ready to store (see `media::processing::process`).
#[derive(Debug, Clone)]
pub struct NewImage<'a> {
    pub hash: &'a str,
    pub processed: &'a Processed,
    /// The file name it was uploaded with, to find it again.
    pub name: &'a str,
    pub uploaded_by: i64,
}

/// Stores an image under its hash with its smaller copies, in one transaction; the same image
/// uploaded twice is kept once.
pub async fn store(db: &PgPool, image: &NewImage<'_>) -> Result<(), sqlx::Error> {
    let processed = image.processed;
    let mut tx = db.begin().await?;
    let inserted = sqlx::query_scalar!(
        r#"insert into media (hash, content_type, size_bytes, bytes, uploaded_by, width, height, name)
           values ($1, $2, $3, $4, $5, $6, $7, $8)
           on conflict (hash) do nothing
           returning id"#,
        image.hash,
        processed.kind.content_type(),
        processed.bytes.len() as i32,
        processed.bytes,
        image.uploaded_by,
        processed.width as i32,
        processed.height as i32,
        image.name
    )
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(id) = inserted {
        insert_variants(&mut tx, id, processed).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// A smaller copy of an image.
pub async fn find_variant(
    db: &PgPool,
    hash: &str,
    width: i32,
    content_type: &str,
) -> Result<Option<Vec<u8>>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select v.bytes from media_variants v join media m on m.id = v.media_id
           where m.hash = $1 and v.width = $2 and v.content_type = $3"#,
        hash,
        width,
        content_type
    )
    .fetch_optional(db)
    .await
}

/// Whether a smaller copy exists (for a browser asking again, which needs no bytes).
pub async fn has_variant(
    db: &PgPool,
    hash: &str,
    width: i32,
    content_type: &str,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select exists (select 1 from media_variants v join media m on m.id = v.media_id
                          where m.hash = $1 and v.width = $2 and v.content_type = $3) as "exists!""#,
        hash,
        width,
        content_type
    )
    .fetch_one(db)
    .await
}

/// What is known of the images with these hashes: their size and smaller copies.
pub async fn sizes(db: &PgPool, hashes: &[String]) -> Result<MediaSizes, sqlx::Error> {
    if hashes.is_empty() {
        return Ok(MediaSizes::new());
    }
    let rows = sqlx::query!(
        r#"select m.hash, m.content_type, m.width as "width!", m.height as "height!",
                  array(select v.width from media_variants v where v.media_id = m.id
                        order by v.width, v.content_type) as "variant_widths!",
                  array(select v.content_type from media_variants v where v.media_id = m.id
                        order by v.width, v.content_type) as "variant_types!"
           from media m
           where m.hash = any($1) and m.width > 0 and m.height > 0"#,
        hashes
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let kind = ImageKind::from_content_type(&row.content_type)?;
            let variants = row
                .variant_widths
                .iter()
                .zip(&row.variant_types)
                .filter_map(|(width, content_type)| {
                    Some((
                        u32::try_from(*width).ok()?,
                        ImageKind::from_content_type(content_type)?,
                    ))
                })
                .collect();
            Some((
                row.hash,
                MediaImage {
                    kind,
                    width: u32::try_from(row.width).ok()?,
                    height: u32::try_from(row.height).ok()?,
                    variants,
                },
            ))
        })
        .collect())
}

pub async fn find(db: &PgPool, hash: &str) -> Result<Option<MediaFile>, sqlx::Error> {
    sqlx::query_as!(
        MediaFile,
        r#"select content_type, bytes from media where hash = $1"#,
        hash
    )
    .fetch_optional(db)
    .await
}

/// An image's type without its bytes: enough to answer a browser that has it already.
pub async fn content_type_of(db: &PgPool, hash: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!(r#"select content_type from media where hash = $1"#, hash)
        .fetch_optional(db)
        .await
}

/// The media library, newest first: every image whose file name or alt text holds `q` (all of
/// them when `q` is none), with the posts and pages that show it.
pub async fn library(
    db: &PgPool,
    q: Option<&str>,
    limit: i64,
) -> Result<Vec<MediaRow>, sqlx::Error> {
    // `%` and `_` typed in the search box are looked for as they are.
    let pattern = q.map(|q| {
        format!(
            "%{}%",
            q.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        )
    });
    query_media_rows!(
        r#"where $2::text is null or m.name ilike $2 or m.alt ilike $2
           order by m.created_at desc, m.id desc
           limit $1"#,
        limit,
        pattern
    )
    .fetch_all(db)
    .await
}

/// One image of the library.
pub async fn find_row(db: &PgPool, hash: &str) -> Result<Option<MediaRow>, sqlx::Error> {
    query_media_rows!(r#"where m.hash = $1"#, hash)
        .fetch_optional(db)
        .await
}

/// Sets an image's alt text; false when there is no such image.
pub async fn set_alt(db: &PgPool, hash: &str, alt: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(r#"update media set alt = $2 where hash = $1"#, hash, alt)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes an image and its smaller copies, and tells every Folio process to forget the bytes
/// it keeps in memory.
pub async fn delete(db: &PgPool, hash: &str) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    let done = sqlx::query!(r#"delete from media where hash = $1"#, hash)
        .execute(&mut *tx)
        .await?;
    sqlx::query!(
        r#"select pg_notify('folio_content_changed', 'media:' || $1::text)"#,
        hash
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(done.rows_affected() == 1)
}

/// An image stored before images were processed on upload (no size known yet).
pub struct Unprocessed {
    pub id: i64,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// Claims the next image stored before uploads were processed, for ten minutes (another process
/// takes it over if this one dies), at most three times. The claim is committed at once: no
/// transaction stays open while the image is processed.
pub async fn claim_unprocessed(db: &PgPool) -> Result<Option<Unprocessed>, sqlx::Error> {
    sqlx::query_as!(
        Unprocessed,
        r#"update media set process_attempts = process_attempts + 1,
                            processing_until = now() + interval '10 minutes'
           where id = (select id from media
                       where width is null and process_attempts < 3
                         and (processing_until is null or processing_until < now())
                       order by id limit 1 for update skip locked)
           returning id, content_type, bytes"#
    )
    .fetch_optional(db)
    .await
}

/// Replaces an old image's bytes with what processing made of them (upright, without metadata),
/// under the same name: posts keep their addresses. Its copies are added.
pub async fn replace_processed(
    db: &PgPool,
    id: i64,
    processed: &Processed,
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    sqlx::query!(
        r#"update media set bytes = $2, size_bytes = $3, width = $4, height = $5,
                            processing_until = null
           where id = $1"#,
        id,
        processed.bytes,
        processed.bytes.len() as i32,
        processed.width as i32,
        processed.height as i32
    )
    .execute(&mut *tx)
    .await?;
    insert_variants(&mut tx, id, processed).await?;
    tx.commit().await
}

/// An image that could not be decoded: kept with its metadata stripped where its layout allowed,
/// with no size (it is served as it is, without copies) and not tried again.
pub async fn keep_unprocessable(
    db: &PgPool,
    id: i64,
    stripped: Option<&[u8]>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"update media set width = 0, height = 0, processing_until = null,
                            bytes = coalesce($2, bytes),
                            size_bytes = coalesce(length($2), size_bytes)
           where id = $1"#,
        id,
        stripped
    )
    .execute(db)
    .await?;
    Ok(())
}

async fn insert_variants(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    id: i64,
    processed: &Processed,
) -> Result<(), sqlx::Error> {
    for variant in &processed.variants {
        sqlx::query!(
            r#"insert into media_variants (media_id, width, height, content_type, bytes)
               values ($1, $2, $3, $4, $5)
               on conflict do nothing"#,
            id,
            variant.width as i32,
            variant.height as i32,
            variant.kind.content_type(),
            variant.bytes
        )
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}
