#!/usr/bin/env bash
# Runs once, when the primary's data volume is new (the postgres image's initdb hook): a role
# that may stream WAL, a slot that keeps WAL until the replica has it, and the pg_hba line that
# lets the replica connect for replication.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    --set=password="$REPLICATION_PASSWORD" <<'SQL'
create role replicator with replication login password :'password';
select pg_create_physical_replication_slot('replica1');
SQL
echo "host replication replicator all scram-sha-256" >> "$PGDATA/pg_hba.conf"
