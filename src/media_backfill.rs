//! Images stored before Folio processed uploads still hold their metadata (a phone's GPS
//! position among it) and have no size or smaller copies. Each process works through them in
//! the background after starting, one at a time, each under its row's lock.

use sqlx::PgPool;

use crate::{
    db,
    domain::image::ImageKind,
    imaging,
    render::{self, images},
};

/// Processes every image not processed yet; returns how many were.
pub async fn run(db: &PgPool) -> Result<usize, sqlx::Error> {
    let mut done = 0;
    loop {
        let mut tx = db.begin().await?;
        let Some(image) = db::media::next_unprocessed(&mut tx).await? else {
            return Ok(done);
        };
        let kind = ImageKind::from_content_type(&image.content_type)
            .or_else(|| ImageKind::sniff(&image.bytes));
        let processed = match kind {
            Some(kind) => imaging::process_in_background(image.bytes, kind).await.ok(),
            None => None,
        };
        match processed {
            Some(processed) => db::media::replace_processed(&mut tx, image.id, &processed).await?,
            None => {
                tracing::warn!(
                    id = image.id,
                    "a stored image could not be processed; it is served as it is"
                );
                db::media::mark_unprocessable(&mut tx, image.id).await?;
            }
        }
        tx.commit().await?;
        done += 1;
    }
}

/// Renders again every body that shows one of the blog's images, so that images processed
/// since it was saved get their sizes and copies. Returns how many bodies changed.
pub async fn rerender_bodies(db: &PgPool) -> Result<usize, sqlx::Error> {
    let mut changed = 0;
    for post in db::posts::bodies_with_media(db).await? {
        let media = db::media::sizes(db, &images::media_hashes(&post.body_source)).await?;
        let html = render::post::body_html(&post.body_source, post.body_format, &media);
        if html != post.body_html {
            db::posts::set_body_html(db, post.id, &html).await?;
            changed += 1;
        }
    }
    Ok(changed)
}

/// Runs `run` in the background, then renders again the bodies that show what it processed.
pub fn spawn(db: PgPool) {
    tokio::spawn(async move {
        let result = match run(&db).await {
            Ok(0) => Ok((0, 0)),
            Ok(images) => rerender_bodies(&db).await.map(|bodies| (images, bodies)),
            Err(error) => Err(error),
        };
        match result {
            Ok((0, _)) => {}
            Ok((images, bodies)) => tracing::info!(
                images,
                bodies,
                "older images were made upright, stripped of their metadata and given smaller copies"
            ),
            Err(error) => tracing::warn!(
                %error,
                "older images could not all be processed; the next start tries again"
            ),
        }
    });
}
