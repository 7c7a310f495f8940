//! The JSON documents the blog shows the fediverse: its actor, posts as `Article`s, the
//! activities it sends, WebFinger and NodeInfo. Plain serde_json values in the compacted
//! ActivityStreams shape every implementation reads.

use serde_json::{Value, json};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

use crate::{
    db::fediverse::{Answer, AuthorActor, FederatedPost, ThreadComment},
    render::{post::label_path, sanitize::escape_html},
};

pub const ACTIVITY_JSON: &str = "application/activity+json";
pub const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";
const AS_CONTEXT: &str = "https://www.w3.org/ns/activitystreams";
const SECURITY_CONTEXT: &str = "https://w3id.org/security/v1";

/// The blog actor's addresses. The id holds no handle, so a renamed handle keeps followers.
#[derive(Debug, Clone)]
pub struct Blog<'a> {
    pub base_url: &'a str,
    pub name: &'a str,
    pub title: &'a str,
    pub description: &'a str,
}

impl Blog<'_> {
    pub fn actor(&self) -> String {
        format!("{}/fediverse/blog", self.base_url)
    }
    pub fn key_id(&self) -> String {
        format!("{}#main-key", self.actor())
    }
    pub fn inbox(&self) -> String {
        format!("{}/inbox", self.actor())
    }
    pub fn shared_inbox(&self) -> String {
        format!("{}/fediverse/inbox", self.base_url)
    }
    pub fn outbox(&self) -> String {
        format!("{}/outbox", self.actor())
    }
    pub fn followers(&self) -> String {
        format!("{}/followers", self.actor())
    }
    pub fn following(&self) -> String {
        format!("{}/following", self.actor())
    }
    /// `host[:port]` of the base URL: the handle's domain.
    pub fn host(&self) -> String {
        super::actors::domain_of(self.base_url).unwrap_or_default()
    }
    pub fn handle(&self) -> String {
        format!("@{}@{}", self.name, self.host())
    }
    /// The actor that speaks for a post: an author's (`by`) or the blog's.
    pub fn speaker(&self, by: Option<i64>) -> String {
        match by {
            None => self.actor(),
            Some(id) => author_actor_id(self.base_url, id),
        }
    }
    pub fn followers_of(&self, by: Option<i64>) -> String {
        format!("{}/followers", self.speaker(by))
    }
    pub fn outbox_of(&self, by: Option<i64>) -> String {
        format!("{}/outbox", self.speaker(by))
    }
    pub fn following_of(&self, by: Option<i64>) -> String {
        format!("{}/following", self.speaker(by))
    }
}

/// Whom a Follow's object names by its shape: the blog (`Some(None)`), or an author
/// (`Some(Some(user number))`, whether or not they are an account now), or nobody here.
pub fn followed_actor(blog: &Blog<'_>, uri: &str) -> Option<Option<i64>> {
    if uri == blog.actor() {
        return Some(None);
    }
    author_of(blog, uri).map(Some)
}

/// Whether `name` may be an account's name (the part of a handle before the host): what
/// Mastodon takes, lower case.
pub fn is_account_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 30
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// An author's actor: their number, not their name, so a renamed author keeps their followers.
pub fn author_actor_id(base_url: &str, user_id: i64) -> String {
    format!("{base_url}/fediverse/authors/{user_id}")
}

/// The author whose actor `uri` is, if it is one of this blog's authors' (by its shape; whether
/// they are an account is the database's to say).
pub fn author_of(blog: &Blog<'_>, uri: &str) -> Option<i64> {
    let id = uri
        .strip_prefix(blog.base_url)?
        .strip_prefix("/fediverse/authors/")?;
    if id.starts_with('+') {
        return None;
    }
    id.parse().ok()
}

fn time(at: OffsetDateTime) -> String {
    at.replace_nanosecond(0)
        .unwrap_or(at)
        .format(&Rfc3339)
        .unwrap_or_default()
}

