//! `segl authentic-source import`: loads a CSV of persons into a tenant's authentic source,
//! directly on the deployment's database like `segl offer create`. All or nothing: a bad row
//! rejects the file (line and column named) and nothing is written; importing a person again
//! replaces the earlier record.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use segl_credential::clock::{Clock as _, SystemClock};
use segl_issuer::source::import;

use crate::serve::{DeploymentArgs, runtime};
use crate::status::open;

/// `segl authentic-source ...`.
#[derive(Debug, Subcommand)]
pub enum AuthenticSourceCommand {
    /// Import persons from a CSV file (header row: identifier, protected, status, PID data identifiers).
    Import(ImportArgs),
}

/// Options of `segl authentic-source import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The tenant (needed when the deployment has several).
    #[arg(long)]
    pub tenant: Option<String>,
    /// The CSV file (`-` reads standard input).
    #[arg(long)]
    pub csv: PathBuf,
    #[command(flatten)]
    pub deployment: DeploymentArgs,
}

/// Runs a `segl authentic-source` command: prints `{"imported": n}`; exit 1 when refused.
pub fn run(command: AuthenticSourceCommand) -> ExitCode {
    let AuthenticSourceCommand::Import(args) = command;
    match runtime().and_then(|rt| rt.block_on(import_file(&args))) {
        Ok(count) => {
            println!("{}", serde_json::json!({ "imported": count }));
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("segl authentic-source import: {error}");
            ExitCode::from(1)
        }
    }
}

async fn import_file(args: &ImportArgs) -> Result<u64, String> {
    let text = if args.csv.as_os_str() == "-" {
        let mut text = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut text).map_err(|e| format!("stdin: {e}"))?;
        text
    } else {
        std::fs::read(&args.csv).map_err(|e| format!("{}: {e}", args.csv.display()))?
    };
    let (state, tenant) = open(&args.deployment, args.tenant.as_deref()).await?;
    import::import_csv(&state.store, &tenant, &text, SystemClock.now(), &mut rand::rngs::OsRng)
        .await
        .map_err(|e| format!("{}: {e}", args.csv.display()))
}
