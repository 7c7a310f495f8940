//! Admin pages: one askama struct per page, all on `templates/admin/base.html`.

use askama::Template;

use crate::{
    db::comments::StatusCounts,
    domain::{
        FormErrors,
        comment::{CommentPolicy, CommentStatus},
        mail::{MailKind, MailStatus},
    },
};

/// Everything `admin/base.html` needs.
#[derive(Debug, Clone)]
pub struct AdminLayout {
    pub blog_title: String,
    pub page_title: String,
    pub css_url: &'static str,
    pub admin_css_url: &'static str,
    pub icon_url: &'static str,
    /// None on the setup and login pages.
    pub user_name: Option<String>,
    pub csrf: String,
    /// Which navigation entry is current.
    pub active: &'static str,
    pub can_moderate: bool,
    pub is_admin: bool,
    pub pending: i64,
    /// A confirmation after a redirect ("Post published.").
    pub notice: Option<String>,
}

impl AdminLayout {
    /// For pages shown before anyone is logged in.
    pub fn anonymous(blog_title: &str, title: &str) -> Self {
        Self {
            blog_title: blog_title.to_owned(),
            page_title: title.to_owned(),
            css_url: crate::render::assets::url("folio.css"),
            admin_css_url: crate::render::assets::url("admin.css"),
            icon_url: crate::render::assets::url("favicon.svg"),
            user_name: None,
            csrf: String::new(),
            active: "",
            can_moderate: false,
            is_admin: false,
            pending: 0,
            notice: None,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SetupErrors {
    pub name: Option<String>,
    pub email: Option<String>,
    pub password: Option<String>,
}

impl FormErrors for SetupErrors {}

#[derive(Template)]
#[template(path = "admin/setup.html")]
pub struct SetupPage {
    pub layout: AdminLayout,
    pub name: String,
    pub email: String,
    pub errors: SetupErrors,
}

#[derive(Template)]
#[template(path = "admin/login.html")]
pub struct LoginPage {
    pub layout: AdminLayout,
    pub email: String,
    pub next: String,
    pub error: Option<String>,
    /// The blog can be a passkey relying party (see `auth::passkeys`).
    pub passkeys: bool,
    pub script_url: &'static str,
}

/// A comment as moderators see it.
#[derive(Debug, Clone)]
pub struct AdminComment {
    pub id: i64,
    pub post_title: String,
    pub post_url: String,
    pub author_name: String,
    pub author_email: Option<String>,
    pub author_url: Option<String>,
    pub client_hash: Option<String>,
    pub body_html: String,
    pub body_source: String,
    pub status: CommentStatus,
    pub reason: Option<String>,
    pub when: String,
    pub by_editor: bool,
    /// The spam filter's score when the comment came ("0.93"), and why.
    pub spam_score: Option<String>,
    pub spam_clues: Vec<ClueView>,
}

/// A token that weighed in the spam filter's score.
#[derive(Debug, Clone)]
pub struct ClueView {
    pub token: String,
    pub probability: String,
    /// It pointed to spam (else to a good comment).
    pub spammy: bool,
}

impl AdminComment {
    /// Where the comment is read: a published one by its lasting address (the comment page that
    /// holds it), any other on its post.
    pub fn link(&self) -> String {
        if self.status == CommentStatus::Approved {
            format!("/comment/{}", self.id)
        } else {
            self.post_url.clone()
        }
    }
}

#[derive(Template)]
#[template(path = "admin/dashboard.html")]
pub struct DashboardPage {
    pub layout: AdminLayout,
    pub counts: StatusCounts,
    pub drafts: i64,
    pub scheduled: i64,
    pub published: i64,
    pub pending: Vec<AdminComment>,
}

impl AdminComment {
    pub fn new(
        row: &crate::db::comments::ModerationRow,
        tz: &crate::render::dates::TimeZone,
    ) -> Self {
        let at = crate::render::dates::zoned(row.created_at, tz);
        Self {
            id: row.id,
            post_title: row.post_title.clone(),
            post_url: row.post_path.clone(),
            author_name: row.author_name.clone(),
            author_email: row.author_email.clone(),
            author_url: row.author_url.clone(),
            client_hash: row.client_hash.clone(),
            body_html: row.body_html.clone(),
            body_source: row.body_source.clone(),
            status: row.status,
            reason: row.status_reason.clone(),
            when: crate::render::dates::date_and_time(&at),
            by_editor: row.user_id.is_some(),
            spam_score: row
                .spam_score
                .map(|s| format!("{:.2}", (f64::from(s) * 100.0).floor() / 100.0)),
            spam_clues: row
                .spam_clues
                .iter()
                .flatten()
                .filter_map(|stored| crate::spam::Clue::parse(stored))
                .map(|clue| ClueView {
                    spammy: clue.probability >= 0.5,
                    probability: format!("{:.2}", clue.probability),
                    token: clue.token,
                })
                .collect(),
        }
    }
}

/// A row of the posts list.
#[derive(Debug, Clone)]
pub struct PostRowView {
    pub id: i64,
    pub title: String,
    pub is_page: bool,
    pub state: &'static str,
    pub when: String,
    pub author: String,
    pub approved: i64,
    pub pending: i64,
    pub public_url: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/posts.html")]
pub struct PostsPage {
    pub layout: AdminLayout,
    pub rows: Vec<PostRowView>,
    pub state: String,
    pub q: String,
    pub next_url: Option<String>,
}

pub use crate::domain::post::PostErrors;

/// The editor's fields, as loaded or as sent.
#[derive(Debug, Clone, Default)]
pub struct PostFormView {
    pub kind: crate::domain::post::PostKind,
    pub title: String,
    pub body: String,
    pub labels: String,
    pub slug: String,
    pub excerpt: String,
    /// None: the blog's default.
    pub comment_policy: Option<CommentPolicy>,
    /// `YYYY-MM-DDTHH:MM` in the blog's time zone
    pub publish_at: String,
    pub featured_image: String,
    /// The post's `edit_version` this editing started from (none for a new post).
    pub version: Option<i64>,
    pub body_format: crate::domain::post::BodyFormat,
    pub errors: PostErrors,
}

impl PostFormView {
    /// The post as saved.
    pub fn of(post: &crate::db::posts::EditablePost, tz: &crate::render::dates::TimeZone) -> Self {
        Self {
            kind: post.kind,
            title: post.title.clone(),
            body: post.body_source.clone(),
            labels: post.labels.join(", "),
            slug: post.slug.clone(),
            excerpt: post.excerpt.clone(),
            comment_policy: post.comment_policy,
            publish_at: post
                .published_at
                .map(|at| crate::render::dates::local_input(at, tz))
                .unwrap_or_default(),
            featured_image: post.featured_image.clone(),
            version: Some(post.edit_version),
            body_format: post.body_format,
            errors: PostErrors::default(),
        }
    }

    pub fn is_html(&self) -> bool {
        self.body_format == crate::domain::post::BodyFormat::Html
    }

    /// Puts autosaved writing back into the form; the publishing choices stay as saved.
    pub fn restore(&mut self, text: crate::db::autosaves::AutosavedText) {
        self.title = text.title;
        self.body = text.body_source;
        self.labels = text.labels;
        self.slug = text.slug;
        self.excerpt = text.excerpt;
    }
}

/// Another person's save, met by this one: shown beside the editor so nothing is lost.
#[derive(Debug, Clone)]
pub struct ConflictView {
    pub saved_by: String,
    pub saved_at: String,
    pub title: String,
    pub body: String,
    pub labels: String,
}

#[derive(Template)]
#[template(path = "admin/post_edit.html")]
pub struct EditorPage {
    pub layout: AdminLayout,
    pub post_id: Option<i64>,
    pub form: PostFormView,
    /// "New", "Draft", "Scheduled" or "Published"
    pub state: &'static str,
    pub public_url: Option<String>,
    pub existing_labels: String,
    pub timezone: String,
    pub revision_count: i64,
    /// When this user's unsaved changes were autosaved, to offer them back.
    pub autosaved_at: Option<String>,
    pub conflict: Option<ConflictView>,
    pub words: usize,
    pub minutes: usize,
    pub script_url: &'static str,
}

impl EditorPage {
    pub fn action(&self) -> String {
        match self.post_id {
            Some(id) => format!("/admin/posts/{id}"),
            None => "/admin/posts".to_owned(),
        }
    }

    /// Where this editor's autosave slot is kept: the post's id, or `new`.
    pub fn slot(&self) -> String {
        self.post_id
            .map_or_else(|| "new".to_owned(), |id| id.to_string())
    }

    pub fn policy_selected(&self, value: &str) -> bool {
        self.form.comment_policy.map_or("", CommentPolicy::as_str) == value
    }
}

#[derive(Debug, Clone)]
pub struct RevisionView {
    pub id: i64,
    pub title: String,
    pub slug: String,
    pub labels: String,
    pub excerpt: String,
    pub body_source: String,
    pub saved_by: String,
    pub when: String,
}

#[derive(Template)]
#[template(path = "admin/revisions.html")]
pub struct RevisionsPage {
    pub layout: AdminLayout,
    pub post_id: i64,
    pub title: String,
    pub revisions: Vec<RevisionView>,
}

#[derive(Template)]
#[template(path = "admin/revision.html")]
pub struct RevisionPage {
    pub layout: AdminLayout,
    pub post_id: i64,
    pub revision: RevisionView,
}

#[derive(Template)]
#[template(path = "admin/comments.html")]
pub struct CommentsPage {
    pub layout: AdminLayout,
    pub tab: String,
    pub counts: StatusCounts,
    pub comments: Vec<AdminComment>,
    pub next_url: Option<String>,
    /// `newest`, `score` or `likely` (likely spam only, highest score first).
    pub view: String,
    /// Comments of this tab at or above the hold threshold, and that threshold ("0.50").
    pub likely_count: i64,
    /// The filter has learned enough of each kind to act (and to call anything likely spam).
    pub trained: bool,
    pub hold_at: String,
    /// What the spam filter has learned, in a sentence.
    pub filter_status: String,
}

impl CommentsPage {
    pub fn tabs(&self) -> [(&'static str, &'static str, i64); 4] {
        CommentStatus::ALL.map(|status| (status.as_str(), status.label(), self.counts.get(status)))
    }
}

#[derive(Template)]
#[template(path = "admin/comment_edit.html")]
pub struct CommentEditPage {
    pub layout: AdminLayout,
    pub comment: AdminComment,
    pub text: String,
    pub error: Option<String>,
    /// A reply sent back with its error, as typed.
    pub reply_text: String,
    pub reply_error: Option<String>,
}

#[derive(Debug, Clone)]
pub struct MediaView {
    pub hash: String,
    pub url: String,
    pub name: String,
    pub alt: String,
    pub size: String,
    /// "1600 × 1200", or empty for an image uploaded before sizes were kept.
    pub dimensions: String,
    pub uploaded_by: String,
    pub when: String,
    /// Just uploaded.
    pub highlighted: bool,
    /// (editor address, title) of each post or page that shows it.
    pub used_in: Vec<(String, String)>,
    /// This user may edit its alt text.
    pub may_change: bool,
    /// ...and delete it (an author only while no post shows it).
    pub may_delete: bool,
}

#[derive(Template)]
#[template(path = "admin/media.html")]
pub struct MediaPage {
    pub layout: AdminLayout,
    pub files: Vec<MediaView>,
    /// The search as typed.
    pub q: String,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/import.html")]
pub struct ImportPage {
    pub layout: AdminLayout,
    pub jobs: Vec<JobView>,
    pub error: Option<String>,
    pub max_mb: usize,
}

#[derive(Template)]
#[template(path = "admin/import_job.html")]
pub struct ImportJobPage {
    pub layout: AdminLayout,
    pub job: JobView,
    /// Still running: the page keeps itself current (with a small script).
    pub refresh: bool,
    pub script_url: &'static str,
}

/// Where an import stands on its page: a job still marked running whose process stopped
/// reporting was interrupted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStanding {
    Running,
    Interrupted,
    Done,
    Failed,
}

#[derive(Debug, Clone)]
pub struct JobView {
    pub id: i64,
    pub file_name: String,
    pub format: &'static str,
    pub state: JobStanding,
    pub percent: u8,
    pub done: String,
    pub total: String,
    pub started: String,
    pub error: Option<String>,
    pub headline: Option<String>,
    pub summary: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct NewUserForm {
    pub email: String,
    pub name: String,
    pub role: String,
    pub errors: SetupErrors,
}

#[derive(Debug, Clone)]
pub struct UserView {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: crate::domain::role::Role,
    pub disabled: bool,
    /// False until they choose a password (imported authors, invitations not yet taken up).
    pub has_password: bool,
    pub is_me: bool,
    /// "authenticator app, 2 passkeys", or empty for none.
    pub second_steps: String,
}

impl UserView {
    /// Whether their role is the one named `value` (the role menu's options).
    pub fn has_role(&self, value: &str) -> bool {
        self.role.as_str() == value
    }
}

#[derive(Template)]
#[template(path = "admin/users.html")]
pub struct UsersPage {
    pub layout: AdminLayout,
    pub users: Vec<UserView>,
    pub new_user: NewUserForm,
    pub error: Option<String>,
    /// New users can be invited by email (no password typed for them).
    pub mail_on: bool,
}

impl UsersPage {
    pub fn roles(&self) -> [(&'static str, &'static str); 3] {
        [
            ("author", "Author"),
            ("editor", "Editor"),
            ("admin", "Admin"),
        ]
    }
}

#[derive(Template)]
#[template(path = "admin/account.html")]
pub struct AccountPage {
    pub layout: AdminLayout,
    pub error: Option<String>,
    /// The server can send mail (`FOLIO_SMTP_URL`).
    pub mail_on: bool,
    pub mail: crate::db::users::MailChoices,
    pub sessions: Vec<SessionView>,
    pub passkeys: Vec<PasskeyView>,
    /// Why this blog cannot offer passkeys, when it cannot.
    pub passkeys_unavailable: Option<&'static str>,
    pub totp: bool,
    pub recovery_codes_left: i64,
    /// This session may only set up a second step (the blog requires one).
    pub must_add_second_step: bool,
    pub script_url: &'static str,
    /// The author's own fediverse account, when the blog federates.
    pub fediverse: Option<AccountFediverse>,
}

/// The Account page's fediverse form: the name (as saved, or as typed with its error).
#[derive(Debug, Clone)]
pub struct AccountFediverse {
    pub name: String,
    /// `@{name}@` goes before it.
    pub host: String,
    pub error: Option<String>,
}

/// One of the user's sessions on the account page.
#[derive(Debug, Clone)]
pub struct SessionView {
    pub id: i64,
    /// "Firefox 133 on Linux"
    pub device: String,
    pub address: String,
    pub signed_in: String,
    pub last_seen: String,
    /// The session this page is shown in.
    pub current: bool,
}

#[derive(Debug, Clone)]
pub struct PasskeyView {
    pub id: i64,
    pub name: String,
    pub added: String,
    pub last_used: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/totp_setup.html")]
pub struct TotpSetupPage {
    pub layout: AdminLayout,
    /// The `otpauth://` link as an SVG QR code (markup made by the qrcode crate).
    pub qr_svg: String,
    /// The secret in groups of four, to type instead.
    pub secret: String,
    pub uri: String,
    pub code: String,
    pub error: Option<String>,
    /// The current password was not right (it is asked, so a stolen session cannot enrol).
    pub password_error: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/recovery_codes.html")]
pub struct RecoveryCodesPage {
    pub layout: AdminLayout,
    pub codes: Vec<String>,
    /// Shown right after the authenticator app was set up.
    pub first: bool,
}

/// After a right password: the code, a recovery code, or a passkey.
#[derive(Template)]
#[template(path = "admin/second_step.html")]
pub struct SecondStepPage {
    pub layout: AdminLayout,
    pub totp: bool,
    pub recovery: bool,
    pub passkeys: bool,
    pub script_url: &'static str,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SettingsErrors {
    pub comment_threads_per_page: Option<String>,
    pub spam_hold_at: Option<String>,
    pub spam_junk_at: Option<String>,
    pub spam_min_training: Option<String>,
    pub title: Option<String>,
    pub timezone: Option<String>,
    pub posts_per_page: Option<String>,
    pub moderate_after_days: Option<String>,
}

impl FormErrors for SettingsErrors {}

#[derive(Debug, Clone, Default)]
pub struct SettingsForm {
    pub title: String,
    pub description: String,
    pub timezone: String,
    pub posts_per_page: String,
    pub comment_policy: CommentPolicy,
    pub moderate_after_days: String,
    pub blocked_terms: String,
    pub search_language: String,
    pub feed_summaries: bool,
    pub follow_full_posts: bool,
    pub require_second_step: bool,
    pub comment_threads_per_page: String,
    pub comments_newest_first: bool,
    pub spam_hold_at: String,
    pub spam_junk_at: String,
    pub spam_min_training: String,
    /// The text-search languages to choose from.
    pub languages: Vec<String>,
    pub errors: SettingsErrors,
}

#[derive(Template)]
#[template(path = "admin/settings.html")]
pub struct SettingsPage {
    pub layout: AdminLayout,
    pub form: SettingsForm,
}

impl SettingsPage {
    pub fn has_errors(&self) -> bool {
        !self.form.errors.is_empty()
    }
}

/// A row of the Email page's queue.
#[derive(Debug, Clone)]
pub struct MailRowView {
    pub id: i64,
    pub kind: MailKind,
    pub recipient: String,
    pub subject: String,
    pub status: MailStatus,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub when: String,
}

#[derive(Template)]
#[template(path = "admin/email.html")]
pub struct EmailPage {
    pub layout: AdminLayout,
    pub enabled: bool,
    /// `host:port (STARTTLS)`
    pub server: String,
    pub sender: String,
    pub my_email: String,
    pub counts: crate::db::outbox::OutboxCounts,
    pub rows: Vec<MailRowView>,
}

#[derive(Template)]
#[template(path = "admin/forgot.html")]
pub struct ForgotPage {
    pub layout: AdminLayout,
    pub mail_on: bool,
    pub email: String,
    pub error: Option<String>,
    /// After the form: what happens now (the same whether or not the account exists).
    pub sent: Option<String>,
}

/// Setting a password from an emailed link (a reset or an invitation).
#[derive(Template)]
#[template(path = "admin/password.html")]
pub struct PasswordPage {
    pub layout: AdminLayout,
    pub heading: String,
    /// Why the link cannot be used (expired, used, cut); no form then.
    pub problem: Option<String>,
    pub name: String,
    pub email: String,
    pub action_url: String,
    pub error: Option<String>,
}

#[derive(Debug, Clone)]
pub struct FollowerView {
    pub id: i64,
    pub email: String,
    pub since: String,
    pub confirmed: bool,
}

#[derive(Template)]
#[template(path = "admin/subscribers.html")]
pub struct SubscribersPage {
    pub layout: AdminLayout,
    pub counts: crate::db::subscriptions::Counts,
    pub followers: Vec<FollowerView>,
}

/// A theme offered on the theme page.
#[derive(Debug, Clone)]
pub struct ThemeChoice {
    pub slug: &'static str,
    pub label: &'static str,
    pub description: &'static str,
}

/// One gadget's row on the theme page, as typed.
#[derive(Debug, Clone)]
pub struct GadgetRow {
    pub slug: &'static str,
    pub name: &'static str,
    pub on: bool,
    pub order: String,
    pub title: String,
    /// Why it would not show although switched on (Follow by email without mail).
    pub note: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "admin/theme.html")]
pub struct ThemePage {
    pub layout: AdminLayout,
    pub fields: crate::domain::theme::FormFields,
    pub errors: crate::domain::theme::AppearanceErrors,
    pub themes: Vec<ThemeChoice>,
    /// (slug, label)
    pub fonts: Vec<(&'static str, &'static str)>,
    pub gadgets: Vec<GadgetRow>,
    /// The static pages, offered for the navigation bar.
    pub pages: Vec<crate::db::appearance::PageLink>,
    pub image_error: Option<String>,
    pub script_url: &'static str,
}

impl ThemePage {
    pub fn new(
        layout: AdminLayout,
        fields: crate::domain::theme::FormFields,
        errors: crate::domain::theme::AppearanceErrors,
        pages: Vec<crate::db::appearance::PageLink>,
        mail_on: bool,
        image_error: Option<String>,
    ) -> Self {
        use crate::domain::theme::{Font, GadgetKind, ThemeName};
        let value = |name: &str| crate::domain::theme::field(&fields, name).to_owned();
        let mut gadgets: Vec<(i64, usize, GadgetRow)> = GadgetKind::ALL
            .into_iter()
            .enumerate()
            .map(|(index, kind)| {
                let slug = kind.slug();
                let order = value(&format!("gadget_{slug}_order"));
                let place = order.trim().parse::<i64>().unwrap_or(i64::MAX);
                let title = value(&format!("gadget_{slug}_title"));
                let row = GadgetRow {
                    slug,
                    name: kind.name(),
                    on: !value(&format!("gadget_{slug}_on")).is_empty(),
                    order,
                    title: if title.is_empty() {
                        kind.default_title().to_owned()
                    } else {
                        title
                    },
                    note: (kind == GadgetKind::FollowByEmail && !mail_on)
                        .then_some("Shown once the blog sends email (FOLIO_SMTP_URL)."),
                };
                (place, index, row)
            })
            .collect();
        gadgets.sort_by_key(|(place, index, _)| (*place, *index));
        Self {
            layout,
            errors,
            themes: ThemeName::ALL
                .into_iter()
                .map(|t| ThemeChoice {
                    slug: t.slug(),
                    label: t.label(),
                    description: t.description(),
                })
                .collect(),
            fonts: Font::ALL
                .into_iter()
                .map(|f| (f.slug(), f.label()))
                .collect(),
            gadgets: gadgets.into_iter().map(|(_, _, row)| row).collect(),
            fields,
            pages,
            image_error,
            script_url: crate::render::assets::url("theme.js"),
        }
    }

    /// A field as typed (or stored).
    pub fn value(&self, name: &str) -> &str {
        crate::domain::theme::field(&self.fields, name)
    }

    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }
}

/// The Fediverse page: the handle, followers and instances.
#[derive(Template)]
#[template(path = "admin/fediverse.html")]
pub struct FediversePage {
    pub layout: AdminLayout,
    pub enabled: bool,
    pub name: String,
    pub approve_followers: bool,
    /// `@blog@example.org` as saved.
    pub handle: String,
    pub actor: String,
    /// Whether the blog federates now (saved as on).
    pub live: bool,
    /// Why it cannot be turned on from this base URL.
    pub cannot: Option<String>,
    pub followers: Vec<FediverseFollowerView>,
    pub blocks: Vec<DomainBlockView>,
    /// The instance form, as typed.
    pub block_domain: String,
    pub block_hold: bool,
    pub errors: FediverseErrors,
    pub webmention: bool,
    pub mentions: Vec<WebmentionView>,
}

/// A Webmention received, for the admin: who, on which post, and what came of it.
#[derive(Debug, Clone)]
pub struct WebmentionView {
    pub source: String,
    pub author_name: String,
    pub post_title: String,
    pub post_path: String,
    pub received: String,
    /// "A reply", "Waiting to be checked", "The page does not link here"...
    pub state: String,
}

#[derive(Debug, Default)]
pub struct FediverseErrors {
    pub enabled: Option<String>,
    pub webmention: Option<String>,
    pub name: Option<String>,
    pub domain: Option<String>,
}

#[derive(Debug, Clone)]
pub struct FediverseFollowerView {
    pub actor_id: i64,
    /// The author they follow ("" for the blog), as the forms send it back.
    pub followed: String,
    /// Whom they follow: "the blog" or an author's handle.
    pub follows: String,
    pub handle: String,
    pub name: String,
    pub profile: String,
    pub instance: String,
    pub pending: bool,
    pub since: String,
}

#[derive(Debug, Clone)]
pub struct DomainBlockView {
    pub domain: String,
    pub held: bool,
}

/// The HTTPS page: Folio's own certificate, or how to turn HTTPS on.
#[derive(Template)]
#[template(path = "admin/https.html")]
pub struct HttpsPage {
    pub layout: AdminLayout,
    /// Whether Folio serves HTTPS itself (`FOLIO_DOMAIN`).
    pub on: bool,
    /// Without it: the base URL is https, so a proxy in front serves HTTPS.
    pub behind_proxy: bool,
    pub names: String,
    /// "ACME: https://… (account …)" or "files: …"
    pub source: String,
    pub hsts: String,
    /// The certificate this process serves; none yet.
    pub certificate: Option<CertificateView>,
    /// "last obtained …; renewed from …"
    pub renewal: Option<String>,
    /// The last failure to get or load a certificate.
    pub trouble: Option<String>,
}

#[derive(Debug, Clone)]
pub struct CertificateView {
    pub names: String,
    pub issuer: String,
    pub valid_from: String,
    pub valid_until: String,
    pub days_left: i64,
}
