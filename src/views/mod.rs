//! One askama struct per page, and the small view models they are built from.
//! Views turn database rows into display text; they do no I/O.

pub mod admin;
pub mod feeds;
pub mod public;

use percent_encoding::{AsciiSet, utf8_percent_encode};

use crate::{
    config::Config,
    db::{
        appearance::{PageLink, PopularPost, RecentComment},
        comments::CommentRow,
        labels::LabelCount,
        posts::{MonthCount, PostRow},
        settings::Settings,
    },
    domain::{
        FormErrors,
        comment::CommentStatus,
        theme::{ArchiveStyle, Gadget, GadgetKind, GadgetOptions, LabelsOrder, LabelsStyle, Link},
    },
    render::assets,
    render::dates,
    state::Look,
};

/// Everything `base.html` needs.
#[derive(Debug, Clone)]
pub struct Layout {
    pub blog_title: String,
    pub blog_description: String,
    /// The document title, e.g. "Post title - Blog title"
    pub page_title: String,
    pub meta_description: String,
    pub canonical: Option<String>,
    pub css_url: &'static str,
    pub icon_url: String,
    pub noindex: bool,
    /// `<link rel="alternate">` feeds of this page.
    pub feeds: Vec<FeedLink>,
    /// OpenGraph type: `website`, or `article` on a post.
    pub og_type: &'static str,
    /// Absolute URL of the page for OpenGraph (the canonical one).
    pub og_url: Option<String>,
    /// JSON-LD for a post, already escaped for a `<script>` element.
    pub json_ld: Option<String>,
    /// Absolute URL of the post's featured image, for link previews.
    pub og_image: Option<String>,
    /// The blog sends mail: the sidebar offers "Follow by email".
    pub follow_by_email: bool,
    /// The blog is a fediverse account: a post links its ActivityPub face.
    pub fediverse: bool,
    /// The blog's fediverse handle, while it federates: the sidebar's "Follow on the fediverse".
    pub fediverse_handle: Option<String>,
    /// The Webmention endpoint, while Webmention is on.
    pub webmention: Option<String>,
    /// `<link rel="prev">` and `<link rel="next">`: the neighbouring pages of a paged page.
    pub prev: Option<String>,
    pub next: Option<String>,
    /// `<body>`'s classes: the theme and where the sidebar goes.
    pub body_class: String,
    /// The blog's generated stylesheet (theme settings and custom CSS).
    pub site_css_url: Option<String>,
    pub icon_type: Option<&'static str>,
    pub logo: String,
    pub header_image: String,
    pub navigation: Vec<NavItem>,
    /// Listings show posts as cards with their featured images (Magazine).
    pub cards: bool,
    /// The theme page's preview: a banner says nothing is saved.
    pub preview: bool,
}

/// A link of the navigation bar; `current` on the page it points to.
#[derive(Debug, Clone)]
pub struct NavItem {
    pub label: String,
    pub url: String,
    pub current: bool,
}

/// The `type` of a favicon's `<link>`, from its address.
fn icon_type(url: &str) -> Option<&'static str> {
    let path = url.split(['?', '#']).next().unwrap_or_default();
    let extension = path.rsplit_once('.')?.1.to_ascii_lowercase();
    match extension.as_str() {
        // Icons the media library does not take, linked by their https address.
        "svg" => Some("image/svg+xml"),
        "ico" => Some("image/x-icon"),
        "jpeg" => Some("image/jpeg"),
        other => crate::domain::image::ImageKind::from_extension(other)
            .map(crate::domain::image::ImageKind::content_type),
    }
}

#[derive(Debug, Clone)]
pub struct FeedLink {
    pub title: String,
    pub url: String,
    pub content_type: &'static str,
}

