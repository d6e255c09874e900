//! Running operator hook commands (`deploy_hook`, dns-01 `hook`) through `sh -c` with extra
//! environment variables, bounded in time, with their stderr kept for the error message.

use crate::cron::error::CronError;
use std::time::Duration;

/// Upper bound on one hook run.
pub const HOOK_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs `command` with `env` added; an error if it cannot start, fails or times out.
pub async fn run_hook(command: &str, env: &[(&str, &str)]) -> Result<(), CronError> {
    let fail = |reason: String| CronError::Hook {
        command: command.to_string(),
        reason,
    };
    let mut cmd = tokio::process::Command::new("sh");
    cmd.arg("-c")
        .arg(command)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd.spawn().map_err(|e| fail(e.to_string()))?;
    let out = tokio::time::timeout(HOOK_TIMEOUT, child.wait_with_output())
        .await
        .map_err(|_| fail(format!("timed out after {HOOK_TIMEOUT:?}")))?
        .map_err(|e| fail(e.to_string()))?;
    if out.status.success() {
        Ok(())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        let err = err.trim();
        Err(fail(format!(
            "{}{}",
            out.status,
            if err.is_empty() {
                String::new()
            } else {
                format!(": {}", &err[..err.len().min(300)])
            }
        )))
    }
}
