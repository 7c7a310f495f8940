-- HTTPS by itself (`folio serve --domain`): the ACME account, the certificates and the
-- HTTP-01 challenges live in the database, so that every Folio process on it serves the same
-- certificate, answers a challenge another process asked for, and a restart asks nothing again.

-- One account per ACME directory (Let's Encrypt, ZeroSSL, a private CA): its key and URL as
-- instant-acme serialises them.
create table acme_accounts (
    directory text primary key,
    credentials jsonb not null,
    email text,
    created_at timestamptz not null default now()
);

-- The certificate for a set of names (sorted, comma-separated), with what the admin shows.
-- The row is the renewal's state too: it exists from the first attempt, before any certificate.
create table tls_certificates (
    names text primary key,
    chain_pem text,
    key_pem text,
    issuer text,
    not_before timestamptz,
    not_after timestamptz,
    obtained_at timestamptz,
    -- Attempts that failed in a row since the last certificate, and the last one's reason.
    failures integer not null default 0,
    last_error text,
    last_error_at timestamptz,
    -- No attempt before this (backoff after a failure).
    next_attempt_at timestamptz,
    -- When the admins were last mailed about failing renewals.
    warned_at timestamptz,
    check ((chain_pem is null) = (key_pem is null))
);

-- HTTP-01 challenges in flight: the token's key authorization, answered at
-- /.well-known/acme-challenge/{token} by whichever process the CA reaches.
create table acme_challenges (
    token text primary key,
    key_authorization text not null,
    created_at timestamptz not null default now()
);
