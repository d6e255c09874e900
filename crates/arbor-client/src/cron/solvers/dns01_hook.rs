//! dns-01 (RFC 8555 §8.4) through an operator command: `hook` runs once per record with
//! `ACME_PHASE=add` and later `ACME_PHASE=del`, and `ACME_DOMAIN` (the identifier, without
//! `*.`), `ACME_TXT_NAME` (`_acme-challenge.<domain>`) and `ACME_TXT_VALUE` (the base64url
//! SHA-256 digest of the key authorization). The command is expected to return once the
//! record is published.

use crate::cron::error::CronError;
use crate::cron::hook::run_hook;

/// Runs the hook for one record in phase `add` or `del`.
pub async fn run(
    command: &str,
    phase: &str,
    domain: &str,
    txt_name: &str,
    value: &str,
) -> Result<(), CronError> {
    run_hook(
        command,
        &[
            ("ACME_PHASE", phase),
            ("ACME_DOMAIN", domain),
            ("ACME_TXT_NAME", txt_name),
            ("ACME_TXT_VALUE", value),
        ],
    )
    .await
}