impl Layout {
    pub fn new(
        settings: &Settings,
        config: &Config,
        page: Option<&str>,
        path: Option<&str>,
    ) -> Self {
        let page_title = match page {
            Some(page) => format!("{page} - {}", settings.title),
            None => settings.title.clone(),
        };
        Self {
            blog_title: settings.title.clone(),
            blog_description: settings.description.clone(),
            page_title,
            meta_description: settings.description.clone(),
            canonical: path.map(|p| format!("{}{p}", config.base_url)),
            css_url: assets::url("folio.css"),
            icon_url: assets::url("favicon.svg").to_owned(),
            noindex: false,
            follow_by_email: config.mail.is_some(),
            fediverse: settings.fediverse_enabled,
            fediverse_handle: settings.fediverse_enabled.then(|| {
                let host = crate::federation::actors::domain_of(&config.base_url);
                format!("@{}@{}", settings.fediverse_name, host.unwrap_or_default())
            }),
            webmention: settings
                .webmention_enabled
                .then(|| format!("{}/webmention", config.base_url)),
            prev: None,
            next: None,
            feeds: vec![
                FeedLink {
                    title: format!("{} - Atom", settings.title),
                    url: format!("{}/feeds/posts/default", config.base_url),
                    content_type: "application/atom+xml",
                },
                FeedLink {
                    title: format!("{} - RSS", settings.title),
                    url: format!("{}/feeds/posts/default?alt=rss", config.base_url),
                    content_type: "application/rss+xml",
                },
            ],
            og_type: "website",
            og_url: path.map(|p| format!("{}{p}", config.base_url)),
            json_ld: None,
            og_image: None,
            body_class: "theme-classic sidebar-right".to_owned(),
            site_css_url: None,
            icon_type: Some("image/svg+xml"),
            logo: String::new(),
            header_image: String::new(),
            navigation: Vec::new(),
            cards: false,
            preview: false,
        }
    }

    /// Puts the page in the blog's look; `here` (the page's path) marks its navigation link.
    pub fn dress(&mut self, look: &Look, here: &str) {
        let appearance = &look.appearance;
        self.body_class = format!(
            "theme-{} sidebar-{}",
            appearance.theme.slug(),
            appearance.sidebar.slug()
        );
        self.site_css_url = Some(look.stylesheet.url.clone());
        if !appearance.favicon.is_empty() {
            self.icon_url = appearance.favicon.clone();
            self.icon_type = icon_type(&appearance.favicon);
        }
        self.logo.clone_from(&appearance.logo);
        self.header_image.clone_from(&appearance.header_image);
        self.navigation = appearance
            .navigation
            .iter()
            .map(|link| NavItem {
                label: link.label.clone(),
                url: link.url.clone(),
                current: link.url == here,
            })
            .collect();
        self.cards = appearance.theme.cards();
    }

    /// Marks the page as a blog post for search engines and link previews.
    pub fn for_post(&mut self, config: &Config, post: &PostRow, description: &str) {
        self.og_type = "article";
        self.feeds.push(FeedLink {
            title: format!("{} - comments on {}", self.blog_title, post.title),
            url: format!("{}/feeds/{}/comments/default", config.base_url, post.id),
            content_type: "application/atom+xml",
        });
        let url = format!("{}{}", config.base_url, post.path);
        if self.fediverse {
            self.feeds.push(FeedLink {
                title: post.title.clone(),
                url: url.clone(),
                content_type: "application/activity+json",
            });
        }
        let published = dates::utc_rfc3339(post.published_at);
        let mut json = serde_json::json!({
            "@context": "https://schema.org",
            "@type": "BlogPosting",
            "headline": post.title,
            "url": url,
            "mainEntityOfPage": url,
            "datePublished": published,
            "description": description,
            "keywords": post.labels.join(", "),
            "publisher": { "@type": "Organization", "name": self.blog_title },
        });
        if let Some(author) = &post.author_name {
            json["author"] = serde_json::json!({ "@type": "Person", "name": author });
        }
        if !post.featured_image.is_empty() {
            let image = if post.featured_image.starts_with('/') {
                format!("{}{}", config.base_url, post.featured_image)
            } else {
                post.featured_image.clone()
            };
            json["image"] = serde_json::json!(image);
            self.og_image = Some(image);
        }
        // `</script>` inside a string must not end the element.
        self.json_ld = Some(json.to_string().replace('<', "\\u003c"));
    }
}