pub fn actor(blog: &Blog<'_>, public_key_pem: &str, manually_approves: bool) -> Value {
    json!({
        "@context": [AS_CONTEXT, SECURITY_CONTEXT],
        "id": blog.actor(),
        "type": "Person",
        "preferredUsername": blog.name,
        "name": blog.title,
        "summary": summary_html(blog.description),
        "url": format!("{}/", blog.base_url),
        "inbox": blog.inbox(),
        "outbox": blog.outbox(),
        "followers": blog.followers(),
        "following": blog.following(),
        "endpoints": { "sharedInbox": blog.shared_inbox() },
        "manuallyApprovesFollowers": manually_approves,
        "discoverable": true,
        "indexable": true,
        "publicKey": {
            "id": blog.key_id(),
            "owner": blog.actor(),
            "publicKeyPem": public_key_pem,
        },
    })
}

/// An author's actor: the blog's inbox and key scheme, their own name, key and followers.
pub fn author_actor(
    blog: &Blog<'_>,
    author: &AuthorActor,
    public_key_pem: &str,
    manually_approves: bool,
) -> Value {
    let by = Some(author.id);
    let id = blog.speaker(by);
    let home = format!("{}/", blog.base_url);
    json!({
        "@context": [AS_CONTEXT, SECURITY_CONTEXT],
        "id": id,
        "type": "Person",
        "preferredUsername": author.name,
        "name": author.display_name,
        "summary": format!(
            r#"<p>Writes on <a href="{}">{}</a> ({})</p>"#,
            escape_html(&home),
            escape_html(blog.title),
            escape_html(&blog.handle())
        ),
        "url": home,
        "inbox": format!("{id}/inbox"),
        "outbox": blog.outbox_of(by),
        "followers": blog.followers_of(by),
        "following": blog.following_of(by),
        "endpoints": { "sharedInbox": blog.shared_inbox() },
        "manuallyApprovesFollowers": manually_approves,
        "discoverable": true,
        "indexable": true,
        "publicKey": {
            "id": format!("{id}#main-key"),
            "owner": id,
            "publicKeyPem": public_key_pem,
        },
    })
}

/// A plain-text description as the actor's HTML summary.
fn summary_html(text: &str) -> String {
    if text.is_empty() {
        return String::new();
    }
    format!("<p>{}</p>", escape_html(text))
}

fn label_url(base_url: &str, label: &str) -> String {
    format!("{base_url}{}", label_path(label))
}

/// A hashtag's name: letters, digits and underscores of the label.
fn hashtag(label: &str) -> Option<String> {
    let tag: String = label
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!tag.is_empty()).then(|| format!("#{tag}"))
}

/// A post as an `Article`; `content` is its HTML with absolute links.
pub fn article(blog: &Blog<'_>, post: &FederatedPost, content: &str) -> Value {
    let url = format!("{}{}", blog.base_url, post.path);
    let tags: Vec<Value> = post
        .labels
        .iter()
        .filter_map(|label| {
            Some(json!({
                "type": "Hashtag",
                "name": hashtag(label)?,
                "href": label_url(blog.base_url, label),
            }))
        })
        .collect();
    let mut article = json!({
        "id": url,
        "type": "Article",
        "attributedTo": blog.speaker(post.by),
        "name": post.title,
        "content": content,
        "url": url,
        "published": time(post.published_at),
        "to": [PUBLIC],
        "cc": [blog.followers_of(post.by)],
        "tag": tags,
        "replies": replies_id(blog, post.id),
    });
    if !post.excerpt.is_empty() {
        article["summary"] = Value::String(post.excerpt.clone());
    }
    if let Some(edited) = post.edited_at.filter(|e| *e > post.published_at) {
        article["updated"] = Value::String(time(edited));
    }
    if !post.featured_image.is_empty() {
        let image = if post.featured_image.starts_with('/') {
            format!("{}{}", blog.base_url, post.featured_image)
        } else {
            post.featured_image.clone()
        };
        article["image"] = json!({ "type": "Image", "url": image });
        article["attachment"] = json!([{ "type": "Image", "url": image, "name": post.title }]);
    }
    article
}

fn with_context(mut value: Value) -> Value {
    if let Value::Object(map) = &mut value {
        map.insert("@context".into(), Value::String(AS_CONTEXT.into()));
    }
    value
}

