# Sourced by bench/run and bench/soak-all (from the repository's root): Folio as a real blog
# runs it, and how to measure it at rest.
#   - mail on: FOLIO_SMTP_URL to tests/it/mail_sink.py (aiosmtpd, installed by
#     scripts/ensure-mail-sink), which keeps each message it accepts as a JSON file;
#   - the learning spam filter trained past `spam_min_training` of each kind;
#   - an admin who gets a message for each held comment (users.comment_mail = 'each');
#   - every sidebar gadget on, with something to show;
#   - at rest: Folio's CPU %, its PostgreSQL backends' CPU % and the database's transactions/s
#     over a quiet window, and how many of 20 `GET /` the page cache answers after it.

PSQL=(psql -X -q -At -h 127.0.0.1 -U postgres)
BENCH_ADMIN_EMAIL=admin@bench.example
BENCH_ADMIN_PASSWORD='bench password 1'
BENCH_METRICS_TOKEN=bench-metrics

# mail_sink_start PORT DIR: an SMTP server on 127.0.0.1:PORT keeping each message as DIR/*.json.
# It stops when its standard input closes: the script holds a FIFO open for it (fd SINK_FD).
mail_sink_start() {
    local port=$1 dir=$2
    rm -rf "$dir" "$dir.in" "$dir.log"
    mkdir -p "$dir"
    mkfifo "$dir.in"
    python3 tests/it/mail_sink.py "$port" "$dir" < "$dir.in" > "$dir.log" 2>&1 &
    SINK_PID=$!
    exec {SINK_FD}> "$dir.in"
    SINK_DIR=$dir
    for _ in $(seq 100); do
        grep -q ready "$dir.log" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "the SMTP sink did not start: $(cat "$dir.log")" >&2
    return 1
}

mail_sink_stop() {
    [ -n "${SINK_PID:-}" ] || return 0
    exec {SINK_FD}>&-
    for _ in $(seq 50); do kill -0 "$SINK_PID" 2>/dev/null || break; sleep 0.1; done
    kill "$SINK_PID" 2>/dev/null || true
    wait "$SINK_PID" 2>/dev/null || true
    rm -f "$SINK_DIR.in"
    SINK_PID=
}

# Messages the sink has accepted so far.
mail_sink_count() {
    find "$SINK_DIR" -maxdepth 1 -name '*.json' | wc -l
}

# every_gadget_on DB: every sidebar gadget on with something to show, a navigation bar, and
# page views for Popular Posts (the heaviest sidebar; as bench/run always did).
every_gadget_on() {
    local db=$1
    "${PSQL[@]}" -d "$db" -c "update appearance set
        gadgets = (select jsonb_agg(jsonb_build_object('kind', k, 'on', true, 'title', '') order by n)
                   from unnest(array['search', 'profile', 'pages', 'link_list', 'popular_posts',
                                     'blog_archive', 'labels', 'recent_comments', 'feed_links',
                                     'follow_by_email', 'text']) with ordinality as g (k, n)),
        gadget_options = '{\"profile_name\": \"Bench Writer\", \"profile_bio\": \"Writes for the benchmark.\",
                           \"links\": [{\"label\": \"Example\", \"url\": \"https://example.org/\"}],
                           \"labels_style\": \"cloud\", \"text_body\": \"Some *notes* for the sidebar.\"}',
        navigation = '[{\"label\": \"Home\", \"url\": \"/\"}, {\"label\": \"Search\", \"url\": \"/search\"}]'" >/dev/null
    "${PSQL[@]}" -d "$db" -c "insert into page_views (post_id, day, views)
        select id, current_date, (id % 97) + 1 from posts where kind = 'post'
        on conflict do nothing" >/dev/null
}

# bench_admin FOLIO DB: an admin who signs in with a password and wants a message for each held
# comment. DATABASE_URL must name DB.
bench_admin() {
    local folio=$1 db=$2
    echo "$BENCH_ADMIN_PASSWORD" | "$folio" user add --email "$BENCH_ADMIN_EMAIL" --name "Bench Admin" \
        --role admin --password-stdin >/dev/null
    "${PSQL[@]}" -d "$db" -c "update users set comment_mail = 'each' where email = '$BENCH_ADMIN_EMAIL'" >/dev/null
}

