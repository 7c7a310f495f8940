//! `folio demo`: a living blog for newcomers and benchmarks, written in batches so that
//! 100,000 posts take minutes. All the text is Folio's own, made from the banks below.

use std::{collections::HashMap, time::Instant};

use anyhow::Context;
use sqlx::PgPool;
use time::{Duration, OffsetDateTime};

use crate::{
    config::DemoArgs,
    db::{
        self,
        demo::{CommentBatch, PostBatch},
        posts::PostChanges,
    },
    domain::{
        post::{BodyFormat, PostKind, PostStatus},
        slug::{post_path, slugify},
    },
    render::{
        dates,
        post::{body_html, excerpt},
    },
};

const BATCH: usize = 1_000;

const LABELS: [&str; 10] = [
    "Garden", "Baking", "Cycling", "Walks", "Workshop", "Birds", "Books", "Weather", "Recipes",
    "Notes",
];

/// Subjects by label index.
const SUBJECTS: [&[&str]; 10] = [
    &[
        "the pear tree",
        "runner beans",
        "the compost heap",
        "tomato seedlings",
        "the herb bed",
        "the leeks",
    ],
    &[
        "a rye sourdough",
        "oat crackers",
        "the starter",
        "seeded loaves",
        "a walnut cake",
    ],
    &[
        "the coast road",
        "a slow puncture",
        "new brake pads",
        "the hill past the mill",
        "a wet commute",
    ],
    &[
        "the estuary path",
        "the old railway line",
        "the beech wood",
        "the ridge at dusk",
    ],
    &[
        "a pine bookshelf",
        "sharpened chisels",
        "the garden bench",
        "a box for seeds",
    ],
    &[
        "the wrens",
        "a heron at dawn",
        "the feeder",
        "swallows leaving",
    ],
    &[
        "a borrowed novel",
        "the library sale",
        "a field guide",
        "winter reading",
    ],
    &[
        "a week of fog",
        "the first frost",
        "a dry spell",
        "the equinox gales",
    ],
    &[
        "leek and potato soup",
        "plum chutney",
        "a quick flatbread",
        "bean stew",
    ],
    &[
        "a quiet month",
        "the allotment rota",
        "small routines",
        "a tidy shed",
    ],
];

const TITLE_PATTERNS: [&str; 10] = [
    "Notes on {}",
    "{}, again",
    "What I learned from {}",
    "A week with {}",
    "{} in the rain",
    "Back to {}",
    "Small progress on {}",
    "Finally: {}",
    "Thinking about {}",
    "An afternoon with {}",
];

const OPENINGS: [&str; 8] = [
    "I went out early this morning to look at {}, before the light turned flat.",
    "It has been a while since I wrote about {}, so here is where things stand.",
    "A neighbour asked about {} last week, which reminded me to take notes.",
    "Nothing dramatic happened with {}, and that is worth recording too.",
    "The plan for {} changed twice before lunch, as plans do.",
    "Some days {} takes ten minutes; today it took the whole afternoon.",
    "I keep a notebook by the door, and most of this week's pages are about {}.",
    "Every season I promise myself I will be more patient with {}.",
];

const SENTENCES: [&str; 24] = [
    "The trick, as usual, was to stop fiddling and let it be.",
    "I measured twice and still ended up trimming a little off the end.",
    "A flask of tea made the waiting easier.",
    "The wind came round to the north-east by mid-morning.",
    "There is a lot to be said for doing the same thing slowly, many times.",
    "My grandmother would have laughed at how long this took.",
    "I wrote the numbers down so that next year I can compare.",
    "Half of the work was clearing up after the first half.",
    "It is not perfect, but it is better than last time.",
    "The robin watched the whole thing from the fence post.",
    "I borrowed the idea from an old magazine and changed almost everything.",
    "By the evening the sky had cleared and the air smelled of wet soil.",
    "Small tools, kept sharp, do most of the work.",
    "The radio forecast was wrong again, which was lucky for once.",
    "I will try a shorter version next week and see if it holds up.",
    "There was just enough time before dark to put everything away.",
    "Two mistakes cancelled each other out, which I will take.",
    "A kind stranger pointed out what I had missed.",
    "The best part was the quiet, with only the kettle for company.",
    "I found the missing piece in the pocket of my other coat.",
    "Patience is a skill, and apparently one I am still learning.",
    "The result tasted, looked and felt like something made by hand.",
    "Next time I will start an hour earlier and leave the phone indoors.",
    "None of this needed buying anything new, which pleased me most.",
];

const NAMES: [&str; 16] = [
    "Maple",
    "Tomasz K.",
    "Ingrid",
    "Olu",
    "Bea from next door",
    "Hamish",
    "Priya S.",
    "Jonah",
    "Marguerite",
    "Dev",
    "Wren",
    "Lucía",
    "Kofi",
    "Agnes",
    "Theo",
    "Sunniva",
];