/// The Article on its own, as its URL answers it.
pub fn article_document(blog: &Blog<'_>, post: &FederatedPost, content: &str) -> Value {
    with_context(article(blog, post, content))
}

/// What a post no longer public answers (with 410 Gone).
pub fn tombstone(blog: &Blog<'_>, path: &str) -> Value {
    json!({
        "@context": AS_CONTEXT,
        "id": format!("{}{path}", blog.base_url),
        "type": "Tombstone",
        "formerType": "Article",
    })
}

/// `Create`, `Update` or `Delete` of a post by the actor it comes from, addressed as the post is.
pub fn post_activity(
    blog: &Blog<'_>,
    kind: &str,
    post: &FederatedPost,
    content: &str,
    now: OffsetDateTime,
) -> Value {
    let url = format!("{}{}", blog.base_url, post.path);
    let object = if kind == "Delete" {
        json!({ "id": url, "type": "Tombstone", "formerType": "Article" })
    } else {
        article(blog, post, content)
    };
    json!({
        "@context": AS_CONTEXT,
        "id": format!("{url}#{}-{}", kind.to_ascii_lowercase(), now.unix_timestamp_nanos() / 1_000_000),
        "type": kind,
        "actor": blog.speaker(post.by),
        "published": time(now),
        "to": [PUBLIC],
        "cc": [blog.followers_of(post.by)],
        "object": object,
    })
}

/// The blog sharing a post one of its authors created (as WordPress's plugin does), so that
/// the blog's followers see it too.
pub fn announce(blog: &Blog<'_>, post: &FederatedPost, now: OffsetDateTime) -> Value {
    let url = format!("{}{}", blog.base_url, post.path);
    json!({
        "@context": AS_CONTEXT,
        "id": format!("{url}#announce-{}", now.unix_timestamp_nanos() / 1_000_000),
        "type": "Announce",
        "actor": blog.actor(),
        "published": time(now),
        "to": [PUBLIC],
        "cc": [blog.followers(), blog.speaker(post.by)],
        "object": url,
    })
}

/// One of the blog's comments answering a reply from the fediverse, as a `Note` by the blog
/// that mentions the one it answers (so it reaches them, under their post).
pub fn answer_note(blog: &Blog<'_>, answer: &Answer) -> Value {
    let url = format!("{}/comment/{}", blog.base_url, answer.comment_id);
    let mention = format!("@{}@{}", answer.parent_username, answer.parent_domain);
    let content = format!(
        r#"<p><span class="h-card"><a href="{}" class="u-url mention">{}</a></span></p>{}"#,
        escape_html(&answer.parent_actor),
        escape_html(&mention),
        answer.body_html
    );
    json!({
        "id": url,
        "type": "Note",
        "attributedTo": blog.actor(),
        "inReplyTo": answer.parent_note,
        "content": content,
        "url": url,
        "published": time(answer.created_at),
        "to": [PUBLIC],
        "cc": [answer.parent_actor, blog.followers()],
        "tag": [{ "type": "Mention", "href": answer.parent_actor, "name": mention }],
    })
}

/// Where a post's comments are listed for the fediverse.
pub fn replies_id(blog: &Blog<'_>, post_id: i64) -> String {
    format!("{}/fediverse/posts/{post_id}/replies", blog.base_url)
}

/// A comment written here, as a `Note` by the blog (its commenters have no accounts): their
/// name leads its content. Its URL is the comment's permalink, which answers with it.
pub fn comment_note(blog: &Blog<'_>, comment: &ThreadComment) -> Value {
    let url = format!("{}/comment/{}", blog.base_url, comment.id);
    let in_reply_to = match (&comment.parent_note, comment.parent_id) {
        (Some(note), _) => note.clone(),
        (None, Some(parent)) => format!("{}/comment/{parent}", blog.base_url),
        (None, None) => format!("{}{}", blog.base_url, comment.post_path),
    };
    let content = format!(
        "<p><strong>{}</strong>:</p>{}",
        escape_html(&comment.author_name),
        crate::federation::content_html(&comment.body_html, blog.base_url)
    );
    json!({
        "id": url,
        "type": "Note",
        "attributedTo": blog.actor(),
        "inReplyTo": in_reply_to,
        "content": content,
        "url": url,
        "published": time(comment.created_at),
        "to": [PUBLIC],
        "cc": [blog.followers()],
    })
}