# train_spam_filter FOLIO DB [HAM] [SPAM]: teaches the filter as a moderator's decisions would:
# HAM (default 200) of the demo's approved comments teach ham, and SPAM (default 60) spam
# comments (eight kinds of pitch, stored with status spam on the oldest post) teach spam;
# `folio spam retrain` then counts the model from them (the same labels Approve and Spam give,
# without a queue to click through). Fails unless `folio spam status` says the filter acts.
# Prints the status line.
train_spam_filter() {
    local folio=$1 db=$2 ham=${3:-200} spam=${4:-60}
    "${PSQL[@]}" -d "$db" -c "
        insert into comments (post_id, author_name, author_email, author_url, body_source, body_html, status, spam_taught)
        select p.id, s.name || ' ' || n, 'offers' || n || '@' || s.domain, 'https://' || s.domain || '/deal/' || n,
               s.pitch || ' Offer ' || n || ': https://' || s.domain || '/deal/' || n,
               '<p>' || s.pitch || ' Offer ' || n || '</p>', 'spam', 'spam'
        from (select id from posts where kind = 'post' order by published_at limit 1) p,
             generate_series(1, $spam) n
             join (values
                (0, 'Pharmacy Deals', 'cheap-pills.example', 'Buy cheap viagra and cialis online without prescription, discount pharmacy pills shipped overnight.'),
                (1, 'Casino Bonus', 'lucky-spins.example', 'Win big at our online casino: free spins, jackpot slots and a 500% deposit bonus today.'),
                (2, 'Crypto Profits', 'coin-double.example', 'Double your bitcoin in 24 hours with our guaranteed crypto investment platform, withdraw profits instantly.'),
                (3, 'Fast Loans', 'payday-now.example', 'Payday loans approved in minutes, bad credit OK, cash deposited to your account today.'),
                (4, 'Replica Watches', 'luxury-replica.example', 'Best replica watches and designer handbags, cheap prices, free shipping worldwide, order now.'),
                (5, 'SEO Expert', 'rank-first.example', 'Buy high quality backlinks and guaranteed first page Google ranking for your website, cheap SEO service.'),
                (6, 'Slim Fast', 'burn-fat.example', 'Lose 20 pounds in two weeks with this miracle weight loss supplement, doctors hate it.'),
                (7, 'Hot Singles', 'meet-tonight.example', 'Hot singles in your area want to meet tonight, click here for free adult dating.')
             ) as s (k, name, domain, pitch) on s.k = n % 8" >/dev/null
    "${PSQL[@]}" -d "$db" -c "update comments set spam_taught = 'ham'
        where id in (select id from comments where status = 'approved' and user_id is null
                     and spam_taught is null order by id limit $ham)" >/dev/null
    "$folio" spam retrain >/dev/null
    local status
    status=$("$folio" spam status)
    if ! grep -q "it holds comments" <<<"$status"; then
        echo "the spam filter is not trained: $status" >&2
        return 1
    fi
    head -1 <<<"$status" | sed 's/^folio: //'
}

# CPU time of a process so far, in clock ticks (utime + stime); empty when it is gone.
proc_ticks() {
    [ -r "/proc/$1/stat" ] && awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null
    return 0
}

# db_xacts DB [PORT...]: transactions of DB so far (committed and rolled back) on the server at
# each PORT (default: PGPORT or 5432), summed; each from a fresh session on another database, so
# that neither a stale snapshot nor this query counts.
db_xacts() {
    local db=$1 port total=0 n
    shift
    for port in "${@:-${PGPORT:-5432}}"; do
        n=$("${PSQL[@]}" -p "$port" -d postgres -c "select pg_stat_clear_snapshot();
            select xact_commit + xact_rollback from pg_stat_database where datname = '$db'" | tail -1)
        total=$((total + ${n:-0}))
    done
    echo "$total"
}

# db_backends DB [PORT...]: the backends connected to DB (Folio's pool and listeners).
db_backends() {
    local db=$1 port
    shift
    for port in "${@:-${PGPORT:-5432}}"; do
        "${PSQL[@]}" -p "$port" -d postgres -c "select pid from pg_stat_activity where datname = '$db'"
    done | tr '\n' ' '
}

# at_rest SECONDS DB PID [PORT...]: leaves Folio (PID) alone for SECONDS and prints
# "folio_cpu_pct postgres_cpu_pct transactions_per_second": Folio's CPU time over the window
# (utime + stime from /proc), its database backends' CPU time, and the database's transactions
# (on the servers at PORT..., default PGPORT or 5432: a primary and its replica, say).
# The window opens REST_SETTLE (11) seconds after the call: a backend that went idle less than a
# second after its last report sends its counts 10 s later (PostgreSQL's PGSTAT_IDLE_INTERVAL),
# so the last load's transactions would otherwise be counted as the rest's.
at_rest() {
    local seconds=$1 db=$2 pid=$3
    shift 3
    local hz backends t0 t1 c0 c1 x0 x1 p0=0 p1=0 b
    hz=$(getconf CLK_TCK)
    sleep "${REST_SETTLE:-11}"
    backends=$(db_backends "$db" "$@")
    declare -A start=()
    for b in $backends; do start[$b]=$(proc_ticks "$b"); done
    x0=$(db_xacts "$db" "$@")
    c0=$(proc_ticks "$pid")
    t0=$(date +%s.%N)
    sleep "$seconds"
    c1=$(proc_ticks "$pid")
    t1=$(date +%s.%N)
    x1=$(db_xacts "$db" "$@")
    for b in $backends; do
        local now
        now=$(proc_ticks "$b")
        if [ -n "${start[$b]}" ] && [ -n "$now" ]; then
            p0=$((p0 + start[$b]))
            p1=$((p1 + now))
        fi
    done
    awk -v c0="$c0" -v c1="$c1" -v p0="$p0" -v p1="$p1" -v x0="$x0" -v x1="$x1" -v t0="$t0" -v t1="$t1" -v hz="$hz" \
        'BEGIN { s = t1 - t0; printf "%.2f %.2f %.2f\n", 100 * (c1 - c0) / hz / s, 100 * (p1 - p0) / hz / s, (x1 - x0) / s }'
}

# Folio's page-cache hits since start (FOLIO_METRICS_TOKEN=$BENCH_METRICS_TOKEN).
page_cache_hits() {
    curl -s -H "Authorization: Bearer $BENCH_METRICS_TOKEN" "$1/metrics" |
        awk '$1 == "folio_page_cache_hits" {printf "%d\n", $2}'
}

# cache_probe BASE [N]: N (default 20) `GET /` in a row; prints how many the page cache answered.
cache_probe() {
    local base=$1 n=${2:-20} before after
    before=$(page_cache_hits "$base")
    for _ in $(seq "$n"); do curl -s -o /dev/null "$base/"; done
    after=$(page_cache_hits "$base")
    echo $((after - before))
}
