//! Images stored before Folio processed uploads still hold their metadata (a phone's GPS
//! position among it) and have no size or smaller copies. Each process works through them in
//! the background after starting, one at a time, each claimed for a while (`claim_unprocessed`)
//! so that two processes do not do the same work and a process that dies leaves it to another.

use sqlx::PgPool;

use crate::{
    db,
    domain::image::ImageKind,
    media::processing,
    render::{self, images},
};

/// Processes every image not processed yet; returns how many were.
pub async fn run(db: &PgPool) -> Result<usize, sqlx::Error> {
    let mut done = 0;
    while let Some(image) = db::media::claim_unprocessed(db).await? {
        let kind = ImageKind::from_content_type(&image.content_type)
            .or_else(|| ImageKind::sniff(&image.bytes));
        let Some(kind) = kind else {
            db::media::keep_unprocessable(db, image.id, None).await?;
            continue;
        };
        let stripped = processing::strip_metadata(&image.bytes, kind);
        match processing::process_in_background(image.bytes, kind).await {
            Ok(processed) => db::media::replace_processed(db, image.id, &processed).await?,
            Err(error) => {
                tracing::warn!(id = image.id, %error, "a stored image could not be processed; it is served without copies");
                db::media::keep_unprocessable(db, image.id, stripped.as_deref()).await?;
            }
        }
        done += 1;
    }
    Ok(done)
}

/// Renders again every body that shows one of the blog's images, so that images processed
/// since it was saved get their sizes and copies. Returns how many bodies changed.
pub async fn rerender_bodies(db: &PgPool) -> Result<usize, sqlx::Error> {
    let mut changed = 0;
    for post in db::posts::bodies_with_media(db).await? {
        let media = db::media::sizes(db, &images::media_hashes(&post.body_source)).await?;
        let html = render::post::body_html(&post.body_source, post.body_format, &media);
        if html != post.body_html {
            db::posts::set_body_html(db, post.id, &post.body_source, &html).await?;
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