/// A post's `replies`: replies from the fediverse by their ids, the blog's answers by their
/// URLs (each answers with its `Note`), and the other comments written here as `Note`s.
pub fn replies(blog: &Blog<'_>, post_id: i64, total: i64, comments: &[ThreadComment]) -> Value {
    let items = comments
        .iter()
        .map(|comment| match &comment.note {
            Some(note) => Value::String(note.clone()),
            None if comment.answered => {
                Value::String(format!("{}/comment/{}", blog.base_url, comment.id))
            }
            None => comment_note(blog, comment),
        })
        .collect();
    collection(&replies_id(blog, post_id), total, Some(items))
}

/// `Create` or `Delete` of an answer.
pub fn answer_activity(blog: &Blog<'_>, kind: &str, answer: &Answer, now: OffsetDateTime) -> Value {
    let url = format!("{}/comment/{}", blog.base_url, answer.comment_id);
    let object = if kind == "Delete" {
        json!({ "id": url, "type": "Tombstone", "formerType": "Note" })
    } else {
        answer_note(blog, answer)
    };
    json!({
        "@context": AS_CONTEXT,
        "id": format!("{url}#{}-{}", kind.to_ascii_lowercase(), now.unix_timestamp_nanos() / 1_000_000),
        "type": kind,
        "actor": blog.actor(),
        "published": time(now),
        "to": [PUBLIC],
        "cc": [answer.parent_actor, blog.followers()],
        "object": object,
    })
}

/// A Note on its own, as its URL answers it.
pub fn answer_document(blog: &Blog<'_>, answer: &Answer) -> Value {
    with_context(answer_note(blog, answer))
}

/// `Accept` or `Reject` of a follow of `followed` (the blog's actor or an author's).
pub fn answer_follow(
    followed: &str,
    kind: &str,
    follow_id: &str,
    follower: &str,
    now: OffsetDateTime,
) -> Value {
    json!({
        "@context": AS_CONTEXT,
        "id": format!("{followed}#{}-{}", kind.to_ascii_lowercase(), now.unix_timestamp_nanos() / 1_000_000),
        "type": kind,
        "actor": followed,
        "to": [follower],
        "object": {
            "id": follow_id,
            "type": "Follow",
            "actor": follower,
            "object": followed,
        },
    })
}

pub fn collection(id: &str, total: i64, items: Option<Vec<Value>>) -> Value {
    let mut value = json!({
        "@context": AS_CONTEXT,
        "id": id,
        "type": "OrderedCollection",
        "totalItems": total,
    });
    if let Some(items) = items {
        value["orderedItems"] = Value::Array(items);
    }
    value
}

/// WebFinger's answer for the blog's handle.
pub fn webfinger(blog: &Blog<'_>) -> Value {
    webfinger_account(blog, blog.name, &blog.actor())
}

/// WebFinger's answer for an author's handle.
pub fn webfinger_author(blog: &Blog<'_>, author: &AuthorActor) -> Value {
    webfinger_account(
        blog,
        &author.name,
        &author_actor_id(blog.base_url, author.id),
    )
}

fn webfinger_account(blog: &Blog<'_>, name: &str, actor: &str) -> Value {
    json!({
        "subject": format!("acct:{name}@{}", blog.host()),
        "aliases": [actor, format!("{}/", blog.base_url)],
        "links": [
            { "rel": "self", "type": ACTIVITY_JSON, "href": actor },
            {
                "rel": "http://webfinger.net/rel/profile-page",
                "type": "text/html",
                "href": format!("{}/", blog.base_url),
            },
        ],
    })
}

/// Whether a WebFinger `resource` names the blog: its handle (with or without `acct:`), its
/// actor or its home page.
pub fn names_blog(blog: &Blog<'_>, resource: &str) -> bool {
    if let Some(name) = handle_name(blog, resource) {
        return name.eq_ignore_ascii_case(blog.name);
    }
    let resource = resource.trim();
    let home = format!("{}/", blog.base_url);
    resource == blog.actor() || resource == home || resource == blog.base_url
}

