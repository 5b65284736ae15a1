//! `segl status`: revoke, suspend and reinstate credentials (Token Status List, DIGEST §4) and
//! list what an offer issued, directly on the deployment's database like `segl offer create`.
//! Every change is recorded in the audit trail; the next status list request publishes it.

use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Subcommand, ValueEnum};
use segl_credential::clock::{Clock as _, SystemClock};
use segl_issuer::deployment;
use segl_issuer::http::AppState;
use segl_issuer::protocol::{OfferCredentials, StatusValue};
use segl_issuer::service::status::{self, StatusRequest};
use segl_issuer::service::tenant::Tenant;
use segl_issuer::store::{AnyStore, StatusTarget};

use crate::serve::{DeploymentArgs, runtime};

/// `segl status ...`.
#[derive(Debug, Subcommand)]
pub enum StatusCommand {
    /// Set the status of one credential, or of everything issued under an offer or to a subject.
    Set(SetArgs),
    /// List the credentials an offer issued (their ids, status list entries and statuses).
    List(ListArgs),
}

/// A status as the command line names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusArg {
    /// Valid (reinstates a suspended credential).
    Valid,
    /// Revoked: final.
    Invalid,
    /// Suspended.
    Suspended,
}

/// Options of `segl status set`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["credential", "offer", "subject"])))]
pub struct SetArgs {
    /// The credential id (`segl status list --offer ID`, or the admin API).
    // Random base64url ids may begin with '-'.
    #[arg(long, allow_hyphen_values = true)]
    pub credential: Option<String>,
    /// Every credential issued under this offer.
    // Random base64url ids may begin with '-'.
    #[arg(long, allow_hyphen_values = true)]
    pub offer: Option<String>,
    /// Every credential issued to this subject (the offer's `subject`).
    // Random base64url ids may begin with '-'.
    #[arg(long, allow_hyphen_values = true)]
    pub subject: Option<String>,
    /// The new status.
    #[arg(long, value_enum)]
    pub status: StatusArg,
    /// Why (recorded in the audit trail).
    #[arg(long)]
    pub reason: String,
    /// Who (recorded in the audit trail) [default: $USER, else `cli`].
    #[arg(long)]
    pub by: Option<String>,
    /// The tenant (needed when the deployment has several).
    #[arg(long)]
    pub tenant: Option<String>,
    #[command(flatten)]
    pub deployment: DeploymentArgs,
}

/// Options of `segl status list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// The offer id.
    // Random base64url ids may begin with '-'.
    #[arg(long, allow_hyphen_values = true)]
    pub offer: String,
    /// The tenant (needed when the deployment has several).
    #[arg(long)]
    pub tenant: Option<String>,
    #[command(flatten)]
    pub deployment: DeploymentArgs,
}

/// Runs a `segl status` command: prints JSON; exit 1 when refused (nothing changed).
pub fn run(command: StatusCommand) -> ExitCode {
    let (name, result) = match command {
        StatusCommand::Set(args) => ("segl status set", outcome(|rt| rt.block_on(set(&args)))),
        StatusCommand::List(args) => ("segl status list", outcome(|rt| rt.block_on(list(&args)))),
    };
    match result {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{name}: {error}");
            ExitCode::from(1)
        }
    }
}

fn outcome(
    body: impl FnOnce(&tokio::runtime::Runtime) -> Result<serde_json::Value, String>,
) -> Result<String, String> {
    let value = body(&runtime()?)?;
    serde_json::to_string_pretty(&value).map_err(|e| e.to_string())
}

pub(crate) async fn open(
    deployment: &DeploymentArgs,
    tenant: Option<&str>,
) -> Result<(AppState<AnyStore>, Arc<Tenant>), String> {
    let config = deployment.load()?;
    let admin_env = std::env::var("SEGL_ADMIN_TOKEN").ok();
    let (state, _) =
        deployment::open(&config, admin_env.as_deref(), Arc::new(SystemClock), &mut rand::rngs::OsRng)
            .await
            .map_err(|e| e.to_string())?;
    let tenant = match tenant {
        Some(id) => state.tenants.get(id).cloned().ok_or_else(|| format!("no tenant `{id}`"))?,
        None if state.tenants.len() == 1 => state.tenants.values().next().cloned().ok_or("no tenant")?,
        None => return Err("this deployment has several tenants: pass --tenant".into()),
    };
    Ok((state, tenant))
}

async fn set(args: &SetArgs) -> Result<serde_json::Value, String> {
    let (state, tenant) = open(&args.deployment, args.tenant.as_deref()).await?;
    let target = match (&args.credential, &args.offer, &args.subject) {
        (Some(id), None, None) => StatusTarget::Credential(id),
        (None, Some(id), None) => StatusTarget::Offer(id),
        (None, None, Some(subject)) => StatusTarget::Subject(subject),
        _ => return Err("name exactly one of --credential, --offer and --subject".into()),
    };
    let wire = match args.status {
        StatusArg::Valid => StatusValue::Valid,
        StatusArg::Invalid => StatusValue::Invalid,
        StatusArg::Suspended => StatusValue::Suspended,
    };
    let actor = args.by.clone().or_else(|| std::env::var("USER").ok()).unwrap_or_else(|| "cli".to_owned());
    let request =
        StatusRequest { target, status: status::from_wire(wire), reason: &args.reason, actor: &actor };
    let outcome = status::change_status(&state.store, &tenant, &request, SystemClock.now())
        .await
        .map_err(|e| e.to_string())?;
    serde_json::to_value(status::updated(outcome)).map_err(|e| e.to_string())
}

async fn list(args: &ListArgs) -> Result<serde_json::Value, String> {
    let (state, tenant) = open(&args.deployment, args.tenant.as_deref()).await?;
    let records = status::credentials_of_offer(&state.store, &tenant, &args.offer)
        .await
        .map_err(|e| format!("{:?}: {}", e.code, e.description))?;
    let credentials = records.into_iter().map(|record| status::describe(&tenant, record)).collect();
    serde_json::to_value(OfferCredentials { offer_id: args.offer.clone(), credentials })
        .map_err(|e| e.to_string())
}