pub fn label_url(name: &str) -> String {
    crate::render::post::label_path(name)
}

/// Characters kept as they are in a query-string value; `+` is not (it would read as a space).
const QUERY_VALUE: &AsciiSet = &crate::render::post::PATH_SEGMENT.remove(b':');

/// Encodes a query-string value, e.g. a time with its offset.
pub fn query_value(value: &str) -> String {
    utf8_percent_encode(value, QUERY_VALUE).to_string()
}

#[derive(Debug, Clone)]
pub struct LabelLink {
    pub name: String,
    pub url: String,
    pub count: i64,
    /// Its size in a label cloud, 1 to 5.
    pub size: u8,
}

#[derive(Debug, Clone)]
pub struct ArchiveMonth {
    pub name: &'static str,
    pub year: i32,
    pub url: String,
    pub count: i64,
}

#[derive(Debug, Clone)]
pub struct ArchiveYear {
    pub year: i32,
    pub url: String,
    pub count: i64,
    pub open: bool,
    pub months: Vec<ArchiveMonth>,
}

/// A gadget as the sidebar shows it, with what it lists already read.
#[derive(Debug, Clone)]
pub enum GadgetView {
    Search {
        title: String,
    },
    Profile {
        title: String,
        name: String,
        picture: String,
        /// The bio's paragraphs (plain text, escaped by the template).
        bio: Vec<String>,
    },
    Pages {
        title: String,
        pages: Vec<Link>,
    },
    Links {
        title: String,
        links: Vec<Link>,
    },
    Popular {
        title: String,
        posts: Vec<Link>,
    },
    Archive {
        title: String,
        flat: bool,
        years: Vec<ArchiveYear>,
    },
    Labels {
        title: String,
        cloud: bool,
        labels: Vec<LabelLink>,
    },
    RecentComments {
        title: String,
        comments: Vec<RecentCommentView>,
    },
    Feeds {
        title: String,
    },
    Follow {
        title: String,
    },
    Text {
        title: String,
        /// Sanitized by the rules posts are (`state::Look`).
        html: String,
    },
}

/// The characters of a comment the Recent comments gadget shows.
const RECENT_COMMENT_CHARS: usize = 90;

#[derive(Debug, Clone)]
pub struct RecentCommentView {
    pub author: String,
    pub post_title: String,
    pub url: String,
    pub excerpt: String,
}

/// The sidebar on every public page: the gadgets the admin switched on, in their order.
#[derive(Debug, Clone, Default)]
pub struct Sidebar {
    pub gadgets: Vec<GadgetView>,
    /// Some post is published (the archive has a month).
    pub has_posts: bool,
    /// Popular posts or recent comments are shown: a page showing them is kept until then.
    pub fresh_until: Option<time::OffsetDateTime>,
}

/// What the gadgets list, read by the handler (cached in `state`).
pub struct GadgetData<'a> {
    pub months: &'a [MonthCount],
    pub labels: &'a [LabelCount],
    pub pages: &'a [crate::db::appearance::PageLink],
    pub popular: &'a [crate::db::appearance::PopularPost],
    pub recent_comments: &'a [crate::db::appearance::RecentComment],
    /// The blog sends mail, so "Follow by email" can work.
    pub mail_on: bool,
}

impl Sidebar {
    /// `open_year` is expanded in the archive (the year being read); by default the newest one.
    pub fn new(look: &Look, data: &GadgetData<'_>, open_year: Option<i32>) -> Self {
        let appearance = &look.appearance;
        let gadgets = appearance
            .shown_gadgets()
            .filter_map(|gadget| gadget_view(gadget, look, data, open_year))
            .collect();
        let lively = appearance.shows(GadgetKind::PopularPosts)
            || appearance.shows(GadgetKind::RecentComments);
        Self {
            gadgets,
            has_posts: !data.months.is_empty(),
            fresh_until: lively
                .then(|| time::OffsetDateTime::now_utc() + crate::state::LIVELY_GADGETS_FOR),
        }
    }
}

