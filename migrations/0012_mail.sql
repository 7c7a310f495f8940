-- Email: a durable outbox. A message is written in the same transaction as the event that
-- causes it; a worker in every Folio process claims due messages (FOR UPDATE SKIP LOCKED with a
-- lease), sends them and marks them sent, retrying with backoff when the SMTP server is away.

-- What a message says. One body can go to many people (a new post to every follower); the
-- per-person unsubscribe link is put in at sending time where the body holds [[unsubscribe]].
create table mail_bodies (
    id bigint generated always as identity primary key,
    subject text not null,
    body_text text not null,
    body_html text not null,
    created_at timestamptz not null default now()
);

create table outbox (
    id bigint generated always as identity primary key,
    -- what caused it: test, moderation, reply_notice, confirm, post, password_reset, invite...
    kind text not null,
    recipient text not null,
    body_id bigint not null references mail_bodies (id) on delete cascade,
    -- the one-click unsubscribe address for notices (RFC 8058); none for personal mail
    unsubscribe_url text,
    -- stable across retries, so a message sent twice by accident is one message to the reader
    message_key uuid not null default gen_random_uuid(),
    status text not null default 'waiting' check (status in ('waiting', 'sent', 'failed')),
    attempts int not null default 0,
    due_at timestamptz not null default now(),
    -- a worker that claimed it holds it until then; after, another may take it over
    lease_until timestamptz,
    -- the SMTP server's last answer (or why it could not be reached)
    last_error text,
    created_at timestamptz not null default now(),
    sent_at timestamptz
);
create index outbox_due_idx on outbox (due_at, id) where status = 'waiting';
create index outbox_recent_idx on outbox (created_at desc, id desc);
create index outbox_body_idx on outbox (body_id);

-- Wakes the workers: no polling loop.
create function notify_outbox() returns trigger language plpgsql as $$
begin
    perform pg_notify('folio_outbox', '');
    return null;
end
$$;
create trigger outbox_notify after insert or update of status, due_at on outbox
    for each statement execute function notify_outbox();

-- Links in emails that act without a login (moderation buttons, confirmations, password
-- resets) are signed and single-use: a used one is remembered here until it would have expired.
create table used_mail_links (
    digest bytea primary key,
    expires_at timestamptz not null
);

-- Each editor and admin chooses what mail held comments bring them (Account page): a message
-- for each, one daily digest, or none (the default: mail is something people opt into).
alter table users
    add column comment_mail text not null default 'none'
        check (comment_mail in ('each', 'digest', 'none')),
    -- a notice for each approved comment on a post they wrote
    add column own_post_mail boolean not null default false,
    add column digest_sent_at timestamptz;

-- Requests that make Folio send mail to an address someone typed (password resets,
-- confirmations): counted per key (an address, a client) so the forms cannot be used to flood
-- anyone's inbox.
create table mail_requests (
    key text not null,
    at timestamptz not null default now()
);
create index mail_requests_key_idx on mail_requests (key, at);

-- People who asked for mail without an account: commenters (notices of replies, or of every
-- comment on a post) and readers ("Follow by email"). Nothing reaches an address until each
-- subscription is confirmed from the message it causes (double opt-in), and an address is kept
-- only while it has a subscription.
create table mail_addresses (
    id bigint generated always as identity primary key,
    email text not null,
    created_at timestamptz not null default now()
);
create unique index mail_addresses_email_key on mail_addresses (lower(email));

create table subscriptions (
    id bigint generated always as identity primary key,
    address_id bigint not null references mail_addresses (id) on delete cascade,
    -- replies: answers to one comment; post: every new comment on a post; blog: every new post
    scope text not null check (scope in ('replies', 'post', 'blog')),
    comment_id bigint references comments (id) on delete cascade,
    post_id bigint references posts (id) on delete cascade,
    -- the secret of its one-click unsubscribe link
    token text not null unique,
    confirmed_at timestamptz,
    created_at timestamptz not null default now(),
    check (scope <> 'replies' or comment_id is not null),
    check (scope <> 'post' or post_id is not null)
);
create unique index subscriptions_once
    on subscriptions (address_id, scope, coalesce(comment_id, 0), coalesce(post_id, 0));
create index subscriptions_comment_idx on subscriptions (comment_id) where scope = 'replies';
create index subscriptions_post_idx on subscriptions (post_id) where scope = 'post';
create index subscriptions_blog_idx on subscriptions (address_id) where scope = 'blog';

-- A new post goes to followers once, when it first becomes visible: 'due' for posts written
-- in the editor, 'done' once told; imported and demo posts are 'no' (nobody is told of them).
alter table posts
    add column announce text not null default 'no' check (announce in ('no', 'due', 'done'));
create index posts_announce_idx on posts (published_at) where announce = 'due';

-- What followers get of a new post: its summary and a link (false), or the whole post.
alter table settings add column follow_full_posts boolean not null default false;
