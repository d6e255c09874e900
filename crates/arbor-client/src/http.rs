//! HTTPS transport for the client: one pooled reqwest client (rustls on aws-lc-rs, TCP_NODELAY,
//! HTTPS only, timeouts) and the header parsing ACME needs: `Replay-Nonce` (RFC 8555 §6.5.1),
//! `Location`, `Link` (RFC 8288, §7.4.2 `rel="alternate"`, §7.1 `rel="index"`) and
//! `Retry-After` (RFC 9110 §10.2.3, both delta-seconds and HTTP-date forms).

use crate::error::ClientError;
use reqwest::header::{HeaderMap, LINK, LOCATION, RETRY_AFTER};
use std::time::{Duration, SystemTime};

/// Media type of every signed ACME request body (RFC 8555 §6.2).
pub const JOSE_JSON: &str = "application/jose+json";
/// Media type of a certificate chain download (RFC 8555 §7.4.2).
pub const PEM_CHAIN: &str = "application/pem-certificate-chain";
/// The response header carrying a fresh nonce (RFC 8555 §6.5.1).
pub const REPLAY_NONCE: &str = "replay-nonce";

/// Transport settings.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Whole-request timeout (connect + send + receive).
    pub request_timeout: Duration,
    /// TCP + TLS connect timeout.
    pub connect_timeout: Duration,
    /// User-Agent sent with every request (RFC 8555 §6.1 asks clients to send one).
    pub user_agent: String,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            user_agent: concat!("arbor-client/", env!("CARGO_PKG_VERSION")).to_string(),
        }
    }
}

/// Builds the pooled HTTPS client, trusting the platform roots plus `extra_root_pem`.
pub fn build_http(
    extra_root_pem: Option<&[u8]>,
    opts: &HttpOptions,
) -> Result<reqwest::Client, ClientError> {
    let mut b = reqwest::Client::builder()
        .https_only(true)
        .tcp_nodelay(true)
        .timeout(opts.request_timeout)
        .connect_timeout(opts.connect_timeout)
        .user_agent(opts.user_agent.clone())
        .redirect(reqwest::redirect::Policy::none());
    if let Some(pem) = extra_root_pem {
        let certs =
            reqwest::Certificate::from_pem_bundle(pem).map_err(ClientError::BadTrustRoot)?;
        if certs.is_empty() {
            return Err(ClientError::EmptyTrustRoot);
        }
        b = b.tls_certs_merge(certs);
    }
    Ok(b.build()?)
}

/// A successful reply: status, the headers ACME cares about, and the body.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// The URL requested.
    pub url: String,
    /// HTTP status.
    pub status: u16,
    /// `Location`, resolved against `url`.
    pub location: Option<String>,
    /// `Retry-After`, as a duration from now.
    pub retry_after: Option<Duration>,
    /// All `Link` headers as (rel, absolute URL).
    pub links: Vec<(String, String)>,
    /// `Replay-Nonce`, if present.
    pub nonce: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

impl RawResponse {
    /// Reads status, headers and body from a reqwest response.
    pub async fn read(url: &str, resp: reqwest::Response) -> Result<RawResponse, ClientError> {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.bytes().await?.to_vec();
        let base = reqwest::Url::parse(url).ok();
        Ok(RawResponse {
            url: url.to_string(),
            status,
            location: header_str(&headers, LOCATION.as_str()).map(|l| resolve(base.as_ref(), &l)),
            retry_after: parse_retry_after_header(&headers, SystemTime::now()),
            links: parse_links(&headers, base.as_ref()),
            nonce: header_str(&headers, REPLAY_NONCE),
            body,
        })
    }

    /// Decodes the body as JSON of type `T`.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, ClientError> {
        serde_json::from_slice(&self.body).map_err(|source| ClientError::BadJson {
            url: self.url.clone(),
            source,
        })
    }

    /// URLs of every `Link` with relation `rel`.
    pub fn links_with_rel(&self, rel: &str) -> Vec<String> {
        self.links
            .iter()
            .filter(|(r, _)| r.eq_ignore_ascii_case(rel))
            .map(|(_, u)| u.clone())
            .collect()
    }

    /// The `Location` header, or a typed error naming it.
    pub fn require_location(&self) -> Result<String, ClientError> {
        self.location.clone().ok_or(ClientError::MissingHeader {
            url: self.url.clone(),
            header: "Location",
        })
    }

    /// Turns an error status into [`ClientError::Problem`] (or `UnexpectedStatus`).
    pub fn into_error(self) -> ClientError {
        match serde_json::from_slice::<arbor_proto::Problem>(&self.body) {
            Ok(problem) => ClientError::Problem {
                status: self.status,
                url: self.url,
                problem: Box::new(problem),
                retry_after: self.retry_after,
            },
            Err(_) => ClientError::UnexpectedStatus {
                status: self.status,
                snippet: String::from_utf8_lossy(&self.body[..self.body.len().min(200)])
                    .into_owned(),
                url: self.url,
            },
        }
    }
}

