//! The learning spam filter, as moderators and commenters meet it: it learns from Approve and
//! Spam, takes back reversed decisions, stays silent until trained, and shows why it scored.

use std::{
    io::Cursor,
    sync::{Arc, atomic::AtomicU64},
};

use axum::http::StatusCode;
use folio::App;
use folio::{auth::form_token, import};
use sqlx::PgPool;
use time::{Duration, OffsetDateTime};

use crate::common::{Post, Session, add_post, app, post_form, secret, send_comment, user_session};

const SPAMMY: [&str; 6] = [
    "Cheap casino bonus, claim your jackpot winnings at our online casino today",
    "Win the casino jackpot now: free bonus spins and instant winnings guaranteed",
    "Best online casino offers, jackpot bonus credit for new players, claim winnings",
    "Casino jackpot alert: your bonus winnings are waiting, claim them today",
    "Exclusive casino bonus code for jackpot slots, instant winnings, claim now",
    "Lucky casino winners claim a jackpot bonus every day with instant winnings",
];

const HAMMY: [&str; 6] = [
    "The frost got to my leeks as well, but the garden kale came through fine",
    "We mulch the garden beds with straw before the first frost and it helps the leeks",
    "Lovely photos of the garden. Our kale and leeks did well after the frost too",
    "Thanks for the tip about compost; the garden soil feels richer this spring",
    "My grandmother grew leeks in the same garden bed for years, frost or no frost",
    "Our allotment kale survived the frost, the leeks less so. Great write-up",
];

async fn a_post(pool: &PgPool, title: &str) -> (i64, String) {
    add_post(
        pool,
        Post::published(title, OffsetDateTime::now_utc() - Duration::days(1)),
    )
    .await
}