/// A switched-on gadget as the sidebar shows it; None when it would have nothing to show.
fn gadget_view(
    gadget: &Gadget,
    look: &Look,
    data: &GadgetData<'_>,
    open_year: Option<i32>,
) -> Option<GadgetView> {
    let options = &look.appearance.options;
    let title = gadget.title().to_owned();
    match gadget.kind {
        GadgetKind::Search => Some(GadgetView::Search { title }),
        GadgetKind::Profile => profile_view(title, options),
        GadgetKind::Pages => (!data.pages.is_empty()).then(|| GadgetView::Pages {
            title,
            pages: page_links(data.pages),
        }),
        GadgetKind::LinkList => (!options.links.is_empty()).then(|| GadgetView::Links {
            title,
            links: options.links.clone(),
        }),
        GadgetKind::PopularPosts => (!data.popular.is_empty()).then(|| GadgetView::Popular {
            title,
            posts: popular_links(data.popular),
        }),
        GadgetKind::BlogArchive => Some(GadgetView::Archive {
            title,
            flat: options.archive_style == ArchiveStyle::Flat,
            years: archive_years(data.months, open_year),
        }),
        GadgetKind::Labels => (!data.labels.is_empty()).then(|| GadgetView::Labels {
            title,
            cloud: options.labels_style == LabelsStyle::Cloud,
            labels: label_links(data.labels, options.labels_order),
        }),
        GadgetKind::RecentComments => {
            (!data.recent_comments.is_empty()).then(|| GadgetView::RecentComments {
                title,
                comments: recent_comment_views(data.recent_comments),
            })
        }
        GadgetKind::FeedLinks => Some(GadgetView::Feeds { title }),
        GadgetKind::FollowByEmail => data.mail_on.then_some(GadgetView::Follow { title }),
        GadgetKind::Text => (!look.text_html.trim().is_empty()).then(|| GadgetView::Text {
            title,
            html: look.text_html.clone(),
        }),
    }
}

/// The profile, unless none of its name, picture or bio is filled in.
fn profile_view(title: String, options: &GadgetOptions) -> Option<GadgetView> {
    let bio: Vec<String> = options
        .profile_bio
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect();
    (!options.profile_name.is_empty() || !options.profile_picture.is_empty() || !bio.is_empty())
        .then(|| GadgetView::Profile {
            title,
            name: options.profile_name.clone(),
            picture: options.profile_picture.clone(),
            bio,
        })
}

fn page_links(pages: &[PageLink]) -> Vec<Link> {
    pages
        .iter()
        .map(|p| Link {
            label: p.title.clone(),
            url: p.path.clone(),
        })
        .collect()
}

fn popular_links(posts: &[PopularPost]) -> Vec<Link> {
    posts
        .iter()
        .map(|p| Link {
            label: p.title.clone(),
            url: p.path.clone(),
        })
        .collect()
}

fn recent_comment_views(comments: &[RecentComment]) -> Vec<RecentCommentView> {
    comments
        .iter()
        .map(|c| RecentCommentView {
            author: c.author_name.clone(),
            post_title: c.post_title.clone(),
            url: format!("/comment/{}", c.id),
            // The start of its text as readers see it (not its Markdown
            // or imported HTML).
            excerpt: crate::render::markdown::cut_at_word(
                &crate::render::sanitize::html_text(&c.body_html),
                RECENT_COMMENT_CHARS,
            ),
        })
        .collect()
}

