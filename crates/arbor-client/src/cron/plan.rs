//! Deciding what one certificate needs, without any I/O: nothing, a first order, the
//! continuation of an order in flight, a renewal (RFC 9773 §4.2: the random point chosen in
//! the ARI window has passed, or without ARI `renew_before_fraction` of the lifetime is
//! left), re-installing files, re-running the deploy hook, waiting out a rate limit, or —
//! for a Merkle Tree Certificate — asking for its landmark-relative certificate once the
//! CA's `Retry-After` has passed (draft-ietf-plants-merkle-tree-certs §9).

use crate::cron::ari::fallback_renew_at;
use crate::cron::config::CertConfig;
use crate::cron::state::{CertState, LandmarkStatus};

/// The decision for one certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Nothing to do; the next action is due at `next` (Unix seconds).
    Idle {
        /// When the renewal is due.
        next: i64,
        /// Whether `next` comes from an ARI window.
        from_ari: bool,
    },
    /// A failure or a long `Retry-After` asks to wait until `until`.
    Wait {
        /// Unix seconds.
        until: i64,
        /// Why.
        reason: String,
    },
    /// Continue the saved order.
    Continue {
        /// Its URL.
        order_url: String,
    },
    /// Place a new order.
    Order {
        /// Why (for the report line).
        reason: String,
        /// ARI identifier of the certificate it replaces (RFC 9773 §5).
        replaces: Option<String>,
    },
    /// The files of the current certificate still have to be written.
    Install,
    /// The deploy hook has not yet succeeded for the current certificate.
    Deploy,
    /// Ask for (or install) the landmark-relative certificate of the current MTC.
    Landmark,
}

/// When the landmark-relative certificate of the current certificate is next asked for,
/// if it is still awaited.
pub fn landmark_due(st: &CertState) -> Option<i64> {
    let cur = st.current.as_ref()?;
    let l = st.landmark.as_ref()?;
    (l.serial == cur.serial && l.status == LandmarkStatus::Waiting).then_some(l.next_check)
}

/// Whether renewal information should be fetched now: there is a current certificate with
/// an ARI identifier, no order in flight, and the saved window is absent, about another
/// certificate, or due for a re-check.
pub fn needs_ari_check(st: &CertState, now: i64) -> bool {
    let Some(cur) = &st.current else { return false };
    let Some(id) = &cur.cert_id else { return false };
    if st.pending.is_some() {
        return false;
    }
    match &st.renewal {
        Some(r) => &r.cert_id != id || r.next_check <= now,
        None => true,
    }
}

/// When the current certificate is due for renewal, and whether ARI said so.
pub fn renew_at(st: &CertState, fraction: f64) -> Option<(i64, bool)> {
    let cur = st.current.as_ref()?;
    match (&st.renewal, &cur.cert_id) {
        (Some(r), Some(id)) if &r.cert_id == id => Some((r.renew_at.min(cur.not_after), true)),
        _ => Some((fallback_renew_at(cur, fraction), false)),
    }
}

fn same_identifiers(a: &[String], b: &[String]) -> bool {
    let norm = |v: &[String]| {
        let mut v: Vec<String> = v.iter().map(|s| s.to_ascii_lowercase()).collect();
        v.sort();
        v.dedup();
        v
    };
    norm(a) == norm(b)
}

