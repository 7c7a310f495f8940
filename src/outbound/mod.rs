//! Folio's outgoing HTTP calls: a CDN's purge hook, and federation's fetches and deliveries.
//! One request per connection over HTTP/1.1, with TLS from the same rustls and web PKI roots
//! the mail and database connections use, a deadline for the whole exchange and a cap on what
//! is read back. A request to a place other people name (an actor, an inbox) is `Reach::Public`:
//! the host is resolved here and private, loopback and link-local addresses are refused, so a
//! remote server cannot make Folio call into its own network. Redirects are not followed here;
//! a caller that follows one asks again, and is checked again.

use std::{
    net::{IpAddr, SocketAddr},
    sync::{Arc, LazyLock},
    time::Duration,
};

use axum::body::{Body, Bytes};
use http_body_util::BodyExt;
use hyper::{HeaderMap, Method, Request, StatusCode, header};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

static TLS: LazyLock<tokio_rustls::TlsConnector> = LazyLock::new(|| {
    let roots = rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("ring supports the default protocol versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
});

pub const USER_AGENT: &str = concat!("Folio/", env!("CARGO_PKG_VERSION"));

/// Where a request may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Anywhere, the operator's own network included (a URL the operator configured).
    Anywhere,
    /// Public addresses only, unless `allow_local` (a test's fediverse on 127.0.0.1).
    Public { allow_local: bool },
}

/// One outgoing request.
pub struct Outgoing<'a> {
    pub method: Method,
    pub url: &'a url::Url,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub reach: Reach,
    /// The whole exchange: connecting, TLS, sending and reading the answer.
    pub deadline: Duration,
    /// More than this many bytes of answer is an error.
    pub max_answer: usize,
}

/// What came back.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Failed(String),
    #[error("no answer within {0:?}")]
    TimedOut(Duration),
    #[error("the answer is over {0} bytes")]
    TooLarge(usize),
}

/// Sends a request and reads the whole answer.
pub async fn send(outgoing: Outgoing<'_>) -> Result<Answer, Error> {
    let deadline = outgoing.deadline;
    tokio::time::timeout(deadline, exchange(outgoing))
        .await
        .map_err(|_| Error::TimedOut(deadline))?
}

async fn exchange(outgoing: Outgoing<'_>) -> Result<Answer, Error> {
    let url = outgoing.url;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::Refused(format!("{url}: not an http(s) URL")));
    }
    // An IPv6 address without its brackets, to resolve and to name for TLS.
    let host = match url
        .host()
        .ok_or(Error::Refused("the URL has no host".into()))?
    {
        url::Host::Ipv6(address) => address.to_string(),
        other => other.to_string(),
    };
    let port = url
        .port_or_known_default()
        .ok_or(Error::Refused("the URL has no port".into()))?;
    let addresses = resolve(&host, port, outgoing.reach).await?;
    let stream = connect(&addresses).await?;
    let authority = match url.port() {
        Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_owned(),
    };
    let path = match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    };
    let mut request = Request::builder()
        .method(outgoing.method)
        .uri(path)
        .header(header::HOST, authority)
        .header(header::USER_AGENT, USER_AGENT);
    if let Some(headers) = request.headers_mut() {
        headers.extend(outgoing.headers);
    }
    let request = request
        .body(Body::from(outgoing.body))
        .map_err(|e| Error::Failed(e.to_string()))?;
    if url.scheme() == "https" {
        let name = rustls::pki_types::ServerName::try_from(host.clone())
            .map_err(|e| Error::Refused(format!("{host}: {e}")))?;
        let tls = TLS
            .connect(name, stream)
            .await
            .map_err(|e| Error::Failed(format!("TLS with {host}: {e}")))?;
        over(TokioIo::new(tls), request, outgoing.max_answer).await
    } else {
        over(TokioIo::new(stream), request, outgoing.max_answer).await
    }
}

/// The host's addresses that this request may reach.
async fn resolve(host: &str, port: u16, reach: Reach) -> Result<Vec<SocketAddr>, Error> {
    let found: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| Error::Failed(format!("cannot resolve {host}: {e}")))?
        .collect();
    let allowed: Vec<SocketAddr> = match reach {
        Reach::Anywhere | Reach::Public { allow_local: true } => found,
        Reach::Public { allow_local: false } => found
            .into_iter()
            .filter(|address| is_public(address.ip()))
            .collect(),
    };
    if allowed.is_empty() {
        return Err(Error::Refused(format!(
            "{host} has no public address (private, loopback and link-local ones are refused)"
        )));
    }
    Ok(allowed)
}

async fn connect(addresses: &[SocketAddr]) -> Result<TcpStream, Error> {
    let mut last = None;
    for address in addresses {
        match TcpStream::connect(address).await {
            Ok(stream) => {
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Err(error) => last = Some(format!("cannot connect to {address}: {error}")),
        }
    }
    Err(Error::Failed(last.unwrap_or_default()))
}

/// Whether an address is on the public internet: not loopback, private (RFC 1918, unique
/// local), link-local, shared (CGNAT), unspecified, multicast or documentation space.
pub fn is_public(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8)
        }
    }
}

async fn over<T>(io: T, request: Request<Body>, max_answer: usize) -> Result<Answer, Error>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| Error::Failed(e.to_string()))?;
    tokio::spawn(connection);
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| Error::Failed(e.to_string()))?;
    let (parts, body) = response.into_parts();
    if parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
        .is_some_and(|length| length > max_answer)
    {
        return Err(Error::TooLarge(max_answer));
    }
    let body = http_body_util::Limited::new(body, max_answer)
        .collect()
        .await
        .map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                Error::TooLarge(max_answer)
            } else {
                Error::Failed(e.to_string())
            }
        })?
        .to_bytes();
    Ok(Answer {
        status: parts.status,
        headers: parts.headers,
        body,
    })
}

/// POSTs `json` to `url` (a URL the operator configured) and answers the status code.
pub async fn post_json(
    url: &url::Url,
    authorization: Option<&str>,
    json: String,
) -> Result<u16, String> {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    if let Some(authorization) = authorization {
        headers.insert(
            header::AUTHORIZATION,
            authorization.parse().map_err(|_| "a bad authorization")?,
        );
    }
    let answer = send(Outgoing {
        method: Method::POST,
        url,
        headers,
        body: Bytes::from(json),
        reach: Reach::Anywhere,
        deadline: Duration::from_secs(30),
        max_answer: 64 * 1024,
    })
    .await
    .map_err(|e| e.to_string())?;
    Ok(answer.status.as_u16())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }
}
