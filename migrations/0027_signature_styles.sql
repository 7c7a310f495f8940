-- Instances that refused an RFC 9421 signature and took the draft-cavage one ("double
-- knocking"): signed the old way for a month, then asked the new way again.
create table fediverse_cavage_instances (
    domain text primary key,
    learned_at timestamptz not null default now()
);
