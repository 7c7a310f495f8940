//! The HTTPS page (admins only): the certificate served (names, issuer, validity), where it
//! comes from, when it is renewed, and the last failure to renew, in the CA's words.

use axum::{Router, extract::State, response::Response, routing::get};
use time::OffsetDateTime;

use super::Admin;
use crate::{
    db,
    error::AppError,
    http::render,
    render::dates,
    state::AppState,
    tls::{Source, certificate::About},
    views::admin::{CertificateView, HttpsPage},
};

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/https", get(page))
}

async fn page(State(state): State<AppState>, Admin(user): Admin) -> Result<Response, AppError> {
    let layout = user.layout(&state, "https", "HTTPS").await?;
    let tz = state.settings().await?.time_zone();
    let when = |at: OffsetDateTime| dates::date_and_time(&dates::zoned(at, &tz));
    let Some(https) = &state.https else {
        return render(&HttpsPage {
            layout,
            on: false,
            behind_proxy: state.config.secure_cookies(),
            names: String::new(),
            source: String::new(),
            hsts: String::new(),
            certificate: None,
            renewal: None,
            trouble: None,
        });
    };
    let config = &https.config;
    let now = OffsetDateTime::now_utc();
    let serving = https.serving();
    let (source, renewal, trouble) = match &config.source {
        Source::Acme(acme) => {
            let row = db::tls::certificate(&state.db, &config.names_key())
                .await?
                .unwrap_or_default();
            let source = format!(
                "ACME: {}{}",
                acme.directory,
                acme.email
                    .as_deref()
                    .map(|email| format!(" (account {email})"))
                    .unwrap_or_default()
            );
            let next = match (&serving, row.next_attempt_at) {
                (_, Some(retry)) if row.failures > 0 => {
                    Some(format!("next attempt {}", when(retry.max(now))))
                }
                (Some(about), _) => Some(format!("renewed from {}", when(about.renew_at()))),
                (None, _) => None,
            };
            let obtained = row
                .obtained_at
                .map(|at| format!("last obtained {}", when(at)));
            let renewal = [obtained, next].into_iter().flatten().collect::<Vec<_>>();
            let trouble = row.last_error.map(|error| {
                format!(
                    "{} failed attempt{} in a row; the last, {}: {error}",
                    row.failures,
                    if row.failures == 1 { "" } else { "s" },
                    row.last_error_at.map(when).unwrap_or_default()
                )
            });
            (
                source,
                Some(renewal.join("; ")).filter(|s| !s.is_empty()),
                trouble,
            )
        }
        Source::Files { cert, key } => (
            format!(
                "files: {} and {} (read again when they change)",
                cert.display(),
                key.display()
            ),
            None,
            https
                .trouble()
                .map(|t| format!("{}: {}", when(t.at), t.error)),
        ),
    };
    render(&HttpsPage {
        layout,
        on: true,
        behind_proxy: false,
        names: config.names.join(", "),
        source,
        hsts: match config.hsts_max_age {
            0 => "off (FOLIO_HSTS_MAX_AGE)".to_owned(),
            seconds => format!("max-age={seconds}"),
        },
        certificate: serving.map(|about| view(&about, now, &when)),
        renewal,
        trouble,
    })
}

fn view(
    about: &About,
    now: OffsetDateTime,
    when: &impl Fn(OffsetDateTime) -> String,
) -> CertificateView {
    CertificateView {
        names: about.names.join(", "),
        issuer: about.issuer.clone(),
        valid_from: when(about.not_before),
        valid_until: when(about.not_after),
        days_left: (about.not_after - now).whole_days(),
    }
}
