//! `arbor admin`: operator actions on a CA's data directory, safe while `arbor serve`
//! runs (SQLite WAL allows a second writer process; each write is durable on return).
//!
//! `arbor admin eab add` provisions an external account binding key (RFC 8555 §7.3.4)
//! and prints its key id and base64url HMAC key for the subscriber.

use arbor_store::{SqliteStore, Storage};
use std::path::PathBuf;

/// `arbor admin ...`
#[derive(clap::Args, Debug)]
pub struct AdminArgs {
    /// The CA's state directory [default: ./arbor-data].
    #[arg(long, value_name = "DIR", default_value = "arbor-data", global = true)]
    data_dir: PathBuf,
    #[command(subcommand)]
    cmd: AdminCmd,
}

#[derive(clap::Subcommand, Debug)]
enum AdminCmd {
    /// External account binding keys.
    Eab {
        #[command(subcommand)]
        cmd: EabCmd,
    },
}

#[derive(clap::Subcommand, Debug)]
enum EabCmd {
    /// Create a key; prints `kid` and the base64url HMAC key (HS256).
    Add,
}

/// Runs an admin command.
pub async fn run(args: AdminArgs) -> Result<(), String> {
    let db = args.data_dir.join("arbor.db");
    if !db.exists() {
        return Err(format!(
            "no CA database at {} (start `arbor serve --data-dir {}` once first)",
            db.display(),
            args.data_dir.display()
        ));
    }
    let store = SqliteStore::open(&db).await.map_err(|e| e.to_string())?;
    match args.cmd {
        AdminCmd::Eab { cmd: EabCmd::Add } => {
            let kid = arbor_ra::new_id();
            let key = arbor_ra::random_key();
            let now = arbor_ra::Clock::now(&arbor_ra::SystemClock);
            store
                .insert_eab_key(&kid, &key, now)
                .await
                .map_err(|e| e.to_string())?;
            store.close().await;
            println!("kid: {kid}");
            println!("hmac_key: {}", arbor_proto::b64::encode(&key));
        }
    }
    Ok(())
}