const REPLIES: [&str; 12] = [
    "Lovely write-up, thank you.",
    "I tried something similar last spring and had the same trouble.",
    "Do you have a tip for doing this in a small space?",
    "This made me smile on a grey morning.",
    "We did the *exact* same thing last year!",
    "How long did the whole thing take you in the end?",
    "Good to see an update. Keep them coming.",
    "My father swore by the slow way too.",
    "The photos in my head from this are very vivid.",
    "I would love a follow-up in a month.",
    "Thanks for the reminder to be patient.",
    "Saving this for the weekend.",
];

/// Deterministic pseudo-random numbers (SplitMix64): the same seed writes the same blog.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// One demo post's text: a title, a Markdown body and its labels (as indexes into LABELS).
fn write_post(rng: &mut Rng) -> (String, String, Vec<usize>) {
    let main = rng.below(LABELS.len());
    let subject = rng.pick(SUBJECTS[main]);
    let title = capitalise(&rng.pick(&TITLE_PATTERNS).replace("{}", subject));
    let mut body = String::new();
    body.push_str(&rng.pick(&OPENINGS).replace("{}", subject));
    for _ in 0..2 + rng.below(3) {
        body.push(' ');
        body.push_str(rng.pick(&SENTENCES));
    }
    for paragraph in 0..1 + rng.below(3) {
        body.push_str("\n\n");
        if paragraph == 1 && rng.below(3) == 0 {
            body.push_str("What went into it:\n\n");
            for _ in 0..3 {
                body.push_str("- ");
                body.push_str(rng.pick(&SENTENCES));
                body.push('\n');
            }
            continue;
        }
        if rng.below(5) == 0 {
            body.push_str("> ");
        }
        for sentence in 0..3 + rng.below(3) {
            if sentence > 0 {
                body.push(' ');
            }
            let s = rng.pick(&SENTENCES);
            if sentence == 1 && rng.below(4) == 0 {
                body.push('*');
                body.push_str(s.trim_end_matches('.'));
                body.push_str("*.");
            } else {
                body.push_str(s);
            }
        }
    }
    let mut labels = vec![main];
    let second = rng.below(LABELS.len());
    if second != main {
        labels.push(second);
    }
    (title, body, labels)
}