fn archive_years(months: &[MonthCount], open_year: Option<i32>) -> Vec<ArchiveYear> {
    let mut years: Vec<ArchiveYear> = Vec::new();
    for m in months {
        if years.last().is_none_or(|y| y.year != m.year) {
            years.push(ArchiveYear {
                year: m.year,
                url: format!("/{:04}/", m.year),
                count: 0,
                open: false,
                months: Vec::new(),
            });
        }
        if let Some(year) = years.last_mut() {
            year.count += m.count;
            year.months.push(ArchiveMonth {
                name: dates::month_name(i8::try_from(m.month).unwrap_or(0)),
                year: m.year,
                url: format!("/{:04}/{:02}/", m.year, m.month),
                count: m.count,
            });
        }
    }
    let open = open_year.or(years.first().map(|y| y.year));
    for year in &mut years {
        year.open = Some(year.year) == open;
    }
    years
}

/// Labels by name or by count, each with a size from 1 to 5 for the cloud (by the logarithm of
/// its count, so one busy label does not shrink the rest to nothing).
fn label_links(labels: &[LabelCount], order: LabelsOrder) -> Vec<LabelLink> {
    let most = labels.iter().map(|l| l.count).max().unwrap_or(1).max(1);
    let scale = (most as f64).ln_1p();
    let mut links: Vec<LabelLink> = labels
        .iter()
        .map(|l| {
            let share = if scale > 0.0 {
                (l.count.max(0) as f64).ln_1p() / scale
            } else {
                1.0
            };
            LabelLink {
                name: l.name.clone(),
                url: label_url(&l.name),
                count: l.count,
                // 1..=5 by construction.
                size: 1 + (share * 4.0).round().clamp(0.0, 4.0) as u8,
            }
        })
        .collect();
    if order == LabelsOrder::Count {
        links.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
    }
    links
}

/// A post as a reader sees it in a listing or on its own page.
#[derive(Debug, Clone)]
pub struct PostView {
    pub title: String,
    pub url: String,
    pub date_header: String,
    pub datetime: String,
    pub time_of_day: String,
    pub author: Option<String>,
    pub labels: Vec<LabelLink>,
    pub body_html: String,
    pub comment_count: i64,
    pub local_year: i32,
    /// The summary a Magazine card shows.
    pub excerpt: String,
    pub featured_image: String,
}

impl PostView {
    pub fn new(row: &PostRow, tz: &dates::TimeZone) -> Self {
        let at = dates::zoned(row.published_at, tz);
        Self {
            title: row.title.clone(),
            url: row.path.clone(),
            date_header: dates::date_header(&at),
            datetime: dates::html_datetime(&at),
            time_of_day: dates::time_of_day(&at),
            author: row.author_name.clone(),
            labels: row
                .labels
                .iter()
                .map(|name| LabelLink {
                    name: name.clone(),
                    url: label_url(name),
                    count: 0,
                    size: 1,
                })
                .collect(),
            body_html: row.body_html.clone(),
            comment_count: row.comment_count,
            local_year: i32::from(at.year()),
            excerpt: row.excerpt.clone(),
            featured_image: row.featured_image.clone(),
        }
    }

    /// "No comments:", "1 comment:", "5 comments:" (Blogger's wording).
    pub fn comments_label(&self) -> String {
        match self.comment_count {
            0 => "No comments:".to_owned(),
            1 => "1 comment:".to_owned(),
            n => format!("{n} comments:"),
        }
    }
}

/// Posts published on one local day, under one date header.
#[derive(Debug, Clone)]
pub struct DayGroup {
    pub header: String,
    pub posts: Vec<PostView>,
}

/// Groups posts (already in display order) by their local date.
pub fn group_by_day(rows: &[PostRow], tz: &dates::TimeZone) -> Vec<DayGroup> {
    let mut days: Vec<DayGroup> = Vec::new();
    for row in rows {
        let post = PostView::new(row, tz);
        match days.last_mut() {
            Some(day) if day.header == post.date_header => day.posts.push(post),
            _ => days.push(DayGroup {
                header: post.date_header.clone(),
                posts: vec![post],
            }),
        }
    }
    days
}

