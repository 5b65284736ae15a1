//! `segl-bench`: load runs against a running `segl serve`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use segl_bench::issue::{self, Options, Stop};
use segl_bench::{render, verify};
use serde_json::{Map, Value};

/// Load runs against a running `segl serve`: throughput, latency, errors, memory.
#[derive(Debug, Parser)]
#[command(name = "segl-bench", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Concurrent wallets through the whole pre-authorized code flow (offer, token, nonce,
    /// credential); credentials/s, p50/p99 per endpoint, errors, the server's peak memory, and
    /// the ratio to the bare ES256 cost measured in the same run.
    Issue(IssueArgs),
    /// Presentations verified per second by the verifier library in process (a PID as SD-JWT VC
    /// with KB-JWT or as mdoc DeviceResponse, through trust anchors), against the bare cost of
    /// its three ES256 verifications measured in the same run.
    Verify(VerifyArgs),
}

#[derive(Debug, Args)]
struct VerifyArgs {
    /// The presentation format: `dc+sd-jwt` or `mso_mdoc`.
    #[arg(long, default_value = "dc+sd-jwt", value_parser = ["dc+sd-jwt", "mso_mdoc"])]
    format: String,
    /// Verifying threads (default: this machine's cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Seconds of verification.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Seconds spent measuring the bare ES256 verification first.
    #[arg(long, default_value_t = 1.0)]
    crypto_seconds: f64,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    json_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct IssueArgs {
    /// The server's base URL (where it listens).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// The admin API bearer token.
    #[arg(long, env = "SEGL_BENCH_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: String,
    /// The tenant, for deployments with several (uses the tenant-scoped admin path).
    #[arg(long)]
    tenant: Option<String>,
    /// The credential configuration id to issue.
    #[arg(long, default_value = "eu.europa.ec.eudi.pid_vc_sd_jwt")]
    configuration: String,
    /// A JSON file with the offer's claims (built-in claims exist for the PID and proof-of-age
    /// configurations).
    #[arg(long)]
    claims: Option<PathBuf>,
    /// Concurrent wallets.
    #[arg(long, default_value_t = 8)]
    wallets: usize,
    /// Run for this many seconds (default 10 when --count is not given).
    #[arg(long, conflicts_with = "count")]
    duration: Option<f64>,
    /// Issue this many credentials (a multiple of --batch), then stop.
    #[arg(long)]
    count: Option<u64>,
    /// Credentials per credential request (one proof each).
    #[arg(long, default_value_t = 1)]
    batch: usize,
    /// The share of deliberately broken wallets (wrong tx_code, replayed proof), 0 to 1.
    #[arg(long, default_value_t = 0.0)]
    broken_share: f64,
    /// The server's process id: its idle and peak memory and CPU time are reported.
    #[arg(long)]
    server_pid: Option<u32>,
    /// The cores the server may use, for "per core" figures (default: this machine's).
    #[arg(long)]
    server_cores: Option<f64>,
    /// Seconds spent measuring bare ES256 sign and verify before the load.
    #[arg(long, default_value_t = 2.0)]
    crypto_seconds: f64,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Also write the report as JSON to this file (the table still goes to standard output).
    #[arg(long)]
    json_file: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Issue(args) => run_issue(&args),
        Command::Verify(args) => run_verify(&args),
    }
}

fn run_verify(args: &VerifyArgs) -> ExitCode {
    let seconds = |value: f64, name: &str| {
        Duration::try_from_secs_f64(value).map_err(|error| format!("--{name}: {error}"))
    };
    let options = seconds(args.duration, "duration").and_then(|duration| {
        Ok(verify::Options {
            format: if args.format == "mso_mdoc" { verify::Format::MsoMdoc } else { verify::Format::SdJwtVc },
            threads: args
                .threads
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get)),
            duration,
            crypto_budget: seconds(args.crypto_seconds, "crypto-seconds")?,
        })
    });
    let report = match options
        .map_err(|message| message.to_string())
        .and_then(|options| verify::run(&options).map_err(|error| error.to_string()))
    {
        Ok(report) => report,
        Err(message) => {
            eprintln!("segl-bench: {message}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(message) = write_json(&report, args.json_file.as_deref(), args.json) {
        eprintln!("segl-bench: {message}");
        return ExitCode::FAILURE;
    }
    if !args.json {
        print!("{}", render::verify_table(&report));
    }
    ExitCode::SUCCESS
}

/// Writes `report` as JSON to `file` and, when `stdout`, to standard output.
fn write_json(
    report: &impl serde::Serialize,
    file: Option<&std::path::Path>,
    stdout: bool,
) -> Result<(), String> {
    let json = serde_json::to_string_pretty(report).map_err(|error| error.to_string())?;
    if let Some(path) = file {
        std::fs::write(path, &json).map_err(|error| format!("{}: {error}", path.display()))?;
    }
    if stdout {
        println!("{json}");
    }
    Ok(())
}

fn run_issue(args: &IssueArgs) -> ExitCode {
    let options = match options(args) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("segl-bench: {message}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("segl-bench: tokio runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let report = match runtime.block_on(issue::run(&options)) {
        Ok(report) => report,
        Err(error) => {
            eprintln!("segl-bench: {error}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(path) = &args.json_file {
        let written = serde_json::to_vec_pretty(&report)
            .map_err(|error| error.to_string())
            .and_then(|json| std::fs::write(path, json).map_err(|error| error.to_string()));
        if let Err(error) = written {
            eprintln!("segl-bench: {}: {error}", path.display());
            return ExitCode::FAILURE;
        }
    }
    if args.json {
        match serde_json::to_string_pretty(&report) {
            Ok(json) => println!("{json}"),
            Err(error) => {
                eprintln!("segl-bench: {error}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        print!("{}", render::issue_table(&report));
    }
    // Unexpected errors or a server that stopped being ready fail the run, for scripts.
    if report.unexpected_errors == 0 && report.health.failures == 0 && report.health.ready_after {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn options(args: &IssueArgs) -> Result<Options, String> {
    let claims = match &args.claims {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            match serde_json::from_str::<Value>(&text).map_err(|e| format!("{}: {e}", path.display()))? {
                Value::Object(map) => map,
                _ => return Err(format!("{}: the claims must be a JSON object", path.display())),
            }
        }
        None => issue::default_claims(&args.configuration)
            .ok_or_else(|| format!("no built-in claims for `{}`: give --claims FILE", args.configuration))?,
    };
    let stop = match (args.count, args.duration) {
        (Some(count), _) => Stop::Count(count),
        (None, duration) => {
            let seconds = duration.unwrap_or(10.0);
            Stop::Duration(Duration::try_from_secs_f64(seconds).map_err(|e| format!("--duration: {e}"))?)
        }
    };
    let crypto_budget =
        Duration::try_from_secs_f64(args.crypto_seconds).map_err(|e| format!("--crypto-seconds: {e}"))?;
    Ok(Options {
        url: args.url.clone(),
        admin_token: args.admin_token.clone(),
        tenant: args.tenant.clone(),
        configuration: args.configuration.clone(),
        claims: Map::clone(&claims),
        wallets: args.wallets,
        stop,
        batch: args.batch,
        broken_share: args.broken_share,
        server_pid: args.server_pid,
        server_cores: args.server_cores,
        crypto_budget,
    })
}
