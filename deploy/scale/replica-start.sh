#!/usr/bin/env bash
# The replica's start: on a new volume, a base backup of the primary written with -R (so it
# starts as a standby streaming from the primary through the slot); then PostgreSQL itself.
set -euo pipefail
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    until pg_basebackup --host=db-primary --username=replicator --pgdata="$PGDATA" \
        --write-recovery-conf --wal-method=stream --slot=replica1 --progress; do
        echo "waiting for the primary" >&2
        rm -rf "${PGDATA:?}"/*
        sleep 2
    done
    chmod 0700 "$PGDATA"
fi
exec postgres -c hot_standby=on -c hot_standby_feedback=on
