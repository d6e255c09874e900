//! `arbor client status`: for every configured certificate, what the state directory says —
//! expiry, the ARI window and the point chosen in it (RFC 9773 §4.2), pending work, the
//! last failure, the landmark-relative certificate of an MTC — and the next action [`plan::decide`] would take. No network traffic.

use crate::cron::config::Config;
use crate::cron::error::CronError;
use crate::cron::fmt_time;
use crate::cron::plan::{self, Action};
use crate::cron::state::{CertState, StateDir};

/// One certificate's status lines.
pub fn describe(cfg: &Config, now: i64) -> Result<Vec<String>, CronError> {
    let dir = StateDir::open(&cfg.state_dir)?;
    let state = dir.load()?;
    let mut out = Vec::new();
    out.push(format!(
        "account: {}",
        state.account_url.as_deref().unwrap_or("(none yet)")
    ));
    for cert in &cfg.certificates {
        let empty = CertState::default();
        let cs = state.certificates.get(&cert.name).unwrap_or(&empty);
        let mut parts = Vec::new();
        match &cs.current {
            Some(c) => parts.push(format!(
                "serial {} valid {} .. {}",
                c.serial,
                fmt_time(c.not_before),
                fmt_time(c.not_after)
            )),
            None => parts.push("not issued".into()),
        }
        if let Some(r) = &cs.renewal {
            parts.push(format!(
                "ARI window {} .. {}, renew at {}, next check {}",
                fmt_time(r.window_start),
                fmt_time(r.window_end),
                fmt_time(r.renew_at),
                fmt_time(r.next_check)
            ));
        }
        if let Some(l) = &cs.landmark {
            let mut t = format!("landmark-relative certificate {:?}", l.status).to_lowercase();
            if l.status == crate::cron::state::LandmarkStatus::Waiting {
                t.push_str(&format!(", next check {}", fmt_time(l.next_check)));
            }
            if let Some(n) = &l.note {
                t.push_str(&format!(" ({n})"));
            }
            parts.push(t);
        }
        if let Some(p) = &cs.pending {
            parts.push(format!("pending order {} ({})", p.order_url, p.reason));
        }
        if let Some(f) = &cs.failure {
            parts.push(format!("last failure at {}: {}", fmt_time(f.at), f.message));
        }
        let next = match plan::decide(cert, cs, cert.renew_fraction(cfg), now) {
            Action::Idle { next, from_ari } => format!(
                "next: renew at {} ({})",
                fmt_time(next),
                if from_ari { "ARI" } else { "lifetime fraction" }
            ),
            Action::Wait { until, reason } => {
                format!("next: wait until {} ({reason})", fmt_time(until))
            }
            Action::Continue { order_url } => format!("next: continue order {order_url}"),
            Action::Order { reason, replaces } => format!(
                "next: new order now ({reason}{})",
                replaces
                    .map(|r| format!(", replaces {r}"))
                    .unwrap_or_default()
            ),
            Action::Install => "next: install the saved certificate".into(),
            Action::Deploy => "next: run the deploy hook".into(),
            Action::Landmark => "next: fetch the landmark-relative certificate".into(),
        };
        parts.push(next);
        out.push(format!("{}: {}", cert.name, parts.join("; ")));
    }
    Ok(out)
}
