//! Long conversations: comment pages of whole threads, either order, and every link to a
//! comment (permalinks, Blogger's `showComment`, the commenter's own 303) landing on the page
//! that holds it.

use axum::http::StatusCode;
use folio::auth::form_token;
use sqlx::PgPool;
use time::{Duration, OffsetDateTime};

use crate::common::{Page, Post, add_comment, add_post, add_reply, app, get, post_form, secret};

fn at(minutes: i64) -> OffsetDateTime {
    OffsetDateTime::now_utc() - Duration::days(1) + Duration::minutes(minutes)
}

async fn set_paging(pool: &PgPool, per_page: i32, newest_first: bool) {
    sqlx::query("update settings set comment_threads_per_page = $1, comments_newest_first = $2")
        .bind(per_page)
        .bind(newest_first)
        .execute(pool)
        .await
        .unwrap();
}

/// The names of the comments on a page, in reading order.
fn commenters(page: &Page) -> Vec<String> {
    page.texts(".comment-list .comment-author")
        .into_iter()
        .map(|t| t.split_whitespace().next().unwrap_or("").to_owned())
        .collect()
}

/// A post with five threads: Ann's with replies three deep (Bob answers Ann, Cy answers
/// Bob), then Dee, Eve (answered by Fay), Gus and Hal, in that order.
async fn conversation(pool: &PgPool) -> (i64, String, Vec<i64>) {
    let (post, path) = add_post(
        pool,
        Post::published("A long conversation", at(0) - Duration::days(1)),
    )
    .await;
    let ann = add_comment(pool, post, "Ann", "First thread.", "approved", at(1)).await;
    let bob = add_reply(pool, post, Some(ann), "Bob", "Answer.", "approved", at(2)).await;
    let dee = add_comment(pool, post, "Dee", "Second thread.", "approved", at(3)).await;
    let cy = add_reply(pool, post, Some(bob), "Cy", "Deeper.", "approved", at(4)).await;
    let eve = add_comment(pool, post, "Eve", "Third thread.", "approved", at(5)).await;
    let fay = add_reply(pool, post, Some(eve), "Fay", "Reply.", "approved", at(6)).await;
    let gus = add_comment(pool, post, "Gus", "Fourth thread.", "approved", at(7)).await;
    let hal = add_comment(pool, post, "Hal", "Fifth thread.", "approved", at(8)).await;
    // Held and spam comments are on no page and move no thread.
    add_comment(pool, post, "Ivy", "Held.", "pending", at(9)).await;
    add_comment(pool, post, "Jo", "Spam.", "spam", at(10)).await;
    (post, path, vec![ann, bob, cy, dee, eve, fay, gus, hal])
}

