//! `folio demo` writes the blog it promises.

use crate::common::{app, get};
use folio::config::DemoArgs;
use sqlx::PgPool;

#[sqlx::test]
async fn demo_writes_posts_labels_and_comments_over_several_years(pool: PgPool) {
    let args = DemoArgs {
        posts: 120,
        comments: 4,
        seed: 3,
    };
    folio::cli::demo::run(&pool, &args).await.unwrap();

    let posts: i64 = sqlx::query_scalar(
        "select count(*) from posts where kind = 'post' and status = 'published'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let comments: i64 =
        sqlx::query_scalar("select count(*) from comments where status = 'approved'")
            .fetch_one(&pool)
            .await
            .unwrap();
    let per_post: Vec<i64> = sqlx::query_scalar("select count(c.id) from posts p left join comments c on c.post_id = p.id where p.kind = 'post' group by p.id")
        .fetch_all(&pool).await.unwrap();
    let years: i64 = sqlx::query_scalar(
        "select count(distinct extract(year from published_at)) from posts where kind = 'post'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let unlabelled: i64 = sqlx::query_scalar("select count(*) from posts p where kind = 'post' and not exists (select 1 from post_labels pl where pl.post_id = p.id)")
        .fetch_one(&pool).await.unwrap();
    assert_eq!(posts, 120);
    assert_eq!(comments, 480);
    assert!(per_post.iter().all(|&n| n == 4));
    assert!(years >= 3, "spread over several years: {years}");
    assert_eq!(unlabelled, 0);

    // A newcomer sees a living blog, with an About page.
    let app = app(&pool);
    let home = get(&app, "/").await;
    let text = home.text();
    assert!(
        text.contains("Saltmarsh Lane")
            && text.contains("4 comments:")
            && text.contains("Posted by Rowan Ashby"),
        "{text}"
    );
    assert_eq!(home.post_titles().len(), 10);
    assert!(!home.links_containing("updated-max=").is_empty());
    let first = home.links_containing(".html")[0].clone();
    assert_eq!(get(&app, &first).await.status, axum::http::StatusCode::OK);
    assert!(
        get(&app, "/p/about.html")
            .await
            .text()
            .contains("folio demo")
    );

    // Running it again adds a fresh set without touching what is there.
    folio::cli::demo::run(
        &pool,
        &DemoArgs {
            posts: 10,
            comments: 0,
            seed: 4,
        },
    )
    .await
    .unwrap();
    let after: i64 = sqlx::query_scalar("select count(*) from posts where kind = 'post'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!((121..=130).contains(&after), "{after}");
}
