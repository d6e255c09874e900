//! The one-shot commands besides `run`: account create (with external account binding,
//! RFC 8555 §7.3.4) / show / update-contacts (§7.3.2) / rollover (§7.3.5) / deactivate
//! (§7.3.6), and revocation of an installed certificate (§7.6). All take the run lock, so
//! they never interleave with a pass.

use crate::cron::config::Config;
use crate::cron::error::CronError;
use crate::cron::lock::RunLock;
use crate::cron::session::{RunOptions, Session};
use crate::cron::state::{KEY_MODE, State, write_atomic};
use crate::csr::pem_chain_to_der;
use crate::revoke::RevocationReason;
use arbor_proto::sign::SigningKey;

/// A handle for account commands: session, lock and loaded state.
pub struct Manager<'a> {
    sess: Session<'a>,
    state: State,
    _lock: RunLock,
}

impl<'a> Manager<'a> {
    /// Opens the state directory under the lock.
    pub fn open(cfg: &'a Config, opts: &'a RunOptions) -> Result<Manager<'a>, CronError> {
        let sess = Session::new(cfg, opts)?;
        let lock = RunLock::acquire(&sess.dir.lock_path())?;
        let state = sess.dir.load()?;
        Ok(Manager {
            sess,
            state,
            _lock: lock,
        })
    }

    /// Registers the account (or finds the existing one for the saved key); returns its URL.
    pub async fn create(&mut self) -> Result<String, CronError> {
        let a = self.sess.account(&mut self.state).await?;
        Ok(a.url().to_string())
    }

    fn require_account(&self) -> Result<(), CronError> {
        match &self.state.account_url {
            Some(_) => Ok(()),
            None => Err(CronError::NoAccount(self.sess.dir.root().to_path_buf())),
        }
    }

    /// The account object as the server has it, pretty JSON.
    pub async fn show(&mut self) -> Result<String, CronError> {
        self.require_account()?;
        let a = self.sess.account(&mut self.state).await?;
        let obj = serde_json::to_value(a.object()).unwrap_or_default();
        Ok(format!(
            "account {}\n{}",
            a.url(),
            serde_json::to_string_pretty(&obj).unwrap_or_default()
        ))
    }

    /// Sets the contacts to the configured email.
    pub async fn update_contacts(&mut self) -> Result<Vec<String>, CronError> {
        self.require_account()?;
        let mut a = self.sess.account(&mut self.state).await?;
        let contacts = self.sess.cfg.contacts();
        a.update_contact(&contacts).await?;
        Ok(contacts)
    }

    /// Rolls the account over to a fresh key of the configured type. The new key is saved
    /// next to the old one first (`account.key.new`), then the key change is sent, then the
    /// new key replaces the old file.
    pub async fn rollover(&mut self) -> Result<(), CronError> {
        self.require_account()?;
        let mut a = self.sess.account(&mut self.state).await?;
        let kind = self.sess.cfg.account.key.unwrap_or_default().kind();
        let path = self.sess.dir.account_key_path();
        let new_path = path.with_extension("key.new");
        let new_key = SigningKey::generate(kind).map_err(|e| CronError::BadKey {
            path: new_path.clone(),
            reason: e.to_string(),
        })?;
        let pem = new_key.to_pem();
        write_atomic(&new_path, pem.as_bytes(), KEY_MODE)?;
        a.change_key(new_key).await?;
        write_atomic(&path, pem.as_bytes(), KEY_MODE)?;
        crate::cron::state::remove_durable(&new_path)?;
        self.sess.set_account(a);
        Ok(())
    }

    /// Deactivates the account and forgets its URL.
    pub async fn deactivate(&mut self) -> Result<(), CronError> {
        self.require_account()?;
        let mut a = self.sess.account(&mut self.state).await?;
        a.deactivate().await?;
        self.state.account_url = None;
        self.sess.dir.save(&self.state)?;
        Ok(())
    }

    /// Revokes the installed certificate of `name` as the account (RFC 8555 §7.6).
    pub async fn revoke(&mut self, name: &str, reason: Option<u8>) -> Result<String, CronError> {
        let cfg = self.sess.cfg;
        let cert = cfg
            .certificate(name)
            .ok_or_else(|| CronError::UnknownCertificate(name.to_string()))?;
        let path = cert.output_dir.join("cert.pem");
        let pem = match std::fs::read_to_string(&path) {
            Ok(p) => p,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(CronError::NotIssued(name.to_string()));
            }
            Err(e) => return Err(CronError::io("read", &path)(e)),
        };
        let der = pem_chain_to_der(&pem)?
            .into_iter()
            .next()
            .ok_or_else(|| CronError::NotIssued(name.to_string()))?;
        let reason = match reason {
            None => None,
            Some(0) => Some(RevocationReason::Unspecified),
            Some(1) => Some(RevocationReason::KeyCompromise),
            Some(3) => Some(RevocationReason::AffiliationChanged),
            Some(4) => Some(RevocationReason::Superseded),
            Some(5) => Some(RevocationReason::CessationOfOperation),
            Some(n) => {
                return Err(CronError::ConfigInvalid(format!(
                    "revocation reason {n}: use 0, 1, 3, 4 or 5 (RFC 5280 §5.3.1)"
                )));
            }
        };
        let a = self.sess.account(&mut self.state).await?;
        a.revoke(&der, reason).await?;
        let facts = crate::cron::ari::cert_facts(&der)?;
        Ok(facts.serial)
    }
}