/// The name of a handle (with or without `acct:` or `@`) at this blog's host.
pub fn handle_name<'r>(blog: &Blog<'_>, resource: &'r str) -> Option<&'r str> {
    let resource = resource.trim();
    let handle = resource.strip_prefix("acct:").unwrap_or(resource);
    let handle = handle.strip_prefix('@').unwrap_or(handle);
    let (name, host) = handle.split_once('@')?;
    host.eq_ignore_ascii_case(&blog.host()).then_some(name)
}

pub fn nodeinfo_links(base_url: &str) -> Value {
    json!({
        "links": [{
            "rel": "http://nodeinfo.diaspora.software/ns/schema/2.1",
            "href": format!("{base_url}/nodeinfo/2.1"),
        }],
    })
}

pub fn nodeinfo(title: &str, posts: i64) -> Value {
    json!({
        "version": "2.1",
        "software": {
            "name": "folio",
            "version": env!("CARGO_PKG_VERSION"),
        },
        "protocols": ["activitypub"],
        "services": { "inbound": [], "outbound": ["atom1.0", "rss2.0"] },
        "openRegistrations": false,
        "usage": {
            "users": { "total": 1, "activeMonth": 1, "activeHalfyear": 1 },
            "localPosts": posts,
        },
        "metadata": { "nodeName": title },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blog() -> Blog<'static> {
        Blog {
            base_url: "https://garden.example",
            name: "notes",
            title: "Garden Notes",
            description: "Beans & brassicas",
        }
    }

    #[test]
    fn webfinger_knows_the_handle_the_actor_and_the_home_page() {
        let blog = blog();
        assert!(names_blog(&blog, "acct:notes@garden.example"));
        assert!(names_blog(&blog, "acct:NOTES@Garden.Example"));
        assert!(names_blog(&blog, "@notes@garden.example"));
        assert!(names_blog(&blog, "https://garden.example/fediverse/blog"));
        assert!(names_blog(&blog, "https://garden.example/"));
        assert!(!names_blog(&blog, "acct:other@garden.example"));
        assert!(!names_blog(&blog, "acct:notes@elsewhere.example"));
        assert_eq!(webfinger(&blog)["subject"], "acct:notes@garden.example");
    }

    #[test]
    fn authors_are_found_by_their_actor_and_named_as_mastodon_allows() {
        let blog = blog();
        assert_eq!(
            author_of(&blog, "https://garden.example/fediverse/authors/7"),
            Some(7)
        );
        assert_eq!(
            author_of(&blog, "https://garden.example/fediverse/authors/+7"),
            None
        );
        assert_eq!(
            author_of(&blog, "https://elsewhere.example/fediverse/authors/7"),
            None
        );
        assert_eq!(
            author_of(&blog, "https://garden.example/fediverse/blog"),
            None
        );
        assert_eq!(handle_name(&blog, "acct:ana@garden.example"), Some("ana"));
        assert_eq!(handle_name(&blog, "ana@elsewhere.example"), None);
        assert!(is_account_name("ana_2"));
        assert!(!is_account_name("Ana"));
        assert!(!is_account_name(""));
        assert!(!is_account_name(&"a".repeat(31)));
    }

    #[test]
    fn labels_become_hashtags_of_their_letters() {
        assert_eq!(hashtag("Broad beans").as_deref(), Some("#Broadbeans"));
        assert_eq!(hashtag("--"), None);
        assert_eq!(
            label_url("https://g.example", "Broad beans"),
            "https://g.example/search/label/Broad%20beans"
        );
    }

    #[test]
    fn the_actor_carries_its_key_and_shared_inbox() {
        let actor = actor(&blog(), "PEM", true);
        assert_eq!(
            actor["publicKey"]["id"],
            "https://garden.example/fediverse/blog#main-key"
        );
        assert_eq!(
            actor["endpoints"]["sharedInbox"],
            "https://garden.example/fediverse/inbox"
        );
        assert_eq!(actor["summary"], "<p>Beans &amp; brassicas</p>");
        assert_eq!(actor["manuallyApprovesFollowers"], true);
    }
}
