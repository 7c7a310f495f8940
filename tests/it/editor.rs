//! Writing: no silent overwrites, autosaved work offered back, a preview that is the published
//! body, images uploaded from the editor; and the same from a real browser.

use std::time::Duration;

use axum::http::StatusCode;
use fantoccini::{Client, Locator};
use folio::App;
use folio::{
    db::{self, posts::PostChanges},
    domain::post::{BodyFormat, PostKind, PostStatus},
    render::post::body_html,
};
use sqlx::PgPool;
use time::OffsetDateTime;

use crate::admin::{ONE_PIXEL_PNG, multipart_body, send_multipart};
use crate::common::{
    PASSWORD, Page, Session, add_user, app,
    browser::{log_in as browser_log_in, serve, start_browser, type_into, wait_for_text},
    get, log_in,
};

/// Sends the editor form for a new post; returns the new post's id.
async fn write(app: &App, session: &Session, fields: &[(&str, &str)]) -> i64 {
    let page = session.post(app, "/admin/posts", fields).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.text());
    page.header("location")
        .trim_start_matches("/admin/posts/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

fn json(page: &Page) -> serde_json::Value {
    serde_json::from_slice(&page.bytes).unwrap_or_else(|_| panic!("not JSON: {}", page.text()))
}

#[sqlx::test]
async fn two_editors_saving_one_post_see_both_texts_and_nothing_is_lost(pool: PgPool) {
    let app = app(&pool);
    add_user(&pool, "ana@example.test", "Ana Writer", "editor").await;
    let ben_id = add_user(&pool, "ben@example.test", "Ben Writer", "editor").await;
    let ana = log_in(&app, "ana@example.test").await;
    let ben = log_in(&app, "ben@example.test").await;
    let id = write(
        &app,
        &ana,
        &[("title", "Shared draft"), ("body", "The first words.")],
    )
    .await;
    let url = format!("/admin/posts/{id}");
    // Both open the editor: each form carries the version it started from.
    let ana_version = ana.get(&app, &url).await.field("version").unwrap();
    let ben_version = ben.get(&app, &url).await.field("version").unwrap();
    assert_eq!(ana_version, ben_version);

    let saved = ana
        .post(
            &app,
            &url,
            &[
                ("title", "Shared draft"),
                ("body", "Ana's paragraph about rain."),
                ("version", &ana_version),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);

    // Ben saves from the version he opened: nothing is written, both texts are shown.
    let met = ben
        .post(
            &app,
            &url,
            &[
                ("title", "Shared draft, Ben's"),
                ("body", "Ben's paragraph about snow."),
                ("version", &ben_version),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(met.status, StatusCode::CONFLICT);
    let text = met.text();
    assert!(
        text.contains("Ana Writer saved this post at") && text.contains("after you opened it"),
        "{text}"
    );
    assert_eq!(met.texts("#conflict-body"), ["Ana's paragraph about rain."]);
    assert_eq!(
        met.field("body").as_deref(),
        Some("Ben's paragraph about snow.")
    );
    assert_eq!(met.field("title").as_deref(), Some("Shared draft, Ben's"));
    let stored = db::posts::find_editable(&pool, id).await.unwrap().unwrap();
    assert_eq!(stored.body_source, "Ana's paragraph about rain.");
    // Ben's text is kept for him too, should he take Ana's version first.
    let ben_slot = db::autosaves::Slot {
        post_id: Some(id),
        kind: PostKind::Post,
        user_id: ben_id,
    };
    let kept = db::autosaves::find(&pool, ben_slot).await.unwrap().unwrap();
    assert_eq!(kept.text.body_source, "Ben's paragraph about snow.");
    let theirs = ben.get(&app, &url).await;
    assert!(
        theirs.text().contains("You have unsaved changes from"),
        "{}",
        theirs.text()
    );

    // Saving again from the conflict screen is a choice made knowingly: it goes through, and
    // Ana's text stays in the revisions.
    let now_version = met.field("version").unwrap();
    assert_ne!(now_version, ben_version);
    let again = ben
        .post(
            &app,
            &url,
            &[
                ("title", "Shared draft, Ben's"),
                ("body", "Ben's paragraph about snow."),
                ("version", &now_version),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.text());
    let stored = db::posts::find_editable(&pool, id).await.unwrap().unwrap();
    assert_eq!(stored.body_source, "Ben's paragraph about snow.");
    assert_eq!(stored.edited_by.as_deref(), Some("Ben Writer"));
    let revisions = db::posts::revisions(&pool, id).await.unwrap();
    assert!(
        revisions
            .iter()
            .any(|r| r.body_source == "Ana's paragraph about rain."),
        "{revisions:?}"
    );
    // The save emptied Ben's slot: nothing more to offer.
    assert!(
        db::autosaves::find(&pool, ben_slot)
            .await
            .unwrap()
            .is_none()
    );
}

#[sqlx::test]
async fn autosaved_typing_is_offered_back_restored_or_discarded(pool: PgPool) {
    let app = app(&pool);
    add_user(&pool, "ana@example.test", "Ana Writer", "author").await;
    add_user(&pool, "cy@example.test", "Cy Writer", "author").await;
    let ana = log_in(&app, "ana@example.test").await;
    let cy = log_in(&app, "cy@example.test").await;

    // A post not yet saved once: its slot is "new".
    let kept = ana
        .post(
            &app,
            "/admin/posts/new/autosave",
            &[
                ("title", "Half a thought"),
                ("body", "Typed, then the tab closed."),
            ],
        )
        .await;
    assert_eq!(kept.status, StatusCode::OK, "{}", kept.text());
    let answer = json(&kept);
    assert!(answer["saved_at"].as_str().unwrap().contains(':'));
    let fresh = ana.get(&app, "/admin/posts/new").await;
    assert!(fresh.text().contains("You have unsaved changes from"));
    assert_eq!(fresh.field("body").as_deref(), Some(""));
    let restored = ana.get(&app, "/admin/posts/new?restore=autosave").await;
    assert_eq!(
        restored.field("body").as_deref(),
        Some("Typed, then the tab closed.")
    );
    assert_eq!(restored.field("title").as_deref(), Some("Half a thought"));
    // Nobody else is offered Ana's work.
    assert!(
        !cy.get(&app, "/admin/posts/new")
            .await
            .text()
            .contains("unsaved changes")
    );
    // Saving the post empties the slot.
    let id = write(
        &app,
        &ana,
        &[
            ("title", "Half a thought"),
            ("body", "Typed, then the tab closed."),
        ],
    )
    .await;
    assert!(
        !ana.get(&app, "/admin/posts/new")
            .await
            .text()
            .contains("unsaved changes")
    );

    // On a saved post: typing kept, then discarded.
    let url = format!("/admin/posts/{id}");
    let version = ana.get(&app, &url).await.field("version").unwrap();
    let kept = ana
        .post(
            &app,
            &format!("{url}/autosave"),
            &[
                ("title", "Half a thought"),
                ("body", "A better second sentence."),
                ("version", &version),
            ],
        )
        .await;
    assert_eq!(json(&kept)["changed_since"], false);
    let offered = ana.get(&app, &url).await;
    assert!(offered.text().contains("You have unsaved changes from"));
    assert_eq!(
        offered.field("body").as_deref(),
        Some("Typed, then the tab closed."),
        "the saved text until restored"
    );
    assert_eq!(
        ana.get(&app, &format!("{url}?restore=autosave"))
            .await
            .field("body")
            .as_deref(),
        Some("A better second sentence.")
    );
    let discarded = ana
        .post(&app, &format!("{url}/autosave/discard"), &[])
        .await;
    assert_eq!(discarded.status, StatusCode::SEE_OTHER);
    assert!(!ana.get(&app, &url).await.text().contains("unsaved changes"));
    // Another author can neither keep nor discard work on Ana's post.
    let refused = cy
        .post(
            &app,
            &format!("{url}/autosave"),
            &[("title", "x"), ("body", "y")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    // An autosave is never published: the public page does not exist, and no revision was made.
    assert!(db::posts::revisions(&pool, id).await.unwrap().is_empty());
}

#[sqlx::test]
async fn an_autosave_says_when_someone_else_has_saved_since(pool: PgPool) {
    let app = app(&pool);
    add_user(&pool, "ana@example.test", "Ana Writer", "editor").await;
    let ana = log_in(&app, "ana@example.test").await;
    let id = write(&app, &ana, &[("title", "Moving"), ("body", "One.")]).await;
    let url = format!("/admin/posts/{id}");
    let opened = ana.get(&app, &url).await.field("version").unwrap();
    ana.post(
        &app,
        &url,
        &[("title", "Moving"), ("body", "Two."), ("action", "save")],
    )
    .await;
    let kept = ana
        .post(
            &app,
            &format!("{url}/autosave"),
            &[
                ("title", "Moving"),
                ("body", "Three."),
                ("version", &opened),
            ],
        )
        .await;
    assert_eq!(json(&kept)["changed_since"], true);
    // Restoring work begun on the older version and saving it meets the newer save.
    let restored = ana.get(&app, &format!("{url}?restore=autosave")).await;
    assert_eq!(restored.field("version").as_deref(), Some(opened.as_str()));
    let met = ana
        .post(
            &app,
            &url,
            &[
                ("title", "Moving"),
                ("body", "Three."),
                ("version", &opened),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(met.status, StatusCode::CONFLICT);
    assert_eq!(met.texts("#conflict-body"), ["Two."]);
}

async fn add_imported_html_post(pool: &PgPool, html: &str) -> (i64, String) {
    let author = crate::common::author(pool).await;
    let path = "/2019/04/kept-from-blogger.html".to_owned();
    let id = db::posts::create(
        pool,
        &PostChanges {
            kind: PostKind::Post,
            path: path.clone(),
            slug: "kept-from-blogger".into(),
            title: "Kept from Blogger".into(),
            body_source: html.into(),
            body_format: BodyFormat::Html,
            body_html: body_html(html, BodyFormat::Html, &Default::default()),
            excerpt: String::new(),
            status: PostStatus::Published,
            published_at: Some(OffsetDateTime::now_utc() - time::Duration::days(30)),
            comment_policy: None,
            featured_image: String::new(),
            labels: Vec::new(),
        },
        author,
    )
    .await
    .unwrap()
    .unwrap();
    (id, path)
}

/// The published page's body, exactly as the page holds it.
fn published_body(page: &Page) -> String {
    let start = "<div class=\"post-body e-content\">\n";
    let from = page.body.find(start).expect("a post body") + start.len();
    let to = from + page.body[from..].find("\n</div>").unwrap();
    page.body[from..to].to_owned()
}

#[sqlx::test]
async fn the_preview_is_byte_for_byte_the_published_body(pool: PgPool) {
    let app = app(&pool);
    let editor = crate::common::user_session(&app, &pool, "editor").await;

    // An imported HTML post: previewed as HTML, not read as Markdown.
    let html = "<p>Line one<br>with *stars* kept</p>\n<div class=\"separator\"><a href=\"https://example.org/x.jpg\"><img src=\"https://example.org/x.jpg\" alt=\"x\"></a></div>\n<p>4 * 5 = 20_000_</p>";
    let (id, path) = add_imported_html_post(&pool, html).await;
    let rendered = editor
        .post(
            &app,
            "/admin/posts/render",
            &[("post", &id.to_string()), ("body", html)],
        )
        .await;
    assert_eq!(rendered.status, StatusCode::OK);
    let preview = json(&rendered)["html"].as_str().unwrap().to_owned();
    assert!(preview.contains("with *stars* kept"), "{preview}");
    assert_eq!(preview, published_body(&get(&app, &path).await));
    // The whole-page Preview button shows the same.
    let full = editor
        .post(
            &app,
            &format!("/admin/posts/{id}"),
            &[
                ("title", "Kept from Blogger"),
                ("body", html),
                ("action", "preview"),
            ],
        )
        .await;
    assert_eq!(published_body(&full), preview);

    // A Markdown post, written, published, and previewed.
    let markdown = "A *new* post with a [link](https://example.org/).\n\n![A heron](/media/heron.jpg \"The heron at dawn\")\n\n- one\n- two";
    let id = write(
        &app,
        &editor,
        &[
            ("title", "Heron"),
            ("body", markdown),
            ("action", "publish"),
        ],
    )
    .await;
    let rendered = editor
        .post(
            &app,
            "/admin/posts/render",
            &[("post", &id.to_string()), ("body", markdown)],
        )
        .await;
    let answer = json(&rendered);
    let preview = answer["html"].as_str().unwrap();
    assert!(preview.contains("<figcaption>The heron at dawn</figcaption>"));
    let post = db::posts::find_editable(&pool, id).await.unwrap().unwrap();
    assert_eq!(preview, published_body(&get(&app, &post.path).await));
    // "A new post with a link." / the caption / "one two": alt text is not read as words.
    assert_eq!(answer["words"], 12);
    assert_eq!(answer["minutes"], 1);
    // The editor states the count without the script too.
    assert!(
        editor
            .get(&app, &format!("/admin/posts/{id}"))
            .await
            .text()
            .contains("12 words, 1 min read")
    );
}

#[sqlx::test]
async fn the_editor_uploads_an_image_and_lists_the_library_as_json(pool: PgPool) {
    let app = app(&pool);
    let author = crate::common::user_session(&app, &pool, "author").await;
    let form = multipart_body(
        &[("csrf", &author.csrf)],
        ONE_PIXEL_PNG,
        "dot.png",
        "image/png",
    );
    let request = axum::http::Request::post("/admin/media")
        .header("content-type", form.0)
        .header("accept", "application/json")
        .header("cookie", &author.cookie)
        .header("origin", crate::common::BASE_URL)
        .body(axum::body::Body::from(form.1))
        .unwrap();
    let sent = crate::common::send(&app, request).await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.text());
    let url = json(&sent)["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with("/media/") && url.ends_with(".png"), "{url}");
    assert_eq!(get(&app, &url).await.bytes, ONE_PIXEL_PNG);

    let not_image = multipart_body(&[("csrf", &author.csrf)], b"%PDF-1.7", "a.pdf", "image/png");
    let request = axum::http::Request::post("/admin/media")
        .header("content-type", not_image.0)
        .header("accept", "application/json")
        .header("cookie", &author.cookie)
        .header("origin", crate::common::BASE_URL)
        .body(axum::body::Body::from(not_image.1))
        .unwrap();
    let refused = crate::common::send(&app, request).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        json(&refused)["error"],
        "That file is not a JPEG, PNG, GIF or WebP image."
    );
    // Without asking for JSON, the form's page as before.
    let page = send_multipart(
        &app,
        &author,
        "/admin/media",
        multipart_body(
            &[("csrf", &author.csrf)],
            ONE_PIXEL_PNG,
            "dot.png",
            "image/png",
        ),
    )
    .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);

    let library = crate::common::get_with(
        &app,
        "/admin/media",
        &[("cookie", &author.cookie), ("accept", "application/json")],
    )
    .await;
    let files = json(&library);
    assert_eq!(files.as_array().unwrap().len(), 1);
    assert_eq!(files[0]["url"], url.as_str());
}

// ---- In a real browser ----

/// Runs `script` in the page until it returns something other than null (up to 15 s).
async fn wait_for_js(browser: &Client, script: &str) -> serde_json::Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let value = browser.execute(script, vec![]).await.unwrap();
        if !value.is_null() {
            return value;
        }
        assert!(std::time::Instant::now() < deadline, "never true: {script}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Drops two real PNGs on the editor's text at once, as files dragged from the desktop arrive.
const DROP_PNG: &str = r#"
    const bytes = Uint8Array.from(atob(arguments[0]), c => c.charCodeAt(0));
    const data = new DataTransfer();
    data.items.add(new File([bytes], "dot.png", { type: "image/png" }));
    data.items.add(new File([bytes], "second dot.png", { type: "image/png" }));
    const body = document.getElementById("post-body");
    body.focus();
    body.setSelectionRange(body.value.length, body.value.length);
    body.dispatchEvent(new DragEvent("dragover", { dataTransfer: data, bubbles: true, cancelable: true }));
    body.dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true }));
"#;

const PASTE_PNG: &str = r#"
    const bytes = Uint8Array.from(atob(arguments[0]), c => c.charCodeAt(0));
    const file = new File([bytes], "pasted.png", { type: "image/png" });
    const data = new DataTransfer();
    data.items.add(file);
    const body = document.getElementById("post-body");
    body.focus();
    body.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true }));
"#;

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Fills the alt-text dialog and inserts.
async fn describe_image(browser: &Client, alt: &str, caption: &str) {
    let alt_field = browser
        .wait()
        .for_element(Locator::Css("dialog[open] #image-alt"))
        .await
        .expect("the alt text is asked for");
    alt_field.send_keys(alt).await.unwrap();
    browser
        .find(Locator::Css("dialog[open] #image-caption"))
        .await
        .unwrap()
        .send_keys(caption)
        .await
        .unwrap();
    browser
        .find(Locator::Css("dialog[open] button[value=insert]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

async fn body_text(browser: &Client) -> String {
    browser
        .execute("return document.getElementById('post-body').value", vec![])
        .await
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned()
}

#[sqlx::test]
async fn writing_in_chromium_drop_paste_preview_close_and_restore(pool: PgPool) {
    add_user(&pool, "ed@example.test", "Ed Itor", "editor").await;
    let (addr, _) = serve(&pool).await;
    let (_driver, browser) = start_browser().await;
    let base = format!("http://{addr}");
    browser_log_in(&browser, &base, "ed@example.test", PASSWORD).await;

    browser
        .goto(&format!("{base}/admin/posts/new"))
        .await
        .unwrap();
    type_into(&browser, "post-title", "Typed in Chromium").await;
    let body = browser.find(Locator::Id("post-body")).await.unwrap();
    body.send_keys("Morning light on the ").await.unwrap();
    // Ctrl+B around a word typed next
    body.send_keys("\u{E009}b\u{E009}").await.unwrap();
    body.send_keys("frost").await.unwrap();
    let text = body_text(&browser).await;
    assert!(text.starts_with("Morning light on the **frost"), "{text}");
    body.send_keys("\u{E014}\u{E014} today.").await.unwrap();

    // Drop an image: it uploads, the alt text is asked for, the Markdown lands in the text.
    browser
        .execute(DROP_PNG, vec![base64(ONE_PIXEL_PNG).into()])
        .await
        .unwrap();
    describe_image(&browser, "A white dot", "The smallest photo").await;
    // Uploaded one after the other, described one after the other.
    describe_image(&browser, "Another dot", "").await;
    let text = wait_for_js(
        &browser,
        "const v = document.getElementById('post-body').value; return v.includes('![Another dot](/media/') ? v : null",
    )
    .await;
    let text = text.as_str().unwrap().to_owned();
    assert!(
        text.contains("![A white dot](/media/") && text.contains(".png \"The smallest photo\")"),
        "{text}"
    );
    assert!(!text.contains("Uploading"), "{text}");
    // Paste one too.
    browser
        .execute(PASTE_PNG, vec![base64(ONE_PIXEL_PNG).into()])
        .await
        .unwrap();
    describe_image(&browser, "Pasted dot", "").await;
    wait_for_js(
        &browser,
        "return document.getElementById('post-body').value.includes('![Pasted dot](/media/') || null",
    )
    .await;
    // The featured image is chosen from the library.
    browser
        .find(Locator::XPath(
            "//button[normalize-space()='Choose from the library']",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait()
        .for_element(Locator::Css("dialog[open] .library-item"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let featured = browser
        .find(Locator::Id("post-featured-image"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap();
    assert!(
        featured.starts_with("/media/") && featured.ends_with(".png"),
        "{featured}"
    );

    // The live preview shows the figure, rendered by the server.
    let preview = wait_for_js(
        &browser,
        "const p = document.getElementById('live-preview-body').innerHTML; return p.includes('Pasted dot') ? p : null",
    )
    .await;
    assert!(
        preview
            .as_str()
            .unwrap()
            .contains("<figcaption>The smallest photo</figcaption>"),
        "{preview}"
    );
    // Autosaved within a few seconds of typing.
    wait_for_text(&browser, "Unsaved changes kept at").await;
    let typed = body_text(&browser).await;

    // Leaving warns (beforeunload); the tab is closed anyway, then the editor is opened again.
    let warns = browser
        .execute(
            "const e = new Event('beforeunload', { cancelable: true }); window.dispatchEvent(e); return e.defaultPrevented",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(warns, true);
    let handles = browser.windows().await.unwrap();
    browser.new_window(true).await.unwrap();
    browser.close_window().await.unwrap();
    let fresh = browser.windows().await.unwrap();
    let fresh = fresh.iter().find(|h| !handles.contains(h)).unwrap().clone();
    browser.switch_to_window(fresh).await.unwrap();
    browser
        .goto(&format!("{base}/admin/posts/new"))
        .await
        .unwrap();
    wait_for_text(&browser, "You have unsaved changes from").await;
    // Typing before choosing does not replace what is on offer.
    type_into(&browser, "post-body", "x").await;
    browser
        .execute(
            "document.getElementById('post-body').dispatchEvent(new Event('change', { bubbles: true }))",
            vec![],
        )
        .await
        .unwrap();
    wait_for_text(&browser, "Restore or discard your earlier unsaved changes").await;
    browser
        .find(Locator::LinkText("Restore them"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(&browser, "Your unsaved changes are back").await;
    assert_eq!(body_text(&browser).await, typed);

    // Published, the page's body is what the preview showed.
    let preview = wait_for_js(
        &browser,
        "const p = document.getElementById('live-preview-body').innerHTML; return p.includes('Pasted dot') ? p : null",
    )
    .await;
    browser
        .find(Locator::Css("button[value=publish]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(&browser, "Published.").await;
    let path = browser
        .find(Locator::Css("main a[href$='.html']"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    browser.goto(&format!("{base}{path}")).await.unwrap();
    let published = browser
        .execute(
            "return document.querySelector('.post-body').innerHTML.trim()",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        published.as_str().unwrap(),
        preview.as_str().unwrap().trim()
    );
    browser.close().await.unwrap();
}

#[sqlx::test]
async fn two_people_in_two_browsers_saving_one_post_get_the_conflict_screen(pool: PgPool) {
    add_user(&pool, "ana@example.test", "Ana Writer", "editor").await;
    add_user(&pool, "ben@example.test", "Ben Writer", "editor").await;
    let (addr, _) = serve(&pool).await;
    let base = format!("http://{addr}");
    let (_ana_driver, ana) = start_browser().await;
    let (_ben_driver, ben) = start_browser().await;
    browser_log_in(&ana, &base, "ana@example.test", PASSWORD).await;
    browser_log_in(&ben, &base, "ben@example.test", PASSWORD).await;
    ana.goto(&format!("{base}/admin/posts/new")).await.unwrap();
    type_into(&ana, "post-title", "Two people").await;
    type_into(&ana, "post-body", "Opening words.").await;
    ana.find(Locator::Css("button[value=save]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(&ana, "Saved as a draft.").await;
    let editor_url = ana.current_url().await.unwrap();

    // Both have the editor open; Ana saves first (Ctrl+S saves a draft), then Ben.
    ben.goto(editor_url.as_str()).await.unwrap();
    type_into(&ben, "post-body", " Ben's sentence.").await;
    let body = ana.find(Locator::Id("post-body")).await.unwrap();
    body.send_keys(" Ana's sentence.").await.unwrap();
    body.send_keys("\u{E009}s\u{E009}").await.unwrap();
    wait_for_text(&ana, "Saved.").await;
    ben.find(Locator::Css("button[value=save]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let page = wait_for_text(&ben, "Ana Writer saved this post at").await;
    assert!(page.contains("Nothing was overwritten"), "{page}");
    let theirs = ben
        .execute(
            "return document.getElementById('conflict-body').value",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(theirs, "Opening words. Ana's sentence.");
    assert_eq!(body_text(&ben).await, "Opening words. Ben's sentence.");
    // Ben keeps his: saved knowingly, over Ana's (which stays in the revisions).
    ben.find(Locator::Css("button[value=save]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(&ben, "Saved.").await;
    let id: i64 = editor_url
        .path()
        .trim_start_matches("/admin/posts/")
        .parse()
        .unwrap();
    let post = db::posts::find_editable(&pool, id).await.unwrap().unwrap();
    assert_eq!(post.body_source, "Opening words. Ben's sentence.");
    let revisions = db::posts::revisions(&pool, id).await.unwrap();
    assert!(
        revisions
            .iter()
            .any(|r| r.body_source == "Opening words. Ana's sentence.")
    );
    ana.close().await.unwrap();
    ben.close().await.unwrap();
}

#[sqlx::test]
async fn an_imported_html_post_previews_in_chromium_as_it_is_published(pool: PgPool) {
    add_user(&pool, "ed@example.test", "Ed Itor", "editor").await;
    let html = "<p>Kept <b>as</b> HTML, *not* Markdown</p>\n<div class=\"separator\"><img src=\"https://example.org/x.jpg\" alt=\"x\"></div>\n<p>4 * 5 = 20_000_</p>";
    let (id, path) = add_imported_html_post(&pool, html).await;
    let (addr, _) = serve(&pool).await;
    let base = format!("http://{addr}");
    let (_driver, browser) = start_browser().await;
    browser_log_in(&browser, &base, "ed@example.test", PASSWORD).await;
    browser
        .goto(&format!("{base}/admin/posts/{id}"))
        .await
        .unwrap();
    let preview = wait_for_js(
        &browser,
        "const p = document.getElementById('live-preview'); return p.dataset.rendered ? document.getElementById('live-preview-body').innerHTML : null",
    )
    .await;
    assert!(
        preview.as_str().unwrap().contains("*not* Markdown"),
        "{preview}"
    );
    browser.goto(&format!("{base}{path}")).await.unwrap();
    let published = browser
        .execute(
            "return document.querySelector('.post-body').innerHTML.trim()",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        published.as_str().unwrap(),
        preview.as_str().unwrap().trim()
    );
    browser.close().await.unwrap();
}

/// Uploads an image as the editor's script does; returns its address.
async fn upload_json(app: &App, session: &Session, bytes: &[u8], name: &str) -> String {
    let (content_type, body) =
        multipart_body(&[("csrf", &session.csrf)], bytes, name, "image/jpeg");
    let request = axum::http::Request::post("/admin/media")
        .header("content-type", content_type)
        .header("accept", "application/json")
        .header("cookie", &session.cookie)
        .header("origin", crate::common::BASE_URL)
        .body(axum::body::Body::from(body))
        .unwrap();
    let sent = crate::common::send(app, request).await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.text());
    json(&sent)["url"].as_str().unwrap().to_owned()
}

fn holds(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[sqlx::test]
async fn a_phone_photo_loses_its_gps_and_is_served_small_to_phones(pool: PgPool) {
    let app = app(&pool);
    let editor = crate::common::user_session(&app, &pool, "editor").await;
    let photo = folio::media::processing::samples::phone_jpeg(2000, 1000, 1);
    assert!(holds(&photo, b"GPS-SECRET-PLACE"));
    let url = upload_json(&app, &editor, &photo, "IMG_0001.jpg").await;

    let served = get(&app, &url).await;
    assert_eq!(served.header("content-type"), "image/jpeg");
    assert!(
        !holds(&served.bytes, b"GPS-SECRET-PLACE"),
        "the GPS tags are gone"
    );
    assert!(!holds(&served.bytes, b"Exif\0\0"), "and all of the EXIF");
    assert!(served.bytes.len() < photo.len());
    let hash = url
        .trim_start_matches("/media/")
        .trim_end_matches(".jpg")
        .to_owned();
    for width in [480, 960, 1600] {
        let variant = get(&app, &format!("/media/{hash}-{width}.jpg")).await;
        assert_eq!(variant.status, StatusCode::OK, "{width}");
        assert_eq!(variant.header("content-type"), "image/jpeg");
        assert!(!holds(&variant.bytes, b"GPS-SECRET-PLACE"));
        let decoded = image::load_from_memory(&variant.bytes).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (width, width / 2));
        // Named by content, cached for good, and a browser asking again gets a 304.
        let again = crate::common::get_with(
            &app,
            &format!("/media/{hash}-{width}.jpg"),
            &[("if-none-match", variant.header("etag"))],
        )
        .await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    }
    assert_eq!(
        get(&app, &format!("/media/{hash}-2400.jpg")).await.status,
        StatusCode::NOT_FOUND,
        "no copy wider than the original"
    );

    // In a post, the photo carries its size and its copies, and is the post's featured image.
    let body = format!("Before the storm.\n\n![The bay at dusk]({url} \"From the pier\")");
    let id = write(
        &app,
        &editor,
        &[
            ("title", "The bay"),
            ("body", &body),
            ("featured_image", &url),
            ("action", "publish"),
        ],
    )
    .await;
    let post = db::posts::find_editable(&pool, id).await.unwrap().unwrap();
    let page = get(&app, &post.path).await;
    let img = page
        .document()
        .select(&crate::common::selector(".post-body figure img"))
        .next()
        .map(|img| img.value().clone())
        .expect("the photo");
    assert_eq!(img.attr("width"), Some("2000"));
    assert_eq!(img.attr("height"), Some("1000"));
    assert_eq!(img.attr("loading"), Some("lazy"));
    assert_eq!(img.attr("decoding"), Some("async"));
    assert_eq!(
        img.attr("srcset").unwrap(),
        format!(
            "/media/{hash}-480.jpg 480w, /media/{hash}-960.jpg 960w, /media/{hash}-1600.jpg 1600w, {url} 2000w"
        )
    );
    assert!(img.attr("sizes").is_some());
    let absolute = format!("{}{url}", crate::common::BASE_URL);
    assert!(
        page.body.contains(&format!(
            "<meta property=\"og:image\" content=\"{absolute}\">"
        )),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("<meta name=\"twitter:card\" content=\"summary_large_image\">")
    );
    assert!(page.body.contains(&format!("\"image\":\"{absolute}\"")));
    // A feed reader away from the blog gets every copy's full address.
    let feed = get(&app, "/feeds/posts/default").await;
    let feed_text = String::from_utf8_lossy(&feed.bytes).to_string();
    assert!(
        feed_text.contains(&format!(
            "{}/media/{hash}-960.jpg 960w",
            crate::common::BASE_URL
        )),
        "{feed_text}"
    );
    assert!(!feed_text.contains("w, /media/"), "{feed_text}");

    // A featured image must be one of the blog's images or an https address.
    let refused = editor
        .post(
            &app,
            &format!("/admin/posts/{id}"),
            &[
                ("title", "The bay"),
                ("body", &body),
                ("featured_image", "javascript:alert(1)"),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().contains("Choose an image from the library"));
    assert_eq!(refused.field("body").as_deref(), Some(body.as_str()));
}

#[sqlx::test]
async fn the_media_library_is_searched_described_and_pruned_with_care(pool: PgPool) {
    let app = app(&pool);
    let editor = crate::common::user_session(&app, &pool, "editor").await;
    let author = crate::common::user_session(&app, &pool, "author").await;
    let heron = upload_json(
        &app,
        &editor,
        &folio::media::processing::samples::phone_jpeg(600, 300, 1),
        "heron_at_dawn.jpg",
    )
    .await;
    let dot = upload_json(&app, &author, ONE_PIXEL_PNG, "dot.png").await;
    let heron_hash = heron[7..71].to_owned();
    let dot_hash = dot[7..71].to_owned();

    // Alt text kept with the image, found by search, offered to the picker.
    let saved = editor
        .post(
            &app,
            &format!("/admin/media/{heron_hash}/alt"),
            &[("alt", "A grey heron on one leg")],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    let found = editor.get(&app, "/admin/media?q=one+leg").await;
    assert!(
        found.text().contains("heron_at_dawn.jpg"),
        "{}",
        found.text()
    );
    assert!(!found.text().contains("dot.png"));
    assert!(
        editor
            .get(&app, "/admin/media?q=dot")
            .await
            .text()
            .contains("dot.png")
    );
    assert!(
        editor
            .get(&app, "/admin/media?q=50%25")
            .await
            .text()
            .contains("No image matches “50%”")
    );
    let picker = crate::common::get_with(
        &app,
        "/admin/media",
        &[("cookie", &editor.cookie), ("accept", "application/json")],
    )
    .await;
    let files = json(&picker);
    let heron_entry = files
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["url"] == heron.as_str())
        .unwrap();
    assert_eq!(heron_entry["alt"], "A grey heron on one leg");
    assert_eq!(heron_entry["name"], "heron_at_dawn.jpg");
    // An author changes only what they uploaded.
    let refused = author
        .post(
            &app,
            &format!("/admin/media/{heron_hash}/alt"),
            &[("alt", "mine now")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    // Where each image is used, and no deleting it from under a post by accident.
    let id = write(
        &app,
        &editor,
        &[
            ("title", "Herons"),
            ("body", &format!("![A heron]({heron})")),
            ("action", "publish"),
        ],
    )
    .await;
    let library = editor.get(&app, "/admin/media").await;
    assert!(
        library.text().contains("Used in Herons."),
        "{}",
        library.text()
    );
    assert!(
        library
            .links_containing(&format!("/admin/posts/{id}"))
            .len()
            == 1
    );
    assert!(library.text().contains("Not used in any post."));
    let kept = editor
        .post(&app, &format!("/admin/media/{heron_hash}/delete"), &[])
        .await;
    assert_eq!(kept.status, StatusCode::CONFLICT);
    assert!(kept.text().contains("That image is shown by “Herons”"));
    assert_eq!(get(&app, &heron).await.status, StatusCode::OK);
    let gone = editor
        .post(
            &app,
            &format!("/admin/media/{heron_hash}/delete"),
            &[("even_if_used", "yes")],
        )
        .await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER);
    assert_eq!(get(&app, &heron).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        get(&app, &format!("/media/{heron_hash}-480.jpg"))
            .await
            .status,
        StatusCode::NOT_FOUND,
        "its copies go with it"
    );
    // An author may not pull their image out of someone else's post.
    let shown = upload_json(
        &app,
        &author,
        &folio::media::processing::samples::phone_jpeg(64, 32, 1),
        "mine.jpg",
    )
    .await;
    write(
        &app,
        &editor,
        &[
            ("title", "Borrowed"),
            ("body", &format!("![Borrowed]({shown})")),
            ("action", "publish"),
        ],
    )
    .await;
    let refused = author
        .post(
            &app,
            &format!("/admin/media/{}/delete", &shown[7..71]),
            &[("even_if_used", "yes")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(get(&app, &shown).await.status, StatusCode::OK);
    let as_editor = editor
        .post(
            &app,
            &format!("/admin/media/{}/delete", &shown[7..71]),
            &[("even_if_used", "yes")],
        )
        .await;
    assert_eq!(as_editor.status, StatusCode::SEE_OTHER);
    // An unused image goes at once, by its uploader.
    let gone = author
        .post(&app, &format!("/admin/media/{dot_hash}/delete"), &[])
        .await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER);
    assert!(
        editor
            .get(&app, "/admin/media")
            .await
            .text()
            .contains("No images yet.")
    );
}

#[sqlx::test]
async fn images_stored_before_processing_are_stripped_and_sized_after_an_upgrade(pool: PgPool) {
    let app = app(&pool);
    let editor = crate::common::user_session(&app, &pool, "editor").await;
    // As an earlier Folio stored an upload: the bytes as sent, named by their hash, no size.
    let photo = folio::media::processing::samples::phone_jpeg(1200, 800, 1);
    let hash = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    sqlx::query(
        "insert into media (hash, content_type, size_bytes, bytes) values ($1, 'image/jpeg', $2, $3)",
    )
    .bind(hash)
    .bind(photo.len() as i32)
    .bind(&photo)
    .execute(&pool)
    .await
    .unwrap();
    let url = format!("/media/{hash}.jpg");
    let id = write(
        &app,
        &editor,
        &[
            ("title", "Old photo"),
            ("body", &format!("![Old]({url})")),
            ("action", "publish"),
        ],
    )
    .await;
    let path = db::posts::find_editable(&pool, id)
        .await
        .unwrap()
        .unwrap()
        .path;
    assert!(!get(&app, &path).await.body.contains("srcset"));

    assert_eq!(folio::media::backfill::run(&pool).await.unwrap(), 1);
    assert_eq!(
        folio::media::backfill::rerender_bodies(&pool)
            .await
            .unwrap(),
        1
    );
    assert_eq!(folio::media::backfill::run(&pool).await.unwrap(), 0, "once");

    let served = get(&app, &url).await;
    assert_eq!(served.status, StatusCode::OK, "the same address");
    assert!(!holds(&served.bytes, b"GPS-SECRET-PLACE"));
    let page = get(&app, &path).await;
    assert!(
        page.body
            .contains(&format!("/media/{hash}-960.jpg 960w, {url} 1200w")),
        "{}",
        page.body
    );
    assert!(page.body.contains("width=\"1200\" height=\"800\""));
    // Rendering again is not an edit: the editor's version did not move.
    let post = db::posts::find_editable(&pool, id).await.unwrap().unwrap();
    assert_eq!(post.edit_version, 1);
}

#[sqlx::test]
async fn a_deleted_image_is_forgotten_by_every_process(pool: PgPool) {
    // Two Folio processes on one database, each keeping images in memory.
    let (_one_state, one) = crate::common::cached_app(&pool).await;
    let (_two_state, two) = crate::common::cached_app(&pool).await;
    let editor = crate::common::user_session(&one, &pool, "editor").await;
    let url = upload_json(
        &one,
        &editor,
        &folio::media::processing::samples::phone_jpeg(64, 32, 1),
        "gone.jpg",
    )
    .await;
    assert_eq!(
        get(&two, &url).await.status,
        StatusCode::OK,
        "now in the second's memory"
    );
    let deleted = editor
        .post(&one, &format!("/admin/media/{}/delete", &url[7..71]), &[])
        .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    crate::common::eventually(&two, &url, |page| page.status == StatusCode::NOT_FOUND).await;
}