fn header_str(h: &HeaderMap, name: &str) -> Option<String> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_string())
}

fn resolve(base: Option<&reqwest::Url>, s: &str) -> String {
    match base.and_then(|b| b.join(s).ok()) {
        Some(u) => u.to_string(),
        None => s.to_string(),
    }
}

/// Parses a `Retry-After` value: delta-seconds or an IMF-fixdate (RFC 9110 §10.2.3).
/// A date in the past yields zero.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        return v.parse::<u64>().ok().map(Duration::from_secs);
    }
    let when = httpdate::parse_http_date(v).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

fn parse_retry_after_header(h: &HeaderMap, now: SystemTime) -> Option<Duration> {
    header_str(h, RETRY_AFTER.as_str()).and_then(|v| parse_retry_after(&v, now))
}

/// Parses every `Link` header (RFC 8288 §3) into (rel, URL) pairs, one per relation type.
fn parse_links(h: &HeaderMap, base: Option<&reqwest::Url>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for v in h.get_all(LINK).iter() {
        if let Ok(s) = v.to_str() {
            for (rel, url) in parse_link_value(s) {
                out.push((rel, resolve(base, &url)));
            }
        }
    }
    out
}

/// Parses one `Link` header value, which may hold several comma-separated links.
pub fn parse_link_value(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find('<') {
        let Some(end) = rest[start..].find('>') else {
            break;
        };
        let url = rest[start + 1..start + end].to_string();
        rest = &rest[start + end + 1..];
        // Parameters run to the next link (a ',' followed by '<'), honouring quotes.
        let mut params_end = rest.len();
        let mut in_quotes = false;
        for (i, c) in rest.char_indices() {
            match c {
                '"' => in_quotes = !in_quotes,
                ',' if !in_quotes => {
                    params_end = i;
                    break;
                }
                _ => {}
            }
        }
        let params = &rest[..params_end];
        rest = &rest[params_end..];
        for p in params.split(';') {
            let Some((k, v)) = p.split_once('=') else {
                continue;
            };
            if k.trim().eq_ignore_ascii_case("rel") {
                for rel in v.trim().trim_matches('"').split_ascii_whitespace() {
                    out.push((rel.to_string(), url.clone()));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_both_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        let later = now + Duration::from_secs(90);
        let date = httpdate::fmt_http_date(later);
        assert_eq!(parse_retry_after(&date, now), Some(Duration::from_secs(90)));
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(5));
        assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-3", now), None);
    }

    #[test]
    fn link_values() {
        let v = r#"<https://ca/cert/1/alt/1>;rel="alternate", <https://ca/dir>; rel="index",<https://ca/x,y>;title="a,b";rel=alternate"#;
        let got = parse_link_value(v);
        assert_eq!(
            got,
            vec![
                (
                    "alternate".to_string(),
                    "https://ca/cert/1/alt/1".to_string()
                ),
                ("index".to_string(), "https://ca/dir".to_string()),
                ("alternate".to_string(), "https://ca/x,y".to_string()),
            ]
        );
        assert!(parse_link_value("garbage <unterminated").is_empty());
    }

    #[test]
    fn relative_links_resolve() {
        let mut h = HeaderMap::new();
        h.append(LINK, "</cert/9/1>;rel=\"alternate\"".parse().unwrap());
        h.append(LINK, "<https://other/dir>;rel=\"index\"".parse().unwrap());
        let base = reqwest::Url::parse("https://ca.test:14000/cert/9").unwrap();
        let got = parse_links(&h, Some(&base));
        assert_eq!(got[0].1, "https://ca.test:14000/cert/9/1");
        assert_eq!(got[1].1, "https://other/dir");
    }
}