#[derive(Debug, Clone)]
pub struct CommentView {
    pub id: i64,
    pub author_name: String,
    pub author_url: Option<String>,
    pub body_html: String,
    pub when: String,
    pub datetime: String,
    /// Held for moderation: shown only to its own author, marked as waiting.
    pub pending: bool,
    pub old_anchor: Option<String>,
    /// A reply from elsewhere, marked as such: "from the fediverse", "via Webmention".
    pub origin: Option<&'static str>,
    pub replies: Vec<CommentView>,
}

impl CommentView {
    pub fn new(row: &CommentRow, tz: &dates::TimeZone) -> Self {
        let at = dates::zoned(row.created_at, tz);
        Self {
            id: row.id,
            author_name: row.author_name.clone(),
            author_url: row.author_url.clone(),
            body_html: row.body_html.clone(),
            when: dates::date_and_time(&at),
            datetime: dates::html_datetime(&at),
            pending: row.status == CommentStatus::Pending,
            old_anchor: row.old_anchor.clone(),
            origin: match row.origin.as_deref() {
                Some("fediverse") => Some("from the fediverse"),
                Some("webmention") => Some("via Webmention"),
                _ => None,
            },
            replies: Vec::new(),
        }
    }
}

/// Nests comments (given oldest first) under their parents, at most `MAX_DEPTH` deep: a reply
/// below that joins its parent's level. A reply whose parent is not shown stands on its own.
pub fn comment_threads(rows: &[CommentRow], tz: &dates::TimeZone) -> Vec<CommentView> {
    use std::collections::HashMap;

    use crate::domain::comment::MAX_DEPTH;

    let mut depth: HashMap<i64, usize> = HashMap::new();
    let mut parent_of: HashMap<i64, Option<i64>> = HashMap::new();
    let mut children: HashMap<Option<i64>, Vec<usize>> = HashMap::new();
    for (index, row) in rows.iter().enumerate() {
        let mut parent = row.parent_id.filter(|p| depth.contains_key(p));
        while let Some(p) = parent {
            if depth[&p] < MAX_DEPTH {
                break;
            }
            parent = parent_of[&p];
        }
        depth.insert(row.id, parent.map_or(1, |p| depth[&p] + 1));
        parent_of.insert(row.id, parent);
        children.entry(parent).or_default().push(index);
    }
    fn build(
        parent: Option<i64>,
        rows: &[CommentRow],
        children: &HashMap<Option<i64>, Vec<usize>>,
        tz: &dates::TimeZone,
    ) -> Vec<CommentView> {
        children
            .get(&parent)
            .into_iter()
            .flatten()
            .map(|&i| {
                let mut view = CommentView::new(&rows[i], tz);
                view.replies = build(Some(rows[i].id), rows, children, tz);
                view
            })
            .collect()
    }
    build(None, rows, &children, tz)
}

/// The links between a post's comment pages (none when there is one page).
#[derive(Debug, Clone, Default)]
pub struct CommentPager {
    pub current: i64,
    pub total: i64,
    pub previous: Option<String>,
    pub next: Option<String>,
    /// Page numbers with their links; `None` stands for a gap ("…").
    pub pages: Vec<Option<(i64, String)>>,
    /// "Newer comments" when the newest come first, else "Older comments", for `previous`.
    pub previous_label: &'static str,
    pub next_label: &'static str,
}

/// The address of comment page `page` of the post at `path` (page 1 is the post's own).
pub fn comment_page_url(path: &str, page: i64) -> String {
    if page <= 1 {
        path.to_owned()
    } else {
        format!("{path}?commentPage={page}")
    }
}

impl CommentPager {
    pub fn new(path: &str, current: i64, total: i64, newest_first: bool) -> Self {
        if total <= 1 {
            return Self {
                current: 1,
                total: 1,
                ..Self::default()
            };
        }
        let url = |page| comment_page_url(path, page);
        // The first and last pages, and two either side of this one.
        let mut pages = Vec::new();
        let mut last_shown = 0;
        for page in 1..=total {
            if page == 1 || page == total || (page - current).abs() <= 2 {
                if page > last_shown + 1 {
                    pages.push(None);
                }
                pages.push(Some((page, url(page))));
                last_shown = page;
            }
        }
        let (previous_label, next_label) = if newest_first {
            ("Newer comments", "Older comments")
        } else {
            ("Earlier comments", "Later comments")
        };
        Self {
            current,
            total,
            previous: (current > 1).then(|| url(current - 1)),
            next: (current < total).then(|| url(current + 1)),
            pages,
            previous_label,
            next_label,
        }
    }
}

