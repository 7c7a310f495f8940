#!/usr/bin/env bash
# The replica's start: on a new volume, a base backup of the primary written with -R (so it
# starts as a standby streaming from the primary through the slot); then PostgreSQL itself.
set -euo pipefail
# The marker is written only after a whole base backup: an interrupted one is started again.
if [ ! -e "$PGDATA/.folio-replica-ready" ]; then
    until rm -rf "${PGDATA:?}"/* && pg_basebackup --host=db-primary --username=replicator \
        --pgdata="$PGDATA" --write-recovery-conf --wal-method=stream --slot=replica1 --progress; do
        echo "waiting for the primary" >&2
        sleep 2
    done
    chmod 0700 "$PGDATA"
    touch "$PGDATA/.folio-replica-ready"
fi
exec postgres -c hot_standby=on -c hot_standby_feedback=on
