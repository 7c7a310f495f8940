use askama::Template;

use super::{
    CommentFormView, CommentView, DayGroup, GadgetView, Layout, NavLink, PostView, Sidebar,
};

/// Home, archive and label pages: posts under date headers with pager links.
#[derive(Template)]
#[template(path = "public/list.html")]
pub struct ListPage {
    pub layout: Layout,
    pub sidebar: Sidebar,
    pub is_home: bool,
    /// e.g. "Showing posts with label Garden." or "September 2021"
    pub heading: Option<String>,
    pub days: Vec<DayGroup>,
    pub newer_url: Option<String>,
    pub older_url: Option<String>,
    /// The blog has no posts at all yet.
    pub fresh_blog: bool,
}

#[derive(Template)]
#[template(path = "public/post.html")]
pub struct PostPage {
    pub layout: Layout,
    pub sidebar: Sidebar,
    pub post: PostView,
    pub comments: Vec<CommentView>,
    pub pager: super::CommentPager,
    /// This comment page's own address, which its "Reply" links keep.
    pub here: String,
    pub form: CommentFormView,
    pub newer: Option<NavLink>,
    pub older: Option<NavLink>,
    pub reactions: Reactions,
}

/// Likes and boosts from the fediverse, likes and reposts by Webmention: (likes, shares).
#[derive(Debug, Clone, Copy, Default)]
pub struct Reactions {
    pub fediverse: (i64, i64),
    pub web: (i64, i64),
}

impl PostPage {
    /// "3 likes and 1 boost on the fediverse", "1 like from another site"; none when there
    /// are none.
    pub fn reactions_lines(&self) -> Vec<String> {
        let count = |n: i64, one: &str, many: &str| {
            (n > 0).then(|| format!("{n} {}", if n == 1 { one } else { many }))
        };
        let line = |(likes, shares): (i64, i64), share: (&str, &str), place: &str| {
            let parts: Vec<String> = [
                count(likes, "like", "likes"),
                count(shares, share.0, share.1),
            ]
            .into_iter()
            .flatten()
            .collect();
            (!parts.is_empty()).then(|| format!("{} {place}", parts.join(" and ")))
        };
        let web_place = if self.reactions.web.0 + self.reactions.web.1 == 1 {
            "from another site"
        } else {
            "from other sites"
        };
        [
            line(
                self.reactions.fediverse,
                ("boost", "boosts"),
                "on the fediverse",
            ),
            line(self.reactions.web, ("repost", "reposts"), web_place),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    /// "3 comments:" as Blogger says it; a reader whose own comments wait for moderation sees
    /// them below, so the heading says why the list is longer than its number.
    pub fn comments_heading(&self) -> String {
        fn held(comments: &[CommentView]) -> usize {
            comments
                .iter()
                .map(|c| usize::from(c.pending) + held(&c.replies))
                .sum()
        }
        let label = self.post.comments_label();
        match held(&self.comments) {
            0 => label,
            n => format!(
                "{}, and {n} of yours awaiting moderation:",
                label.trim_end_matches(':')
            ),
        }
    }
}

/// Shown when a comment was not saved for a while (the database away, too many comments from
/// one address or at once): the form comes back with everything typed, ready to send again,
/// on a page that costs far less than the post's own.
#[derive(Template)]
#[template(path = "errors/comment_wait.html")]
pub struct CommentWaitPage {
    pub layout: Layout,
    /// Why, as a sentence.
    pub reason: String,
    /// "in a moment", "in 20 seconds".
    pub when: String,
    pub form: CommentFormView,
}

#[derive(Template)]
#[template(path = "public/page.html")]
pub struct StaticPage {
    pub layout: Layout,
    pub sidebar: Sidebar,
    pub page: PostView,
}

/// The admin area while its database cannot be reached (read-only when replicas serve the
/// readers), with the fields of a form sent then, so nothing typed is lost.
#[derive(Template)]
#[template(path = "errors/admin_unavailable.html")]
pub struct AdminUnavailablePage {
    pub layout: Layout,
    pub read_only: bool,
    pub typed: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "errors/error.html")]
pub struct ErrorPage {
    pub layout: Layout,
    pub status: u16,
    pub heading: String,
    pub message: String,
}

/// One search result.
#[derive(Debug, Clone)]
pub struct SearchResultView {
    pub title: String,
    pub url: String,
    pub date: String,
    pub datetime: String,
    pub labels: Vec<super::LabelLink>,
    /// Escaped text with `<mark>` around the matches: built by `views::snippet_html`.
    pub snippet_html: String,
}

#[derive(Template)]
#[template(path = "public/search.html")]
pub struct SearchPage {
    pub layout: Layout,
    pub sidebar: Sidebar,
    pub query: String,
    /// None when no query was typed.
    pub total: Option<i64>,
    /// Set when more posts match than search pages show (they are not all counted).
    pub more_than: Option<i64>,
    pub results: Vec<SearchResultView>,
    pub previous_url: Option<String>,
    pub next_url: Option<String>,
}

/// The comment a moderator's email link is about.
#[derive(Debug, Clone)]
pub struct MailComment {
    pub author_name: String,
    pub author_email: Option<String>,
    pub post_title: String,
    pub post_url: String,
    /// "pending", "approved"...
    pub status: String,
    /// Sanitized when it was stored.
    pub body_html: String,
}

/// What a link in an email opens: what it is about, and one button (a GET changes nothing,
/// since mail scanners follow links).
#[derive(Template)]
#[template(path = "public/mail_action.html")]
pub struct MailActionPage {
    pub layout: Layout,
    pub heading: String,
    pub message: Option<String>,
    /// The message reports something done.
    pub done: bool,
    pub comment: Option<MailComment>,
    /// The button's label; none when there is nothing (more) to do.
    pub button: Option<String>,
    pub action_url: String,
    /// A reply form: a text field above the button.
    pub reply: bool,
    pub reply_text: String,
    pub error: Option<String>,
    /// A link onwards (url, label).
    pub next: Option<(String, String)>,
}

/// "Follow on the fediverse" or "Reply from the fediverse": the reader's handle, to be sent to
/// their own server.
#[derive(Template)]
#[template(path = "public/interact.html")]
pub struct InteractPage {
    pub layout: Layout,
    /// The blog's handle (following) or the post's title (replying).
    pub following: bool,
    pub handle: String,
    pub post_title: String,
    /// The blog's actor or the post's URL, as sent back with the form.
    pub uri: String,
    /// What the reader typed.
    pub typed: String,
    pub error: Option<String>,
}

/// "Follow by email": the form, or what happens after it.
#[derive(Template)]
#[template(path = "public/subscribe.html")]
pub struct SubscribePage {
    pub layout: Layout,
    pub email: String,
    pub error: Option<String>,
    pub done: bool,
}
