//! What one pass shares across certificates: the configuration, the state directory, an
//! injectable clock, the lazily opened ACME connection and account (no network traffic
//! when nothing is due), and the crash-injection test hook (`ARBOR_CLIENT_CRASH_AFTER`).
//!
//! The account key is written (0600) before newAccount is sent, so a crash in between
//! finds the same key next time and the server returns the same account (RFC 8555 §7.3.1).

use crate::account::{Account, ExternalAccountBinding};
use crate::client::AcmeClient;
use crate::cron::config::Config;
use crate::cron::error::CronError;
use crate::cron::state::{KEY_MODE, State, StateDir, read_key, write_atomic};
use arbor_proto::sign::SigningKey;
use std::sync::Arc;
use std::time::Duration;

/// The environment variable naming the step after which a pass aborts (tests only).
pub const CRASH_ENV: &str = "ARBOR_CLIENT_CRASH_AFTER";

/// A source of the current time (Unix seconds), injectable for tests.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl SystemClock {
    /// Now, Unix seconds.
    pub fn now_secs(self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    }
}

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        self.now_secs()
    }
}

/// How a pass behaves.
#[derive(Clone)]
pub struct RunOptions {
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// Abort the pass right after this step (`account`, `order`, `challenges`, `key`,
    /// `finalize`, `download`, `install`): a simulated crash for tests.
    pub crash_after: Option<String>,
    /// At the crash point, abort the whole process (no destructors, no cleanup: what a
    /// `kill -9` leaves behind) instead of returning an error. Set by the binary.
    pub crash_abort: bool,
    /// Poll interval for authorizations and orders.
    pub poll_interval: Duration,
    /// Bound on waiting for one authorization to become valid.
    pub authz_timeout: Duration,
    /// A `Retry-After` longer than this is not waited for: the order is resumed next run.
    pub max_inline_wait: Duration,
}

impl std::fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field("crash_after", &self.crash_after)
            .finish_non_exhaustive()
    }
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            clock: Arc::new(SystemClock),
            crash_after: None,
            crash_abort: false,
            poll_interval: Duration::from_secs(1),
            authz_timeout: Duration::from_secs(60),
            max_inline_wait: Duration::from_secs(30),
        }
    }
}

impl RunOptions {
    /// Defaults plus `ARBOR_CLIENT_CRASH_AFTER` from the environment; in the binary the
    /// crash is a real process abort.
    pub fn from_env() -> RunOptions {
        RunOptions {
            crash_after: std::env::var(CRASH_ENV).ok().filter(|s| !s.is_empty()),
            crash_abort: true,
            ..RunOptions::default()
        }
    }
}

/// One pass's shared context.
pub struct Session<'a> {
    /// The configuration.
    pub cfg: &'a Config,
    /// The state directory.
    pub dir: StateDir,
    /// Options.
    pub opts: &'a RunOptions,
    client: Option<AcmeClient>,
    account: Option<Account>,
}

impl<'a> Session<'a> {
    /// A session over `cfg`'s state directory.
    pub fn new(cfg: &'a Config, opts: &'a RunOptions) -> Result<Session<'a>, CronError> {
        Ok(Session {
            cfg,
            dir: StateDir::open(&cfg.state_dir)?,
            opts,
            client: None,
            account: None,
        })
    }

    /// Now, from the injected clock.
    pub fn now(&self) -> i64 {
        self.opts.clock.now()
    }

    /// The test hook: fails with [`CronError::SimulatedCrash`] if `step` is the one named.
    pub fn crash_point(&self, step: &str) -> Result<(), CronError> {
        match &self.opts.crash_after {
            Some(s) if s == step && self.opts.crash_abort => {
                // SIGABRT: the process dies here like a kill -9, with nothing unwound.
                std::process::abort()
            }
            Some(s) if s == step => Err(CronError::SimulatedCrash(step.to_string())),
            _ => Ok(()),
        }
    }

    /// The ACME connection, opened on first use.
    pub async fn client(&mut self) -> Result<AcmeClient, CronError> {
        if let Some(c) = &self.client {
            return Ok(c.clone());
        }
        let root = match &self.cfg.trust_root {
            Some(p) => Some(std::fs::read(p).map_err(CronError::io("read trust root", p))?),
            None => None,
        };
        let c = AcmeClient::new(&self.cfg.directory, root.as_deref()).await?;
        self.client = Some(c.clone());
        Ok(c)
    }

    /// Loads the account key, or creates and saves one (0600) of the configured type.
    pub fn account_key(&self) -> Result<SigningKey, CronError> {
        let path = self.dir.account_key_path();
        if let Some(k) = read_key(&path)? {
            return Ok(k);
        }
        let kind = self.cfg.account.key.unwrap_or_default().kind();
        let key = SigningKey::generate(kind).map_err(|e| CronError::BadKey {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        write_atomic(&path, key.to_pem().as_bytes(), KEY_MODE)?;
        Ok(key)
    }

    /// The EAB credentials from the config, decoded.
    pub fn eab(&self) -> Result<Option<ExternalAccountBinding>, CronError> {
        let a = &self.cfg.account;
        match (&a.eab_kid, &a.eab_hmac) {
            (Some(kid), Some(hmac)) => {
                let key = arbor_proto::b64::decode(hmac.trim()).map_err(|_| {
                    CronError::ConfigInvalid("account.eab_hmac is not base64url".into())
                })?;
                Ok(Some(ExternalAccountBinding {
                    kid: kid.clone(),
                    hmac_key: key,
                    alg: a.eab_alg.clone().unwrap_or_else(|| "HS256".into()),
                }))
            }
            _ => Ok(None),
        }
    }

    /// The account: loaded from state, or registered (and saved) on first use.
    pub async fn account(&mut self, state: &mut State) -> Result<Account, CronError> {
        if let Some(a) = &self.account {
            return Ok(a.clone());
        }
        let client = self.client().await?;
        if state.directory.as_deref() != Some(self.cfg.directory.as_str()) {
            // Another CA: its account URL means nothing here.
            state.account_url = None;
            state.directory = Some(self.cfg.directory.clone());
        }
        let key = self.account_key()?;
        let acct = match state.account_url.clone() {
            Some(url) => client.load_account(key, &url).await?,
            None => {
                let eab = self.eab()?;
                let acct = client
                    .new_account(key, &self.cfg.contacts(), true, eab.as_ref())
                    .await?;
                state.account_url = Some(acct.url().to_string());
                self.dir.save(state)?;
                self.crash_point("account")?;
                acct
            }
        };
        self.account = Some(acct.clone());
        Ok(acct)
    }

    /// Replaces the cached account handle (after a key rollover).
    pub fn set_account(&mut self, acct: Account) {
        self.account = Some(acct);
    }
}