pub async fn run(db: &PgPool, args: &DemoArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let blog = prepare_blog(db).await?;
    let mut rng = Rng(args.seed);
    // Whole seconds: demo times read like ones people type.
    let now = OffsetDateTime::now_utc().replace_nanosecond(0)?;
    let years = if args.posts < 1_000 { 3 } else { 5 };
    let timeline = Timeline {
        newest: now - Duration::hours(1),
        step: Duration::days(365 * years) / args.posts.max(1),
    };
    let mut seen_paths: HashMap<String, u32> = HashMap::new();
    let (mut written, mut skipped, mut comments_written) = (0usize, 0usize, 0u64);

    let total = args.posts as usize;
    let mut index = 0usize;
    while index < total {
        let count = BATCH.min(total - index);
        let (batch, batch_labels) = post_batch(
            &mut rng,
            index..index + count,
            &timeline,
            &blog.tz,
            &mut seen_paths,
        );
        let inserted = db::demo::insert_posts(db, &batch, blog.author)
            .await
            .context("inserting demo posts")?;
        skipped += count - inserted.len();
        written += inserted.len();

        let (mut post_ids, mut label_refs) = (Vec::new(), Vec::new());
        for (post_id, path) in &inserted {
            for &l in batch_labels.get(path).into_iter().flatten() {
                post_ids.push(*post_id);
                label_refs.push(blog.label_ids[LABELS[l]]);
            }
        }
        let comments = comment_batch(&mut rng, &inserted, &batch, args.comments, now);
        db::demo::insert_post_labels(db, &post_ids, &label_refs).await?;
        if !comments.is_empty() {
            comments_written += db::demo::insert_comments(db, &comments).await?;
        }
        index += count;
        eprintln!("folio demo: {index}/{total} posts");
    }
    db::demo::vacuum_analyze(db).await?;
    println!(
        "folio demo: wrote {written} posts ({skipped} already there), {comments_written} comments \
         and {} labels in {:.1}s",
        LABELS.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The blog the demo writes into: its zone, the demo author and the labels' ids.
struct DemoBlog {
    tz: dates::TimeZone,
    author: i64,
    label_ids: HashMap<String, i64>,
}

/// Names a blog still called "Folio", and makes the author, the labels and the About page.
async fn prepare_blog(db: &PgPool) -> anyhow::Result<DemoBlog> {
    let settings = db::settings::load(db).await?;
    if settings.title == "Folio" && settings.description.is_empty() {
        db::settings::update_basics(
            db,
            "Saltmarsh Lane",
            "Notes from a small garden, a bread oven and a bicycle",
            &settings.timezone,
        )
        .await?;
    }
    let author =
        db::users::upsert_without_login(db, "rowan@demo.folio.invalid", "Rowan Ashby", "author")
            .await?;
    let labels: Vec<String> = LABELS.iter().map(|l| (*l).to_owned()).collect();
    let label_ids: HashMap<String, i64> = db::labels::ensure(db, &labels)
        .await?
        .into_iter()
        .map(|(id, name)| (name, id))
        .collect();
    write_about_page(db, author).await?;
    Ok(DemoBlog {
        tz: settings.time_zone(),
        author,
        label_ids,
    })
}

/// When the posts appear: one every `step`, back from `newest`.
struct Timeline {
    newest: OffsetDateTime,
    step: Duration,
}

/// The posts numbered `range` (newest first), with each one's labels by its path; a title met
/// again in the same month gets a numbered path.
fn post_batch(
    rng: &mut Rng,
    range: std::ops::Range<usize>,
    timeline: &Timeline,
    tz: &dates::TimeZone,
    seen_paths: &mut HashMap<String, u32>,
) -> (PostBatch, HashMap<String, Vec<usize>>) {
    let mut batch = PostBatch::default();
    let mut batch_labels: HashMap<String, Vec<usize>> = HashMap::new();
    for i in range {
        let (title, body, post_labels) = write_post(rng);
        let jitter = Duration::seconds((rng.next() % 3_600) as i64);
        let published =
            timeline.newest - timeline.step * (i as u32) - jitter.min(timeline.step / 2);
        let local = dates::zoned(published, tz);
        let slug = slugify(&title);
        let mut path = post_path(local.year(), local.month(), &slug);
        let n = seen_paths.entry(path.clone()).or_insert(0);
        *n += 1;
        if *n > 1 {
            path = post_path(local.year(), local.month(), &format!("{slug}-{n}"));
        }
        let html = body_html(&body, BodyFormat::Markdown, &Default::default());
        batch
            .excerpts
            .push(excerpt(&body, BodyFormat::Markdown, &html));
        batch.htmls.push(html);
        batch.sources.push(body);
        batch.titles.push(title);
        batch.slugs.push(slug);
        batch.published.push(published);
        batch_labels.insert(path.clone(), post_labels);
        batch.paths.push(path);
    }
    (batch, batch_labels)
}

/// `per_post` comments on each post inserted, in the hours after it appeared (never after now).
fn comment_batch(
    rng: &mut Rng,
    inserted: &[(i64, String)],
    batch: &PostBatch,
    per_post: u32,
    now: OffsetDateTime,
) -> CommentBatch {
    let mut comments = CommentBatch::default();
    for (post_id, path) in inserted {
        let position = batch.paths.iter().position(|p| p == path).unwrap_or(0);
        let published = batch.published[position];
        for c in 0..per_post {
            let minutes = 20 + (rng.next() % 600) as i64 + i64::from(c) * 90;
            let created = (published + Duration::minutes(minutes)).min(now);
            let name = rng.pick(&NAMES);
            let mut text = rng.pick(&REPLIES).to_owned();
            if rng.below(2) == 0 {
                text.push(' ');
                text.push_str(rng.pick(&SENTENCES));
            }
            comments.post_ids.push(*post_id);
            comments.urls.push(if rng.below(5) == 0 {
                format!("https://example.org/{}", slugify(name))
            } else {
                String::new()
            });
            comments.names.push(name.to_owned());
            comments.htmls.push(crate::render::comment::to_html(&text));
            comments.sources.push(text);
            comments.created.push(created);
        }
    }
    comments
}

async fn write_about_page(db: &PgPool, author: i64) -> anyhow::Result<()> {
    if db::posts::find_by_path(db, "/p/about.html")
        .await?
        .is_some()
    {
        return Ok(());
    }
    let source = "This is a demo blog written by `folio demo`. Its posts are made up from a \
                  small bank of sentences about gardens, bread and bicycles.\n\n\
                  Log in to the admin area to write your own, or delete this page.";
    let html = body_html(source, BodyFormat::Markdown, &Default::default());
    // A draft About page at that path is the editor's own: it is left alone.
    let _path_taken = db::posts::create(
        db,
        &PostChanges {
            kind: PostKind::Page,
            path: "/p/about.html".to_owned(),
            slug: "about".to_owned(),
            title: "About".to_owned(),
            body_format: BodyFormat::Markdown,
            body_source: source.to_owned(),
            excerpt: excerpt(source, BodyFormat::Markdown, &html),
            body_html: html,
            status: PostStatus::Published,
            published_at: Some(OffsetDateTime::now_utc() - Duration::days(400)),
            comment_policy: None,
            featured_image: String::new(),
            labels: Vec::new(),
        },
        author,
    )
    .await?;
    Ok(())
}
