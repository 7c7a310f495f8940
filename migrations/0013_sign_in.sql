-- Sign-in that a careful admin trusts: sessions a user can see and end, authenticator codes
-- (TOTP) with recovery codes, passkeys (WebAuthn), and a blog-wide rule requiring a second step.

-- Each session gets a public number (forms name it, never the token's hash) and what its owner
-- needs to recognise it: the browser's own description and the address it signed in from.
alter table sessions
    add column id bigint generated always as identity unique,
    add column user_agent text not null default '',
    add column client_address text not null default '',
    -- signed in while the blog requires a second step the user has not set up yet: the
    -- session reaches the account page (to set one up) and nothing else
    add column must_add_second_step boolean not null default false;

-- The WebAuthn user handle: random, never the account's number or address.
alter table users
    add column webauthn_id uuid not null default gen_random_uuid() unique;

-- An authenticator app's shared secret: pending until the user proves it with a code.
-- `last_step` is the last 30-second step whose code was accepted: a code works once.
create table totp_secrets (
    user_id bigint primary key references users (id) on delete cascade,
    secret bytea not null,
    confirmed_at timestamptz,
    last_step bigint not null default 0,
    created_at timestamptz not null default now()
);

-- Single-use recovery codes, stored as keyed hashes (a copy of this table alone proves nothing).
create table recovery_codes (
    user_id bigint not null references users (id) on delete cascade,
    code_hash bytea not null,
    used_at timestamptz,
    primary key (user_id, code_hash)
);

create table passkeys (
    id bigint generated always as identity primary key,
    user_id bigint not null references users (id) on delete cascade,
    credential_id bytea not null unique,
    name text not null check (char_length(name) between 1 and 100),
    -- webauthn-rs's Passkey, public key and counter (serde JSON; it changes on each use)
    passkey jsonb not null,
    created_at timestamptz not null default now(),
    last_used_at timestamptz
);
create index passkeys_user_id_idx on passkeys (user_id);

-- A WebAuthn ceremony between its start and its finish (any process may take the finish):
-- single use, a few minutes long. `user_id` is null for a sign-in that names nobody yet;
-- those are limited per client (`client_hash`, keyed as the login limits are).
create table webauthn_ceremonies (
    token_hash bytea primary key,
    purpose text not null check (purpose in ('register', 'sign_in', 'second_step')),
    user_id bigint references users (id) on delete cascade,
    client_hash text,
    state jsonb not null,
    expires_at timestamptz not null
);
create index webauthn_ceremonies_expires_at_idx on webauthn_ceremonies (expires_at);

-- Between a right password and the second step: the browser holds a random token (cookie),
-- the database its hash. A few wrong codes end it.
create table pending_sign_ins (
    token_hash bytea primary key,
    user_id bigint not null references users (id) on delete cascade,
    next text not null,
    failures int not null default 0,
    expires_at timestamptz not null
);
create index pending_sign_ins_expires_at_idx on pending_sign_ins (expires_at);

alter table settings
    add column require_second_step boolean not null default false;
