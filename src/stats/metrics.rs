//! Request counts and latencies per route, kept in memory and written in Prometheus' text format.

use std::{
    collections::HashMap,
    fmt::Write,
    sync::Mutex,
    time::{Duration, Instant},
};

use axum::http::Method;

/// Upper bounds of the latency histogram's buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Default)]
struct RouteStats {
    /// Requests by method and status.
    requests: HashMap<(Method, u16), u64>,
    /// Cumulative counts per bucket are computed when written; these are per bucket, with one
    /// more for slower than the last bound.
    buckets: [u64; BUCKETS.len() + 1],
    seconds: f64,
    count: u64,
}

pub struct Metrics {
    started: Instant,
    routes: Mutex<HashMap<String, RouteStats>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            started: Instant::now(),
            routes: Mutex::new(HashMap::new()),
        }
    }
}

static OTHER_METHOD: std::sync::LazyLock<Method> =
    std::sync::LazyLock::new(|| Method::from_bytes(b"OTHER").expect("a method name"));

impl Metrics {
    /// Counts one answered request. `route` is the matched route pattern (never the path
    /// itself, which would make one series per URL).
    pub fn record(&self, route: &str, method: &Method, status: u16, latency: Duration) {
        let Ok(mut routes) = self.routes.lock() else {
            return;
        };
        let stats = match routes.get_mut(route) {
            Some(stats) => stats,
            None => routes.entry(route.to_owned()).or_default(),
        };
        // Standard methods clone without allocating; any other name is one series, not one
        // per name a client invents.
        let method = match *method {
            Method::GET
            | Method::HEAD
            | Method::POST
            | Method::PUT
            | Method::DELETE
            | Method::OPTIONS
            | Method::PATCH
            | Method::CONNECT
            | Method::TRACE => method.clone(),
            _ => OTHER_METHOD.clone(),
        };
        *stats.requests.entry((method, status)).or_default() += 1;
        let seconds = latency.as_secs_f64();
        stats.buckets[bucket_of(&BUCKETS, seconds)] += 1;
        stats.seconds += seconds;
        stats.count += 1;
    }

    /// The request series, then `extra` gauges, in the text exposition format.
    pub fn render(&self, gauges: &[Gauge]) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP folio_http_requests_total Requests answered, by route pattern, method and status.\n\
             # TYPE folio_http_requests_total counter"
        );
        let routes = self.routes.lock().map(|r| snapshot(&r)).unwrap_or_default();
        for (route, stats) in &routes {
            let mut requests: Vec<_> = stats
                .requests
                .iter()
                .map(|((method, status), count)| (method.as_str(), *status, *count))
                .collect();
            requests.sort_unstable();
            for (method, status, count) in requests {
                let _ = writeln!(
                    out,
                    "folio_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{status}\"}} {count}",
                    escape(route),
                    escape(method)
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP folio_http_request_duration_seconds Time from request to response headers, by route pattern.\n\
             # TYPE folio_http_request_duration_seconds histogram"
        );
        for (route, stats) in &routes {
            write_histogram(
                &mut out,
                "folio_http_request_duration_seconds",
                &format!("route=\"{}\"", escape(route)),
                &BUCKETS,
                &stats.buckets,
                stats.seconds,
                stats.count,
            );
        }
        write_spam_scores(&mut out);
        let mut gauges = gauges.to_vec();
        gauges.push(Gauge::new(
            "folio_uptime_seconds",
            "Seconds since this process started.",
            self.started.elapsed().as_secs_f64(),
        ));
        if let Some(bytes) = resident_bytes() {
            gauges.push(Gauge::new(
                "process_resident_memory_bytes",
                "Resident memory of this process.",
                bytes as f64,
            ));
        }
        let mut described = std::collections::HashSet::new();
        for gauge in &gauges {
            if described.insert(gauge.name) {
                let _ = writeln!(
                    out,
                    "# HELP {} {}\n# TYPE {} gauge",
                    gauge.name, gauge.help, gauge.name
                );
            }
            match &gauge.label {
                Some((name, value)) => {
                    let _ = writeln!(
                        out,
                        "{}{{{name}=\"{}\"}} {}",
                        gauge.name,
                        escape(value),
                        gauge.value
                    );
                }
                None => {
                    let _ = writeln!(out, "{} {}", gauge.name, gauge.value);
                }
            }
        }
        out
    }
}

/// Upper bounds of the spam filter's scoring-time buckets, in seconds.
const SPAM_BUCKETS: [f64; 8] = [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.05];

/// Per bucket (one more for slower), total seconds, count.
type SpamScores = ([u64; SPAM_BUCKETS.len() + 1], f64, u64);

static SPAM_SCORES: Mutex<SpamScores> = Mutex::new(([0; SPAM_BUCKETS.len() + 1], 0.0, 0));

/// Counts one spam score (tokens, the counts' query and the arithmetic) of this process.
pub fn spam_scored(took: Duration) {
    let seconds = took.as_secs_f64();
    if let Ok(mut scores) = SPAM_SCORES.lock() {
        scores.0[bucket_of(&SPAM_BUCKETS, seconds)] += 1;
        scores.1 += seconds;
        scores.2 += 1;
    }
}

