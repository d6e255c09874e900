//! `arbor client`: the cron-driven ACME client (logic in `arbor_client::cron`).
//!
//! Stable interface: `arbor client run --config FILE [--quiet]`, `arbor client status
//! --config FILE`, `arbor client account create|show|update-contacts|rollover|deactivate
//! --config FILE`, `arbor client revoke --config FILE --name NAME [--reason N]`.
//!
//! Exit codes: 0 every certificate fine; 1 some certificate failed (the report line says
//! why and when it is retried); 2 configuration error; 3 another run holds the lock.

use arbor_client::cron::manage::Manager;
use arbor_client::cron::{
    self, Config, CronError, EXIT_CERT_FAILED, EXIT_CONFIG, EXIT_LOCKED, EXIT_OK, RunOptions,
};
use std::path::PathBuf;

/// Flags of `arbor client`.
#[derive(clap::Args, Debug)]
pub struct ClientArgs {
    #[command(subcommand)]
    cmd: ClientCmd,
}

#[derive(clap::Args, Debug)]
struct ConfigArg {
    /// The client configuration (TOML).
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
}

#[derive(clap::Subcommand, Debug)]
enum ClientCmd {
    /// One idempotent pass: obtain, continue or renew every configured certificate.
    Run {
        #[command(flatten)]
        config: ConfigArg,
        /// Print only failures.
        #[arg(long)]
        quiet: bool,
    },
    /// Show every certificate's expiry, ARI window, pending work and next action.
    Status {
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Account management.
    Account {
        #[command(subcommand)]
        action: AccountCmd,
    },
    /// Revoke the installed certificate of one configured name.
    Revoke {
        #[command(flatten)]
        config: ConfigArg,
        /// The `[[certificate]]` name.
        #[arg(long)]
        name: String,
        /// RFC 5280 reason code (0, 1, 3, 4 or 5).
        #[arg(long)]
        reason: Option<u8>,
    },
}

#[derive(clap::Subcommand, Debug)]
enum AccountCmd {
    /// Register the account (uses `[account]` EAB settings if present).
    Create {
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Print the account object.
    Show {
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Set the account contacts to the configured email.
    UpdateContacts {
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Roll the account over to a fresh key.
    Rollover {
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Deactivate the account.
    Deactivate {
        #[command(flatten)]
        config: ConfigArg,
    },
}

fn load(c: &ConfigArg) -> Result<Config, String> {
    Config::load(&c.config).map_err(|e| e.to_string())
}

fn code_for(e: &CronError) -> u8 {
    match e {
        e if e.is_config() => EXIT_CONFIG,
        CronError::Locked(_) => EXIT_LOCKED,
        _ => EXIT_CERT_FAILED,
    }
}

/// Runs `arbor client ...`. `Ok(code)` is the process exit code; `Err` is a configuration
/// error (exit code 2, message printed by the caller).
pub async fn run(args: ClientArgs) -> Result<u8, String> {
    let opts = RunOptions::from_env();
    match args.cmd {
        ClientCmd::Run { config, quiet } => {
            let cfg = load(&config)?;
            match cron::run_pass(&cfg, &opts).await {
                Ok(report) => {
                    for o in &report.outcomes {
                        if !o.ok {
                            eprintln!("{}", o.line);
                        } else if !quiet {
                            println!("{}", o.line);
                        }
                    }
                    Ok(report.exit_code())
                }
                Err(e) if e.is_config() => Err(e.to_string()),
                Err(e) => {
                    eprintln!("arbor client: {e}");
                    Ok(code_for(&e))
                }
            }
        }
        ClientCmd::Status { config } => {
            let cfg = load(&config)?;
            let now = cron::SystemClock.now_secs();
            match cron::status::describe(&cfg, now) {
                Ok(lines) => {
                    for l in lines {
                        println!("{l}");
                    }
                    Ok(EXIT_OK)
                }
                Err(e) if e.is_config() => Err(e.to_string()),
                Err(e) => {
                    eprintln!("arbor client: {e}");
                    Ok(code_for(&e))
                }
            }
        }
        ClientCmd::Account { action } => {
            let (config, what) = match &action {
                AccountCmd::Create { config } => (config, "create"),
                AccountCmd::Show { config } => (config, "show"),
                AccountCmd::UpdateContacts { config } => (config, "update-contacts"),
                AccountCmd::Rollover { config } => (config, "rollover"),
                AccountCmd::Deactivate { config } => (config, "deactivate"),
            };
            let cfg = load(config)?;
            let result = async {
                let mut m = Manager::open(&cfg, &opts)?;
                match what {
                    "create" => m.create().await.map(|u| format!("account {u}")),
                    "show" => m.show().await,
                    "update-contacts" => m
                        .update_contacts()
                        .await
                        .map(|c| format!("contacts set to {c:?}")),
                    "rollover" => m
                        .rollover()
                        .await
                        .map(|()| "account key rolled over".into()),
                    _ => m.deactivate().await.map(|()| "account deactivated".into()),
                }
            }
            .await;
            report(result)
        }
        ClientCmd::Revoke {
            config,
            name,
            reason,
        } => {
            let cfg = load(&config)?;
            let result = async {
                let mut m = Manager::open(&cfg, &opts)?;
                m.revoke(&name, reason)
                    .await
                    .map(|serial| format!("{name}: revoked serial {serial}"))
            }
            .await;
            report(result)
        }
    }
}

fn report(result: Result<String, CronError>) -> Result<u8, String> {
    match result {
        Ok(line) => {
            println!("{line}");
            Ok(EXIT_OK)
        }
        Err(e) if e.is_config() => Err(e.to_string()),
        Err(e) => {
            eprintln!("arbor client: {e}");
            Ok(code_for(&e))
        }
    }
}
