//! ACME Renewal Information (RFC 9773), client side: the certificate identifier (§4.1,
//! `base64url(AKI keyIdentifier) "." base64url(serial)`), fetching the suggested window
//! (§4.2) with its `Retry-After` (§4.3), and the renewal point: a uniformly random instant
//! inside the window, chosen once and kept (persisted) while the window stays the same.
//!
//! Without ARI the client renews once `renew_before_fraction` of the lifetime is left.

use crate::client::AcmeClient;
use crate::cron::error::CronError;
use crate::cron::state::{Issued, RenewalState};
use rand::Rng;
use std::time::Duration;
use x509_parser::extensions::ParsedExtension;

/// Bounds on how long to wait before asking for renewal info again (§4.3 lets the client
/// clamp the server's `Retry-After` to reasonable values).
pub const MIN_ARI_RECHECK: i64 = 60;
/// See [`MIN_ARI_RECHECK`]; one day.
pub const MAX_ARI_RECHECK: i64 = 86_400;
/// Used when the server sends no `Retry-After`: six hours (§4.3's example).
pub const DEFAULT_ARI_RECHECK: i64 = 6 * 3_600;

/// Facts read from a DER certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertFacts {
    /// ARI certificate identifier, if the certificate has an AKI key identifier.
    pub cert_id: Option<String>,
    /// Serial, hex.
    pub serial: String,
    /// notBefore, Unix seconds.
    pub not_before: i64,
    /// notAfter, Unix seconds.
    pub not_after: i64,
    /// Issuer CN, if any.
    pub issuer_cn: Option<String>,
}

/// Parses what the client needs from a certificate.
pub fn cert_facts(der: &[u8]) -> Result<CertFacts, CronError> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| CronError::BadCertificate(e.to_string()))?;
    let tbs = &cert.tbs_certificate;
    let serial = tbs.raw_serial();
    let aki = tbs
        .extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::AuthorityKeyIdentifier(a) => a.key_identifier.as_ref().map(|k| k.0),
            _ => None,
        });
    let cert_id = aki.map(|a| {
        format!(
            "{}.{}",
            arbor_proto::b64::encode(a),
            arbor_proto::b64::encode(serial)
        )
    });
    let issuer_cn = tbs
        .issuer()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_string);
    Ok(CertFacts {
        cert_id,
        serial: hex_lower(serial),
        not_before: tbs.validity().not_before.timestamp(),
        not_after: tbs.validity().not_after.timestamp(),
        issuer_cn,
    })
}

fn hex_lower(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A window as the server suggested it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Start, Unix seconds.
    pub start: i64,
    /// End, Unix seconds.
    pub end: i64,
    /// The server's `Retry-After`.
    pub retry_after: Option<Duration>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct RenewalInfo {
    suggested_window: SuggestedWindow,
}

#[derive(serde::Deserialize)]
struct SuggestedWindow {
    start: String,
    end: String,
}

fn rfc3339(s: &str) -> Result<i64, CronError> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|e| CronError::BadCertificate(format!("renewalInfo time {s:?}: {e}")))
}

/// Fetches the suggested window for `cert_id` (GET `renewalInfo/<certID>`, §4.1). `None` if
/// the server has no `renewalInfo` endpoint.
pub async fn fetch_window(client: &AcmeClient, cert_id: &str) -> Result<Option<Window>, CronError> {
    let Some(base) = client.directory().renewal_info.clone() else {
        return Ok(None);
    };
    let url = format!("{}/{}", base.trim_end_matches('/'), cert_id);
    let raw = client.get(&url).await?;
    let info: RenewalInfo = raw.json()?;
    let start = rfc3339(&info.suggested_window.start)?;
    let end = rfc3339(&info.suggested_window.end)?;
    if end < start {
        return Err(CronError::BadCertificate(format!(
            "renewalInfo window ends before it starts ({url})"
        )));
    }
    Ok(Some(Window {
        start,
        end,
        retry_after: raw.retry_after,
    }))
}

/// Merges a freshly fetched window into the saved renewal state: the random point is kept
/// if the window did not change, else a new one is drawn uniformly in `[start, end)`.
pub fn merge_window(
    old: Option<&RenewalState>,
    cert_id: &str,
    w: Window,
    now: i64,
) -> RenewalState {
    let recheck = w
        .retry_after
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(MAX_ARI_RECHECK))
        .unwrap_or(DEFAULT_ARI_RECHECK)
        .clamp(MIN_ARI_RECHECK, MAX_ARI_RECHECK);
    let renew_at = match old {
        Some(o) if o.cert_id == cert_id && o.window_start == w.start && o.window_end == w.end => {
            o.renew_at
        }
        _ if w.end > w.start => rand::rng().random_range(w.start..w.end),
        _ => w.start,
    };
    RenewalState {
        cert_id: cert_id.to_string(),
        window_start: w.start,
        window_end: w.end,
        renew_at,
        next_check: now + recheck,
    }
}

/// The renewal time without ARI: `fraction` of the lifetime before notAfter.
pub fn fallback_renew_at(cur: &Issued, fraction: f64) -> i64 {
    let life = (cur.not_after - cur.not_before).max(1) as f64;
    cur.not_after - (life * fraction) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_point_is_inside_and_stable() {
        let w = Window {
            start: 1_000,
            end: 2_000,
            retry_after: Some(Duration::from_secs(5)),
        };
        let a = merge_window(None, "x.y", w, 500);
        assert!((1_000..2_000).contains(&a.renew_at));
        assert_eq!(a.next_check, 500 + MIN_ARI_RECHECK);
        let b = merge_window(Some(&a), "x.y", w, 600);
        assert_eq!(b.renew_at, a.renew_at, "same window keeps the point");
        let moved = Window {
            start: 100,
            end: 101,
            retry_after: None,
        };
        let c = merge_window(Some(&a), "x.y", moved, 600);
        assert_eq!(c.renew_at, 100);
        assert_eq!(c.next_check, 600 + DEFAULT_ARI_RECHECK);
    }

    #[test]
    fn fallback_is_two_thirds_by_default() {
        let cur = Issued {
            identifiers: vec![],
            cert_id: None,
            serial: "01".into(),
            not_before: 0,
            not_after: 90,
            order_url: String::new(),
            certificate_url: String::new(),
        };
        assert_eq!(fallback_renew_at(&cur, 1.0 / 3.0), 60);
    }
}