/// The newest stored comment with this text: (id, status, reason, score).
async fn stored(pool: &PgPool, text: &str) -> (i64, String, Option<String>, Option<f32>) {
    sqlx::query_as(
        "select id, status, status_reason, spam_score from comments where body_source = $1
         order by id desc limit 1",
    )
    .bind(text)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// (spam, ham) comments the model has learned from.
async fn model(pool: &PgPool) -> (i32, i32) {
    sqlx::query_as("select spam, ham from spam_model")
        .fetch_one(pool)
        .await
        .unwrap()
}

/// What the model holds: (token key, spam, ham) for every token some comment teaches.
async fn learned(pool: &PgPool) -> Vec<(i64, i32, i32)> {
    sqlx::query_as("select key, spam, ham from spam_tokens where spam > 0 or ham > 0 order by key")
        .fetch_all(pool)
        .await
        .unwrap()
}

/// (spam, ham) comments that taught this token.
async fn token_counts(pool: &PgPool, token: &str) -> (i32, i32) {
    sqlx::query_as("select spam, ham from spam_tokens where key = $1")
        .bind(folio::spam::tokens::key(token))
        .fetch_optional(pool)
        .await
        .unwrap()
        .unwrap_or((0, 0))
}

async fn set_min_training(pool: &PgPool, n: i32) {
    sqlx::query("update settings set spam_min_training = $1")
        .bind(n)
        .execute(pool)
        .await
        .unwrap();
}

/// A moderator's click in the queue: `action` on every id.
async fn moderate(app: &App, moderator: &Session, action: &str, ids: &[i64]) {
    let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
    let mut fields = vec![("tab", "pending"), ("action", action)];
    fields.extend(ids.iter().map(|id| ("ids", id.as_str())));
    let page = moderator
        .post(app, "/admin/comments/moderate", &fields)
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
}

/// Every text sent by a reader, then decided by a moderator: the ids of (spam, ham).
async fn teach(
    pool: &PgPool,
    app: &App,
    moderator: &Session,
    post: &(i64, String),
) -> (Vec<i64>, Vec<i64>) {
    let mut spam = Vec::new();
    let mut ham = Vec::new();
    for text in SPAMMY {
        send_comment(app, post, "Promo Team", text).await;
        spam.push(stored(pool, text).await.0);
    }
    for text in HAMMY {
        send_comment(app, post, "A Gardener", text).await;
        ham.push(stored(pool, text).await.0);
    }
    moderate(app, moderator, "spam", &spam).await;
    moderate(app, moderator, "approve", &ham).await;
    (spam, ham)
}

#[sqlx::test]
async fn moderators_teach_it_and_reversing_a_decision_unlearns_it(pool: PgPool) {
    let app = app(&pool);
    let post = a_post(&pool, "Frost on the leeks").await;
    let other = a_post(&pool, "Winter sowing").await;
    let moderator = user_session(&app, &pool, "editor").await;
    set_min_training(&pool, 3).await;

    let (spam, _) = teach(&pool, &app, &moderator, &post).await;
    assert_eq!(model(&pool).await, (6, 6));

    // A new casino comment is stopped, with the score as the reason; a new garden one is shown.
    let pitch = "Claim your casino jackpot bonus and instant winnings today";
    let page = send_comment(&app, &other, "Promo Team", pitch).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let (_, status, reason, score) = stored(&pool, pitch).await;
    let score = score.unwrap();
    assert!(score > 0.9, "{score}");
    assert_eq!(status, "spam");
    assert_eq!(
        reason.as_deref(),
        Some(
            format!(
                "likely spam ({:.2})",
                (f64::from(score) * 100.0).floor() / 100.0
            )
            .as_str()
        )
    );
    let kind_words = "The kale in my garden survived the frost, thanks to straw";
    send_comment(&app, &other, "Neighbour", kind_words).await;
    let (_, status, reason, score) = stored(&pool, kind_words).await;
    assert!(score.unwrap() < 0.1, "{score:?}");
    assert_eq!((status.as_str(), reason), ("approved", None));

    // The moderator changes their mind: the six spam comments go back to the queue, and what
    // they taught goes with them. Untrained on spam, the filter only scores.
    moderate(&app, &moderator, "restore", &spam).await;
    assert_eq!(model(&pool).await, (0, 6));
    let again = "Casino jackpot bonus winnings, claim today at the casino";
    send_comment(&app, &other, "Promo Team", again).await;
    let (_, status, reason, score) = stored(&pool, again).await;
    assert_eq!((status.as_str(), reason), ("approved", None));
    assert!(score.is_some(), "still scored, to show the moderator");

    // Approving a comment first marked as spam moves its lesson from spam to ham.
    moderate(&app, &moderator, "spam", &spam).await;
    assert_eq!(model(&pool).await, (6, 6));
    moderate(&app, &moderator, "approve", &spam[..1]).await;
    assert_eq!(model(&pool).await, (5, 7));
    let taught: Vec<(i64, Option<String>)> =
        sqlx::query_as("select id, spam_taught from comments where id = $1")
            .bind(spam[0])
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(taught[0].1.as_deref(), Some("ham"));
    // Trash takes a lesson back too: trash says "not wanted", not "spam".
    moderate(&app, &moderator, "trash", &spam[..1]).await;
    assert_eq!(model(&pool).await, (5, 6));
}

#[sqlx::test]
async fn it_stays_silent_until_trained_and_a_commenter_cannot_train_it(pool: PgPool) {
    let app = app(&pool);
    let post = a_post(&pool, "Frost on the leeks").await;
    // Readers' comments, shown at once by the open policy and one caught by the honeypot,
    // teach nothing: only a moderator's decision does.
    for text in SPAMMY.iter().chain(&HAMMY) {
        assert_eq!(
            send_comment(&app, &post, "Someone", text).await.status,
            StatusCode::SEE_OTHER
        );
    }
    let token = form_token::issue(
        &secret(),
        post.0,
        OffsetDateTime::now_utc().unix_timestamp() - 10,
    );
    post_form(
        &app,
        &post.1,
        &[
            ("token", &token),
            ("name", "Bot"),
            ("comment", "casino jackpot from a robot"),
            ("address", "filled in"),
        ],
        &[],
    )
    .await;
    assert_eq!(model(&pool).await, (0, 0));
    let taught: i64 =
        sqlx::query_scalar("select count(*) from comments where spam_taught is not null")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(taught, 0);

    // Taught by a moderator, but less than the 20 of each it waits for: it scores and shows
    // the score, and acts on nothing.
    let moderator = user_session(&app, &pool, "editor").await;
    let other = a_post(&pool, "Winter sowing").await;
    teach(&pool, &app, &moderator, &other).await;
    let pitch = "Claim your casino jackpot bonus and instant winnings today";
    send_comment(&app, &post, "Promo Team", pitch).await;
    let (_, status, reason, score) = stored(&pool, pitch).await;
    assert_eq!((status.as_str(), reason), ("approved", None));
    assert!(score.unwrap() > 0.9);
    let queue = moderator
        .get(&app, "/admin/comments?status=approved")
        .await
        .text();
    assert!(
        queue.contains("shows scores only until 20 of each kind have taught it"),
        "{queue}"
    );
    assert!(queue.contains("spam score 0.9"), "{queue}");
}

#[sqlx::test]
async fn scores_agree_across_processes_and_survive_a_restart(pool: PgPool) {
    // Three routers on one database are three Folio processes: each has its own copy.
    let first = app(&pool);
    let second = app(&pool);
    let moderator = user_session(&first, &pool, "editor").await;
    set_min_training(&pool, 3).await;
    let posts = [
        a_post(&pool, "One").await,
        a_post(&pool, "Two").await,
        a_post(&pool, "Three").await,
        a_post(&pool, "Four").await,
    ];
    // The second process has a copy (empty) before any lesson; it must bring it up to date.
    send_comment(&second, &posts[1], "Early", "An early word about compost").await;
    teach(&pool, &first, &moderator, &posts[0]).await;
    let pitch = "Bonus casino winnings for the garden kale fans, claim today";
    send_comment(&first, &posts[0], "Mixed", pitch).await;
    send_comment(&second, &posts[1], "Mixed", pitch).await;
    let restarted = app(&pool);
    send_comment(&restarted, &posts[2], "Mixed", pitch).await;
    let scores: Vec<f32> =
        sqlx::query_scalar("select spam_score from comments where body_source = $1 order by id")
            .bind(pitch)
            .fetch_all(&pool)
            .await
            .unwrap()
            .into_iter()
            .map(|s: Option<f32>| s.unwrap())
            .collect();
    assert_eq!(scores.len(), 3);
    assert!(
        scores.iter().all(|s| *s == scores[0]),
        "every process gives the same score: {scores:?}"
    );

    // A lesson given through the first process reaches the second's next score at once.
    let ids: Vec<i64> = sqlx::query_scalar("select id from comments where body_source = $1")
        .bind(pitch)
        .fetch_all(&pool)
        .await
        .unwrap();
    moderate(&first, &moderator, "spam", &ids).await;
    send_comment(&second, &posts[3], "Mixed", pitch).await;
    let after: f32 = sqlx::query_scalar(
        "select spam_score from comments where body_source = $1 and post_id = $2",
    )
    .bind(pitch)
    .bind(posts[3].0)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(
        after > scores[0],
        "{after} after the lesson, {} before",
        scores[0]
    );

    // Taking the lesson back through the first process reaches the second too: the tokens only
    // those comments taught are zero again, and the score is what it was.
    moderate(&first, &moderator, "restore", &ids).await;
    let fifth = a_post(&pool, "Five").await;
    send_comment(&second, &fifth, "Mixed", pitch).await;
    assert_eq!(stored(&pool, pitch).await.3, Some(scores[0]));
}

#[sqlx::test]
async fn the_queue_shows_why_sorts_by_score_and_filters_likely_spam(pool: PgPool) {
    let app = app(&pool);
    let moderator = user_session(&app, &pool, "editor").await;
    let post = a_post(&pool, "Frost on the leeks").await;
    // Untaught, every score is a guess near 0.50: the queue calls nothing likely spam.
    let untaught = moderator
        .get(&app, "/admin/comments?status=pending&view=likely")
        .await
        .text();
    assert!(
        untaught.contains("Likely spam: shown once the filter has learned")
            && untaught.contains("it shows scores only until 20 of each kind have taught it"),
        "{untaught}"
    );
    teach(&pool, &app, &moderator, &post).await;
    crate::common::set_comment_settings(&pool, "moderated", 14, "").await;
    let other = a_post(&pool, "Winter sowing").await;
    let pitch = "Claim your casino jackpot bonus and instant winnings today";
    let kind = "The kale in my garden survived the frost, thanks to straw";
    send_comment(&app, &other, "Neighbour", kind).await;
    send_comment(&app, &other, "Promo Team", pitch).await;

    let queue = moderator.get(&app, "/admin/comments?status=pending").await;
    let text = queue.text();
    assert!(
        text.contains("Why: “") && text.contains("“casino"),
        "{text}"
    );
    assert!(text.contains("(spam)") && text.contains("(good)"), "{text}");

    let by_score = moderator
        .get(&app, "/admin/comments?status=pending&view=score")
        .await
        .text();
    let first = by_score.find("Promo Team").unwrap();
    let second = by_score.find("Neighbour").unwrap();
    assert!(first < second, "highest score first");
    let newest = moderator
        .get(&app, "/admin/comments?status=pending")
        .await
        .text();
    assert!(newest.find("Promo Team").unwrap() < newest.find("Neighbour").unwrap());

    // Six of each is enough for this blog: now it may call a comment likely spam.
    set_min_training(&pool, 3).await;
    let likely = moderator
        .get(&app, "/admin/comments?status=pending&view=likely")
        .await
        .text();
    assert!(
        likely.contains("Promo Team") && !likely.contains(kind),
        "{likely}"
    );
    assert!(
        likely.contains("Likely spam (1, score 0.30 or more)"),
        "{likely}"
    );
}

#[sqlx::test]
async fn an_edited_comment_teaches_from_its_new_text(pool: PgPool) {
    let app = app(&pool);
    let moderator = user_session(&app, &pool, "editor").await;
    let post = a_post(&pool, "Frost on the leeks").await;
    let (spam, _) = teach(&pool, &app, &moderator, &post).await;
    assert_eq!(token_counts(&pool, "casino").await.0, 6);
    let page = moderator
        .post(
            &app,
            &format!("/admin/comments/{}/edit", spam[0]),
            &[("text", "Roulette tables and poker chips, all rebated")],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(token_counts(&pool, "casino").await.0, 5);
    assert_eq!(token_counts(&pool, "roulette").await.0, 1);
    assert_eq!(model(&pool).await, (6, 6));
}

#[sqlx::test]
async fn an_imported_blogs_decisions_teach_it_once(pool: PgPool) {
    let approved = "<wp:comment_approved><![CDATA[1]]></wp:comment_approved>";
    let file = include_str!("fixtures/import/wordpress.xml").replacen(
        approved,
        "<wp:comment_approved><![CDATA[spam]]></wp:comment_approved>",
        1,
    );
    let run = |text: String| {
        let pool = pool.clone();
        async move {
            import::run(
                &pool,
                import::Format::Wxr,
                Cursor::new(text.into_bytes()),
                Arc::new(AtomicU64::new(0)),
            )
            .await
            .unwrap()
        }
    };
    run(file.clone()).await;
    let counts: (i64, i64) = sqlx::query_as(
        "select count(*) filter (where status = 'spam'), count(*) filter (where status = 'approved')
         from comments",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(counts.0, 1);
    assert!(counts.1 >= 3);
    assert_eq!(model(&pool).await, (1, counts.1 as i32));
    // The same file again teaches nothing twice...
    run(file.clone()).await;
    assert_eq!(model(&pool).await, (1, counts.1 as i32));
    // ...and a file that now calls the comment good moves its lesson.
    let original = include_str!("fixtures/import/wordpress.xml");
    run(original.to_owned()).await;
    assert_eq!(model(&pool).await, (0, counts.1 as i32 + 1));
    // A file that rewrites a taught comment's text: the old text is unlearned, the new taught.
    assert_eq!(token_counts(&pool, "brass").await.1, 1);
    run(original.replace(
        "Lovely work on the brass!",
        "Lovely work on the copper kettle!",
    ))
    .await;
    assert_eq!(token_counts(&pool, "brass").await.1, 0);
    assert_eq!(token_counts(&pool, "kettle").await.1, 1);
    assert_eq!(model(&pool).await, (0, counts.1 as i32 + 1));

    // Retraining from the comments gives the same model, token for token.
    let before = learned(&pool).await;
    let mut tx = pool.begin().await.unwrap();
    let rebuilt = folio::spam::train::rebuild(&mut tx, false).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(learned(&pool).await, before);
    assert_eq!(rebuilt.stats.tokens, before.len() as i64);
}

#[sqlx::test]
async fn thresholds_are_checked_and_kept_as_typed(pool: PgPool) {
    let app = app(&pool);
    let admin = user_session(&app, &pool, "admin").await;
    let settings = admin.get(&app, "/admin/settings").await;
    assert_eq!(settings.field("spam_hold_at").as_deref(), Some("0.30"));
    assert_eq!(settings.field("spam_junk_at").as_deref(), Some("0.90"));
    let page = admin
        .post(
            &app,
            "/admin/settings",
            &[
                ("title", "Folio"),
                ("timezone", "UTC"),
                ("posts_per_page", "10"),
                ("comment_policy", "open"),
                ("moderate_after_days", "14"),
                ("spam_hold_at", "0.95"),
                ("spam_junk_at", "0.9"),
                ("spam_min_training", "many"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    let text = page.text();
    assert!(
        text.contains("Hold at a score no higher than the one that marks a comment as spam"),
        "{text}"
    );
    assert!(text.contains("Enter a number of comments, 0 or more"));
    assert_eq!(page.field("spam_hold_at").as_deref(), Some("0.95"));
    assert_eq!(page.field("spam_min_training").as_deref(), Some("many"));
    let page = admin
        .post(
            &app,
            "/admin/settings",
            &[
                ("title", "Folio"),
                ("timezone", "UTC"),
                ("posts_per_page", "10"),
                ("comment_policy", "open"),
                ("moderate_after_days", "14"),
                ("spam_hold_at", "0,6"),
                ("spam_junk_at", "0.97"),
                ("spam_min_training", "5"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let row: (i32, i32, i32) =
        sqlx::query_as("select spam_hold_at, spam_junk_at, spam_min_training from settings")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(row, (60, 97, 5));
}

fn folio(pool: &PgPool, args: &[&str]) -> String {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_folio"))
        .args(args)
        .env(
            "DATABASE_URL",
            crate::common::database_url(&pool.connect_options()),
        )
        .output()
        .expect("the folio binary runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[sqlx::test]
async fn a_blog_from_before_the_filter_starts_it_from_the_command_line(pool: PgPool) {
    let post = a_post(&pool, "Frost on the leeks").await;
    let at = OffsetDateTime::now_utc() - Duration::days(1);
    for (i, text) in HAMMY.iter().enumerate() {
        crate::common::add_reply(
            &pool,
            post.0,
            None,
            &format!("Reader {i}"),
            text,
            "approved",
            at,
        )
        .await;
    }
    for text in SPAMMY {
        crate::common::add_comment(&pool, post.0, "Promo Team", text, "spam", at).await;
    }
    let status = folio(&pool, &["spam", "status"]);
    assert!(
        status.contains("learned from 0 spam and 0 good comments"),
        "{status}"
    );
    assert!(status.contains("shows scores only until 20"), "{status}");

    let edited = || async {
        sqlx::query_scalar::<_, OffsetDateTime>("select max(updated_at) from comments")
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    let edited_before = edited().await;
    let retrained = folio(&pool, &["spam", "retrain", "--from-status"]);
    assert_eq!(
        edited().await,
        edited_before,
        "teaching is no edit: feeds and exports keep their dates"
    );
    assert!(
        retrained.contains("12 comments now teach the filter what their status says"),
        "{retrained}"
    );
    assert!(
        retrained.contains("learned from 6 spam and 6 good comments"),
        "{retrained}"
    );
    assert_eq!(model(&pool).await, (6, 6));

    // A comment the filter scored and the open policy showed is nobody's decision: a second
    // run leaves it out, and counting again changes nothing.
    let app = app(&pool);
    send_comment(
        &app,
        &post,
        "Visitor",
        "A new word about the leeks and the frost",
    )
    .await;
    let again = folio(&pool, &["spam", "retrain", "--from-status"]);
    assert!(again.contains("0 comments now teach"), "{again}");
    assert_eq!(model(&pool).await, (6, 6));
    let plain = folio(&pool, &["spam", "retrain"]);
    assert!(
        plain.contains("learned from 6 spam and 6 good comments"),
        "{plain}"
    );
}

#[sqlx::test]
async fn importing_the_blogs_own_export_teaches_only_what_moderators_decided(pool: PgPool) {
    let app = app(&pool);
    let moderator = user_session(&app, &pool, "editor").await;
    let post = a_post(&pool, "Frost on the leeks").await;
    teach(&pool, &app, &moderator, &post).await;
    // Shown by the open policy, scored but decided by nobody.
    send_comment(
        &app,
        &post,
        "Visitor",
        "A new word about the leeks and the frost",
    )
    .await;
    assert_eq!(model(&pool).await, (6, 6));

    let before = learned(&pool).await;
    let export = folio(&pool, &["export", "wxr"]);
    let file = std::env::temp_dir().join(format!("folio-spam-export-{}.xml", std::process::id()));
    std::fs::write(&file, export).unwrap();
    folio(&pool, &["import", "wxr", file.to_str().unwrap()]);
    std::fs::remove_file(&file).unwrap();
    assert_eq!(
        model(&pool).await,
        (6, 6),
        "the visitor's comment, now keyed to the file, still teaches nothing"
    );
    assert_eq!(
        learned(&pool).await,
        before,
        "every lesson given back, token for token"
    );
}