/// Decides the next action for `cert` at `now` (Unix seconds).
pub fn decide(cert: &CertConfig, st: &CertState, fraction: f64, now: i64) -> Action {
    if let Some(f) = &st.failure
        && let Some(until) = f.retry_after
        && until > now
    {
        return Action::Wait {
            until,
            reason: f.message.clone(),
        };
    }
    if let Some(p) = &st.pending {
        if let Some(nb) = p.not_before
            && nb > now
        {
            return Action::Wait {
                until: nb,
                reason: "the CA asked to poll the order later".into(),
            };
        }
        return Action::Continue {
            order_url: p.order_url.clone(),
        };
    }
    let Some(cur) = &st.current else {
        return Action::Order {
            reason: "no certificate yet".into(),
            replaces: None,
        };
    };
    if !same_identifiers(&cur.identifiers, &cert.identifiers) {
        return Action::Order {
            reason: "identifiers changed".into(),
            replaces: None,
        };
    }
    if st.install_pending {
        return Action::Install;
    }
    let (due, from_ari) = renew_at(st, fraction).unwrap_or((now, false));
    if now >= due || now >= cur.not_after {
        let reason = if from_ari {
            "ARI renewal window reached"
        } else {
            "renewal point reached (no ARI)"
        };
        return Action::Order {
            reason: reason.into(),
            replaces: cur.cert_id.clone(),
        };
    }
    if let Some(l) = &st.landmark
        && l.serial == cur.serial
        && (l.status == LandmarkStatus::Saved
            || (l.status == LandmarkStatus::Waiting && l.next_check <= now))
    {
        return Action::Landmark;
    }
    if st.deploy_pending {
        return Action::Deploy;
    }
    Action::Idle {
        next: due,
        from_ari,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cron::state::{Failure, Issued, Pending, RenewalState};

    fn cert() -> CertConfig {
        crate::cron::config::Config::parse(
            r#"directory = "https://ca/dir"
state_dir = "s"
[[certificate]]
name = "www"
identifiers = ["a.example", "b.example"]
output_dir = "o"
"#,
            std::path::Path::new("/"),
        )
        .unwrap()
        .certificates
        .remove(0)
    }

    fn issued() -> CertState {
        CertState {
            current: Some(Issued {
                identifiers: vec!["b.example".into(), "a.example".into()],
                cert_id: Some("aki.serial".into()),
                serial: "01".into(),
                not_before: 0,
                not_after: 900,
                order_url: "o".into(),
                certificate_url: "c".into(),
            }),
            ..CertState::default()
        }
    }

    #[test]
    fn first_order_then_idle_then_renew_with_replaces() {
        let c = cert();
        let empty = CertState::default();
        assert!(matches!(
            decide(&c, &empty, 1.0 / 3.0, 0),
            Action::Order { replaces: None, .. }
        ));
        let st = issued();
        assert_eq!(
            decide(&c, &st, 1.0 / 3.0, 100),
            Action::Idle {
                next: 600,
                from_ari: false
            }
        );
        assert!(needs_ari_check(&st, 100));
        let mut ari = st.clone();
        ari.renewal = Some(RenewalState {
            cert_id: "aki.serial".into(),
            window_start: 400,
            window_end: 500,
            renew_at: 450,
            next_check: 200,
        });
        assert!(!needs_ari_check(&ari, 100));
        assert!(needs_ari_check(&ari, 200));
        assert_eq!(
            decide(&c, &ari, 1.0 / 3.0, 449),
            Action::Idle {
                next: 450,
                from_ari: true
            }
        );
        assert_eq!(
            decide(&c, &ari, 1.0 / 3.0, 450),
            Action::Order {
                reason: "ARI renewal window reached".into(),
                replaces: Some("aki.serial".into())
            }
        );
    }

    #[test]
    fn pending_failures_and_changes() {
        let c = cert();
        let mut st = issued();
        st.pending = Some(Pending {
            order_url: "https://ca/order/1".into(),
            identifiers: c.identifiers.clone(),
            replaces: None,
            reason: "x".into(),
            created: 0,
            not_before: Some(50),
        });
        assert!(matches!(
            decide(&c, &st, 0.3, 10),
            Action::Wait { until: 50, .. }
        ));
        assert!(matches!(decide(&c, &st, 0.3, 50), Action::Continue { .. }));
        st.failure = Some(Failure {
            message: "rateLimited".into(),
            at: 0,
            retry_after: Some(70),
        });
        assert!(matches!(
            decide(&c, &st, 0.3, 60),
            Action::Wait { until: 70, .. }
        ));
        let mut changed = issued();
        changed.current.as_mut().unwrap().identifiers = vec!["a.example".into()];
        assert!(matches!(
            decide(&c, &changed, 0.3, 1),
            Action::Order { replaces: None, .. }
        ));
        let mut deploy = issued();
        deploy.deploy_pending = true;
        assert_eq!(decide(&c, &deploy, 1.0 / 3.0, 1), Action::Deploy);
    }

    #[test]
    fn landmark_after_its_retry_after_and_never_past_renewal() {
        let c = cert();
        let mut st = issued();
        st.landmark = Some(crate::cron::state::LandmarkState {
            serial: "01".into(),
            alternate_url: Some("https://ca/cert/01/landmark".into()),
            new_relative_offered: true,
            landmark_document: None,
            status: LandmarkStatus::Waiting,
            next_check: 300,
            attempts: 1,
            note: None,
        });
        assert_eq!(landmark_due(&st), Some(300));
        assert!(matches!(
            decide(&c, &st, 1.0 / 3.0, 299),
            Action::Idle { .. }
        ));
        assert_eq!(decide(&c, &st, 1.0 / 3.0, 300), Action::Landmark);
        // Renewal wins: the landmark-relative form of a replaced certificate is moot.
        assert!(matches!(
            decide(&c, &st, 1.0 / 3.0, 600),
            Action::Order { .. }
        ));
        // A landmark state about another certificate is ignored.
        st.landmark.as_mut().unwrap().serial = "02".into();
        assert_eq!(landmark_due(&st), None);
        assert!(matches!(
            decide(&c, &st, 1.0 / 3.0, 300),
            Action::Idle { .. }
        ));
        st.landmark.as_mut().unwrap().serial = "01".into();
        st.landmark.as_mut().unwrap().status = LandmarkStatus::Saved;
        assert_eq!(decide(&c, &st, 1.0 / 3.0, 1), Action::Landmark);
        st.landmark.as_mut().unwrap().status = LandmarkStatus::Installed;
        assert!(matches!(
            decide(&c, &st, 1.0 / 3.0, 400),
            Action::Idle { .. }
        ));
    }
}