/// The "Post a Comment" form as the page shows it: empty, or as sent with its errors.
#[derive(Debug, Clone, Default)]
pub struct CommentFormView {
    pub action: String,
    /// The comment page the form is on ("Cancel reply" stays there).
    pub here: String,
    pub token: String,
    pub name: String,
    pub email: String,
    pub website: String,
    pub comment: String,
    pub parent: String,
    pub errors: crate::domain::comment::FieldErrors,
    /// (comment id, author name) when answering a comment.
    pub replying_to: Option<(i64, String)>,
    pub closed: bool,
    /// Every comment here waits for a moderator, and the form says so.
    pub moderated: bool,
    /// The blog sends mail: the form offers notices of replies.
    pub mail_on: bool,
    pub notify: bool,
    pub notify_all: bool,
    /// Behind a CDN: where the form's script fetches a token of the reader's own, and the
    /// script's address.
    pub fresh_token: Option<(String, &'static str)>,
}

impl CommentFormView {
    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    /// "4,096", for the hint under the comment field.
    pub fn max_chars(&self) -> String {
        crate::domain::comment::thousands(crate::domain::comment::MAX_BODY_CHARS)
    }

    pub fn fill(&mut self, form: &crate::domain::comment::CommentForm) {
        self.name.clone_from(&form.name);
        self.email.clone_from(&form.email);
        self.website.clone_from(&form.website);
        self.comment.clone_from(&form.comment);
        self.parent.clone_from(&form.parent);
        (self.notify, self.notify_all) = form.notices();
    }
}

#[derive(Debug, Clone)]
pub struct NavLink {
    pub url: String,
    pub title: String,
}

/// A search snippet as safe HTML: the text is decoded from the rendered post, escaped again,
/// and only then are the match markers (`\u{1}`, `\u{2}`) turned into `<mark>` elements.
pub fn snippet_html(snippet: &str) -> String {
    let decoded = crate::render::sanitize::decode_entities(snippet);
    let collapsed = decoded.split_whitespace().collect::<Vec<_>>().join(" ");
    crate::render::sanitize::escape_html(&collapsed)
        .replace('\u{1}', "<mark>")
        .replace('\u{2}', "</mark>")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(pairs: &[(&str, i64)]) -> Vec<LabelCount> {
        pairs
            .iter()
            .map(|(name, count)| LabelCount {
                name: (*name).to_owned(),
                count: *count,
            })
            .collect()
    }

    #[test]
    fn labels_by_name_or_by_count_with_cloud_sizes_from_one_to_five() {
        let labels = counts(&[("Apples", 1), ("Bees", 40), ("Cider", 6)]);
        let by_name = label_links(&labels, LabelsOrder::Name);
        let names: Vec<&str> = by_name.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["Apples", "Bees", "Cider"]);
        let by_count = label_links(&labels, LabelsOrder::Count);
        let names: Vec<&str> = by_count.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["Bees", "Cider", "Apples"]);
        let sizes: Vec<u8> = by_count.iter().map(|l| l.size).collect();
        assert_eq!(sizes[0], 5);
        assert!(sizes[1] > sizes[2] && sizes[2] >= 1, "{sizes:?}");
    }

    #[test]
    fn snippets_escape_everything_but_the_marks() {
        assert_eq!(
            snippet_html("a &lt;script&gt; \u{1}pear\u{2} &amp; <b>x</b>"),
            "a &lt;script&gt; <mark>pear</mark> &amp; &lt;b&gt;x&lt;/b&gt;"
        );
    }
}