fn write_spam_scores(out: &mut String) {
    let Ok(scores) = SPAM_SCORES.lock().map(|s| *s) else {
        return;
    };
    let _ = writeln!(
        out,
        "# HELP folio_spam_score_duration_seconds Time to score a new comment against the spam filter's model, bringing this process's copy up to date included.\n\
         # TYPE folio_spam_score_duration_seconds histogram"
    );
    write_histogram(
        out,
        "folio_spam_score_duration_seconds",
        "",
        &SPAM_BUCKETS,
        &scores.0,
        scores.1,
        scores.2,
    );
}

/// The bucket a duration falls in: the first bound it does not exceed, or the one past them.
fn bucket_of(bounds: &[f64], seconds: f64) -> usize {
    bounds
        .iter()
        .position(|bound| seconds <= *bound)
        .unwrap_or(bounds.len())
}

/// One histogram's samples: cumulative buckets, sum and count, with `labels` (`name="value"`,
/// or empty) on each.
fn write_histogram(
    out: &mut String,
    name: &str,
    labels: &str,
    bounds: &[f64],
    buckets: &[u64],
    seconds: f64,
    count: u64,
) {
    let prefix = if labels.is_empty() {
        String::new()
    } else {
        format!("{labels},")
    };
    let mut cumulative = 0;
    for (bound, n) in bounds.iter().zip(buckets) {
        cumulative += n;
        let _ = writeln!(out, "{name}_bucket{{{prefix}le=\"{bound}\"}} {cumulative}");
    }
    let braces = if labels.is_empty() {
        String::new()
    } else {
        format!("{{{labels}}}")
    };
    let _ = writeln!(
        out,
        "{name}_bucket{{{prefix}le=\"+Inf\"}} {count}\n{name}_sum{braces} {seconds}\n{name}_count{braces} {count}"
    );
}

/// One gauge sample, optionally with one label.
#[derive(Debug, Clone)]
pub struct Gauge {
    pub name: &'static str,
    pub help: &'static str,
    pub label: Option<(&'static str, String)>,
    pub value: f64,
}

impl Gauge {
    pub fn new(name: &'static str, help: &'static str, value: f64) -> Self {
        Self {
            name,
            help,
            label: None,
            value,
        }
    }

    pub fn labelled(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.label = Some((name, value.into()));
        self
    }
}

/// A sorted copy, so the lock is not held while writing.
fn snapshot(routes: &HashMap<String, RouteStats>) -> Vec<(String, RouteStats)> {
    let mut copy: Vec<_> = routes
        .iter()
        .map(|(route, stats)| {
            (
                route.clone(),
                RouteStats {
                    requests: stats.requests.clone(),
                    buckets: stats.buckets,
                    seconds: stats.seconds,
                    count: stats.count,
                },
            )
        })
        .collect();
    copy.sort_by(|a, b| a.0.cmp(&b.0));
    copy
}

/// Label values escape backslash, quote and newline.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invented_methods_are_one_series() {
        let metrics = Metrics::default();
        for name in ["FOO", "BAR", "BAZ"] {
            let method = Method::from_bytes(name.as_bytes()).unwrap();
            metrics.record("unmatched", &method, 405, Duration::from_millis(1));
        }
        let text = metrics.render(&[]);
        assert!(
            text.contains(
                "folio_http_requests_total{route=\"unmatched\",method=\"OTHER\",status=\"405\"} 3"
            ),
            "{text}"
        );
        assert!(!text.contains("FOO"));
    }

    #[test]
    fn requests_are_counted_by_route_and_status_with_a_cumulative_histogram() {
        let metrics = Metrics::default();
        metrics.record("/", &Method::GET, 200, Duration::from_micros(300));
        metrics.record("/", &Method::GET, 200, Duration::from_millis(30));
        metrics.record("/", &Method::GET, 304, Duration::from_secs(9));
        let text =
            metrics.render(&[Gauge::new("folio_x", "An example.", 2.0).labelled("status", "a\"b")]);
        assert!(
            text.contains("folio_http_requests_total{route=\"/\",method=\"GET\",status=\"200\"} 2")
        );
        assert!(
            text.contains("folio_http_requests_total{route=\"/\",method=\"GET\",status=\"304\"} 1")
        );
        assert!(
            text.contains(
                "folio_http_request_duration_seconds_bucket{route=\"/\",le=\"0.0005\"} 1"
            )
        );
        assert!(
            text.contains("folio_http_request_duration_seconds_bucket{route=\"/\",le=\"0.05\"} 2")
        );
        assert!(
            text.contains("folio_http_request_duration_seconds_bucket{route=\"/\",le=\"5\"} 2")
        );
        assert!(
            text.contains("folio_http_request_duration_seconds_bucket{route=\"/\",le=\"+Inf\"} 3")
        );
        assert!(text.contains("folio_http_request_duration_seconds_count{route=\"/\"} 3"));
        assert!(text.contains("# TYPE folio_x gauge\nfolio_x{status=\"a\\\"b\"} 2"));
    }
}