#[sqlx::test]
async fn threads_are_paged_whole_oldest_first_with_links_between_pages(pool: PgPool) {
    let (_, path, ids) = conversation(&pool).await;
    set_paging(&pool, 2, false).await;
    let app = app(&pool);

    let first = get(&app, &path).await;
    assert_eq!(commenters(&first), ["Ann", "Bob", "Cy", "Dee"]);
    // The heading counts every comment, on every page.
    assert!(first.text().contains("8 comments"), "{}", first.text());
    assert!(first.text().contains("Comments page 1 of 3"));
    assert!(first.body.contains(&format!(
        r#"<link rel="next" href="http://blog.test{path}?commentPage=2">"#
    )));
    assert!(!first.body.contains(r#"rel="prev""#));
    assert!(first.body.contains(&format!(
        r#"<link rel="canonical" href="http://blog.test{path}">"#
    )));

    let second = get(&app, &format!("{path}?commentPage=2")).await;
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(commenters(&second), ["Eve", "Fay", "Gus"]);
    assert!(second.text().contains("8 comments"));
    assert!(second.text().contains("Comments page 2 of 3"));
    assert!(second.body.contains(&format!(
        r#"<link rel="canonical" href="http://blog.test{path}?commentPage=2">"#
    )));
    assert!(second.body.contains(&format!(
        r#"<link rel="prev" href="http://blog.test{path}">"#
    )));
    // "Reply" keeps the reader on this page, and the form says whom it answers.
    let reply = format!("{path}?commentPage=2&amp;reply={}#post-a-comment", ids[4]);
    assert!(second.body.contains(&reply), "{}", second.body);
    let replying = get(&app, &format!("{path}?commentPage=2&reply={}", ids[4])).await;
    assert!(replying.text().contains("Replying to Eve"));

    let third = get(&app, &format!("{path}?commentPage=3")).await;
    assert_eq!(commenters(&third), ["Hal"]);
    assert!(!third.body.contains(r#"rel="next""#));

    // One address per page, and no page past the last.
    for (asked, location) in [("1", path.clone()), ("02", format!("{path}?commentPage=2"))] {
        let page = get(&app, &format!("{path}?commentPage={asked}")).await;
        assert_eq!(page.status, StatusCode::PERMANENT_REDIRECT, "{asked}");
        assert_eq!(page.header("location"), location);
    }
    // A page past the last (an old link, or Blogger's own paging): the last page.
    let past = get(&app, &format!("{path}?commentPage=4")).await;
    assert_eq!(past.status, StatusCode::SEE_OTHER);
    assert_eq!(past.header("location"), format!("{path}?commentPage=3"));
    for missing in ["0", "-1", "two", "9223372036854775807"] {
        let page = get(&app, &format!("{path}?commentPage={missing}")).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{missing}");
    }
    // "Reply" from an old link without the page: the page that shows the comment answered,
    // and "Cancel reply" stays there.
    let replying = get(&app, &format!("{path}?reply={}", ids[4])).await;
    assert_eq!(commenters(&replying), ["Eve", "Fay", "Gus"]);
    assert!(replying.text().contains("Replying to Eve"));
    assert!(replying.body.contains(&format!(
        r#"href="{path}?commentPage=2#post-a-comment">Cancel reply"#
    )));
}

#[sqlx::test]
async fn newest_threads_first_keeps_each_thread_in_its_own_order(pool: PgPool) {
    let (_, path, _) = conversation(&pool).await;
    set_paging(&pool, 2, true).await;
    let app = app(&pool);
    let first = get(&app, &path).await;
    assert_eq!(commenters(&first), ["Hal", "Gus"]);
    assert!(first.text().contains("Older comments"));
    let second = get(&app, &format!("{path}?commentPage=2")).await;
    assert_eq!(commenters(&second), ["Eve", "Fay", "Dee"]);
    let third = get(&app, &format!("{path}?commentPage=3")).await;
    assert_eq!(commenters(&third), ["Ann", "Bob", "Cy"]);
    assert!(third.text().contains("Newer comments"));
}

#[sqlx::test]
async fn a_comment_permalink_lands_on_the_page_that_holds_it(pool: PgPool) {
    let (post, path, ids) = conversation(&pool).await;
    set_paging(&pool, 2, false).await;
    let app = app(&pool);
    let hal = ids[7];
    let link = get(&app, &format!("/comment/{hal}")).await;
    assert_eq!(link.status, StatusCode::SEE_OTHER);
    assert_eq!(
        link.header("location"),
        format!("{path}?commentPage=3#c{hal}")
    );
    let landed = get(&app, &format!("{path}?commentPage=3")).await;
    assert!(landed.body.contains(&format!(r#"id="c{hal}""#)));
    // A reply three deep is with its thread, on the first page.
    let cy = ids[2];
    let link = get(&app, &format!("/comment/{cy}")).await;
    assert_eq!(link.header("location"), format!("{path}#c{cy}"));
    // A thread whose first comment is moderated away still shows (its reply), and still counts.
    sqlx::query("update comments set status = 'trash' where id = $1")
        .bind(ids[4])
        .execute(&pool)
        .await
        .unwrap();
    let link = get(&app, &format!("/comment/{hal}")).await;
    assert_eq!(
        link.header("location"),
        format!("{path}?commentPage=3#c{hal}")
    );
    let second = get(&app, &format!("{path}?commentPage=2")).await;
    assert_eq!(commenters(&second), ["Fay", "Gus"]);
    sqlx::query("update comments set status = 'approved' where id = $1")
        .bind(ids[4])
        .execute(&pool)
        .await
        .unwrap();
    // Newest first, the same comment is on the first page.
    set_paging(&pool, 2, true).await;
    let link = get(&app, &format!("/comment/{hal}")).await;
    assert_eq!(link.header("location"), format!("{path}#c{hal}"));
    // A comment not shown (held, or moderated away since the link was made): the post.
    let held: i64 = sqlx::query_scalar("select id from comments where status = 'pending'")
        .fetch_one(&pool)
        .await
        .unwrap();
    let link = get(&app, &format!("/comment/{held}")).await;
    assert_eq!(link.header("location"), path);
    for missing in ["999999", "x"] {
        let page = get(&app, &format!("/comment/{missing}")).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{missing}");
    }
    let edited_before: OffsetDateTime =
        sqlx::query_scalar("select updated_at from comments where id = $1")
            .bind(cy)
            .fetch_one(&pool)
            .await
            .unwrap();
    // Deleting a thread's first comment for good leaves its replies as threads of their own.
    sqlx::query("update comments set status = 'trash' where id = $1")
        .bind(ids[0])
        .execute(&pool)
        .await
        .unwrap();
    let mut tx = pool.begin().await.unwrap();
    folio::db::comments::delete_forever(&mut tx, &[ids[0]])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let thread: i64 = sqlx::query_scalar("select thread_id from comments where id = $1")
        .bind(cy)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(thread, ids[1], "Cy now belongs to Bob's thread");
    let edited_after: OffsetDateTime =
        sqlx::query_scalar("select updated_at from comments where id = $1")
            .bind(cy)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        edited_after, edited_before,
        "filing a comment in a thread is no edit"
    );
    let _ = post;
}

#[sqlx::test]
async fn the_commenter_lands_on_the_page_with_their_comment(pool: PgPool) {
    let (post, path, ids) = conversation(&pool).await;
    set_paging(&pool, 2, false).await;
    let app = app(&pool);
    let token = form_token::issue(
        &secret(),
        post,
        OffsetDateTime::now_utc().unix_timestamp() - 10,
    );
    // A new thread goes last: page 3, after Hal.
    let sent = post_form(
        &app,
        &path,
        &[
            ("token", &token),
            ("name", "Kim"),
            ("comment", "A thread at the end."),
        ],
        &[],
    )
    .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.text());
    let location = sent.header("location").to_owned();
    assert!(
        location.starts_with(&format!("{path}?commentPage=last#c")),
        "{location}"
    );
    let (address, anchor) = location.split_once('#').unwrap();
    let last = get(&app, address).await;
    assert!(last.body.contains(&format!(r#"id="{anchor}""#)));
    assert!(
        last.body.contains(&format!(
            r#"<link rel="canonical" href="{}{path}?commentPage=3">"#,
            crate::common::BASE_URL
        )),
        "the last page is page 3, and says so"
    );
    // A reply to Ann lands on page 1, with Ann's thread.
    let ann = ids[0];
    let reply = post_form(
        &app,
        &path,
        &[
            ("token", &token),
            ("name", "Lu"),
            ("comment", "Answering the first thread."),
            ("parent", &ann.to_string()),
        ],
        &[],
    )
    .await;
    assert!(
        reply.header("location").starts_with(&format!("{path}#c")),
        "{}",
        reply.header("location")
    );
}

#[sqlx::test]
async fn blogger_comment_links_of_an_imported_blog_land_on_the_right_page(pool: PgPool) {
    let (post, path) = add_post(
        &pool,
        Post::published("Imported", at(0) - Duration::days(1)),
    )
    .await;
    // Imported comments at whole milliseconds, as Blogger's `showComment` names them.
    let mut last = 0;
    for n in 0..5 {
        let when = OffsetDateTime::from_unix_timestamp(1_700_000_000 + n * 60).unwrap();
        last = add_comment(
            &pool,
            post,
            &format!("Reader{n}"),
            "Hello.",
            "approved",
            when,
        )
        .await;
    }
    set_paging(&pool, 2, false).await;
    let app = app(&pool);
    let link = get(
        &app,
        &format!("{path}?showComment={}", (1_700_000_000i64 + 4 * 60) * 1000),
    )
    .await;
    assert_eq!(link.status, StatusCode::SEE_OTHER);
    assert_eq!(link.header("location"), format!("{path}?commentPage=3"));
    let page = get(&app, link.header("location")).await;
    assert!(page.body.contains(&format!(r#"id="c{last}""#)));
    // A time no comment has: the post itself.
    let unknown = get(&app, &format!("{path}?showComment=123")).await;
    assert_eq!(unknown.header("location"), path);
}

#[sqlx::test]
async fn a_cached_permalink_follows_its_comment_when_new_threads_push_it_back(pool: PgPool) {
    let (post, path, ids) = conversation(&pool).await;
    set_paging(&pool, 2, true).await;
    let (state, app) = crate::common::cached_app(&pool).await;
    let ann = ids[0];
    let uri = format!("/comment/{ann}");
    let first = get(&app, &uri).await;
    assert_eq!(
        first.header("location"),
        format!("{path}?commentPage=3#c{ann}")
    );
    let hits = state.pages.hits();
    let again = get(&app, &uri).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert_eq!(again.header("location"), first.header("location"));
    assert_eq!(state.pages.hits(), hits + 1, "answered from the page cache");
    // Two new threads, newest first: Ann's thread moves to page 4.
    add_comment(&pool, post, "Max", "New.", "approved", at(20)).await;
    add_comment(&pool, post, "Ned", "Newer.", "approved", at(21)).await;
    let moved = crate::common::eventually(&app, &uri, |page| {
        page.header("location") == format!("{path}?commentPage=4#c{ann}")
    })
    .await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER);
}

#[sqlx::test]
async fn approving_a_comment_keeps_the_other_posts_pages_cached(pool: PgPool) {
    let (a, a_path) = add_post(&pool, Post::published("Busy post", at(0))).await;
    let (_, b_path) = add_post(&pool, Post::published("Quiet post", at(1))).await;
    let held = add_comment(
        &pool,
        a,
        "Pat",
        "Waiting for a moderator.",
        "pending",
        at(2),
    )
    .await;
    let (state, app) = crate::common::cached_app(&pool).await;
    let editor = crate::common::user_session(&app, &pool, "editor").await;
    for path in [&a_path, &b_path, &"/".to_owned()] {
        get(&app, path).await;
    }
    let hits = state.pages.hits();
    get(&app, &b_path).await;
    assert_eq!(state.pages.hits(), hits + 1, "the quiet post is cached");

    let done = editor
        .post(
            &app,
            "/admin/comments/moderate",
            &[("one", &format!("approve:{held}"))],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    // Another process hears of it too; here the change is seen at once.
    let busy = get(&app, &a_path).await;
    assert!(busy.text().contains("Waiting for a moderator."));
    let hits = state.pages.hits();
    get(&app, &b_path).await;
    assert_eq!(
        state.pages.hits(),
        hits + 1,
        "the quiet post is still cached"
    );
    get(&app, "/").await;
    assert_eq!(
        state.pages.hits(),
        hits + 1,
        "the home page (it counts comments) was rendered again"
    );
}

#[sqlx::test]
async fn a_feeds_304_is_never_served_to_the_next_reader(pool: PgPool) {
    add_post(&pool, Post::published("Fed", at(0))).await;
    let (_, app) = crate::common::cached_app(&pool).await;
    let feed = get(&app, "/feeds/posts/default").await;
    let modified = feed.header("last-modified").to_owned();
    assert!(!modified.is_empty());
    let conditional = crate::common::get_with(
        &app,
        "/feeds/posts/default",
        &[("if-modified-since", &modified)],
    )
    .await;
    assert_eq!(conditional.status, StatusCode::NOT_MODIFIED);
    let plain = get(&app, "/feeds/posts/default").await;
    assert_eq!(plain.status, StatusCode::OK);
    assert!(plain.body.contains("<feed"), "a whole feed: {}", plain.body);
}
