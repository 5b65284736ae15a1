//! `segl trust-list publish | verify | serve`: thin wrappers over segl-trust-list.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use segl_credential::clock::{Clock as _, FixedClock, SystemClock, UnixTime};
use segl_credential::x509::TrustAnchors;
use segl_trust_list::config::TrustListConfig;
use segl_trust_list::fetch::{FetchOptions, Fetched, ListFetcher, ListSource};
use segl_trust_list::lote::{LoteVerifier, VerificationReport};
use segl_trust_list::publish::{self, LOTE_JSON, LOTE_JWS, TRUSTED_LIST_XML};

/// Development certificates are generated valid from a day before `--now`…
const DEV_CERT_BACKDATE_SECONDS: i64 = 86_400;
/// …for three years.
const DEV_CERT_LIFETIME_SECONDS: i64 = 3 * 365 * 86_400;

/// What to do with a trust list.
#[derive(Debug, Subcommand)]
pub enum TrustListCommand {
    /// Sign and write lote.json, lote.jws and trusted-list.xml from a TOML description
    /// (development certificates are generated beside the TOML when absent).
    Publish(PublishArgs),
    /// Verify a signed LoTE (file or http(s) URL) against the pinned operator certificate and print
    /// `{"valid", "sequence_number", "next_update", "entities", "errors"}`; exit 0 only when valid.
    Verify(VerifyArgs),
    /// Serve a published directory over HTTP with ETags and cache headers.
    Serve(ServeArgs),
}

/// Options of `segl trust-list publish`.
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The operator's TOML (see trust-list/examples/dk.toml).
    #[arg(long)]
    pub config: PathBuf,
    /// The output directory (created if missing; its lote.json gives the previous sequence number).
    #[arg(long)]
    pub out: PathBuf,
    /// Publish as of this time (seconds since the Unix epoch) instead of now.
    #[arg(long, value_name = "UNIX_SECONDS")]
    pub now: Option<UnixTime>,
}

/// Options of `segl trust-list verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The compact-JWS LoTE: a file path, a `file://` URL, or an `http://` / `https://` URL
    /// (at most 4 MiB, 30 s).
    pub source: String,
    /// PEM of the pinned operator signing certificate or the CA that issues it.
    #[arg(long, value_name = "PEM")]
    pub operator_cert: PathBuf,
    /// Check as of this time (seconds since the Unix epoch) instead of now.
    #[arg(long, value_name = "UNIX_SECONDS")]
    pub now: Option<UnixTime>,
    /// The sequence number of the list accepted before: a lower one is refused as a rollback.
    #[arg(long, value_name = "N")]
    pub previous_sequence: Option<u64>,
}

/// Options of `segl trust-list serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The directory `publish` writes to.
    #[arg(long)]
    pub dir: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8090")]
    pub listen: std::net::SocketAddr,
}

/// Runs a trust-list subcommand and returns the exit code: 0 on success (for `verify`: only
/// when the list is valid), 1 otherwise.
pub fn run(command: TrustListCommand) -> ExitCode {
    match command {
        TrustListCommand::Publish(args) => report_error("publish", publish(&args)),
        TrustListCommand::Verify(args) => {
            let report = verify(&args);
            if let Err(error) = print_json(&report) {
                eprintln!("segl trust-list verify: {error}");
                return ExitCode::from(1);
            }
            if report.valid { ExitCode::SUCCESS } else { ExitCode::from(1) }
        }
        TrustListCommand::Serve(args) => report_error("serve", serve(&args)),
    }
}

fn report_error(command: &str, result: Result<(), String>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("segl trust-list {command}: {error}");
            ExitCode::from(1)
        }
    }
}

fn publish(args: &PublishArgs) -> Result<(), String> {
    let now = args.now.unwrap_or_else(|| SystemClock.now());
    let generated = segl_trust_list::dev::ensure_dev_certificates(
        &args.config,
        now.saturating_sub(DEV_CERT_BACKDATE_SECONDS),
        now.saturating_add(DEV_CERT_LIFETIME_SECONDS),
        &mut rand::rngs::OsRng,
    )
    .map_err(|e| e.to_string())?;
    let config = TrustListConfig::load(&args.config).map_err(|e| e.to_string())?;
    let base_dir = args.config.parent().unwrap_or(Path::new("."));
    let signer = publish::operator_signer(&config, base_dir, now).map_err(|e| e.to_string())?;
    let published =
        publish::publish(&args.config, &args.out, &signer, &FixedClock(now)).map_err(|e| e.to_string())?;
    let written: Vec<String> = [LOTE_JSON, LOTE_JWS, TRUSTED_LIST_XML]
        .iter()
        .map(|name| args.out.join(name).display().to_string())
        .collect();
    let summary = serde_json::json!({
        "sequence_number": published.release.sequence_number,
        "issued": published.release.issued,
        "next_update": published.release.next_update,
        "written": written,
        "generated_dev_certificates": generated.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
    });
    print_json(&summary)
}

/// Pretty JSON on standard output; a closed pipe (`| head`) is not an error worth a panic.
fn print_json(value: &impl serde::Serialize) -> Result<(), String> {
    use std::io::Write as _;
    let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    match writeln!(std::io::stdout().lock(), "{text}") {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.to_string()),
        _ => Ok(()),
    }
}

fn verify(args: &VerifyArgs) -> VerificationReport {
    let verifier = match pinned_operator(&args.operator_cert) {
        Ok(anchors) => LoteVerifier::new(anchors),
        Err(error) => return VerificationReport::failed(error),
    };
    let jws = match read_source(&args.source) {
        Ok(jws) => jws,
        Err(error) => return VerificationReport::failed(error),
    };
    let now = args.now.unwrap_or_else(|| SystemClock.now());
    VerificationReport::build(&verifier, &jws, now, args.previous_sequence)
}

fn pinned_operator(path: &Path) -> Result<TrustAnchors, String> {
    let pem = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut anchors = TrustAnchors::new();
    let added = anchors.add_pem(&pem).map_err(|e| format!("{}: {e}", path.display()))?;
    if added == 0 {
        return Err(format!("{}: no certificate", path.display()));
    }
    Ok(anchors)
}

/// The JWS text from a file, a `file://` URL or an `http(s)://` URL, through the library's
/// bounded fetcher (size cap, connect and total timeouts).
fn read_source(source: &str) -> Result<String, String> {
    let source = ListSource::parse(source).map_err(|e| e.to_string())?;
    let fetcher = ListFetcher::new(source, FetchOptions::default()).map_err(|e| e.to_string())?;
    match crate::serve::runtime()?.block_on(fetcher.fetch(None)).map_err(|e| e.to_string())? {
        Fetched::Body { text, .. } => Ok(text),
        // Not asked conditionally, so not expected; refuse rather than guess.
        Fetched::NotModified => Err(format!("{}: unexpected 304 Not Modified", fetcher.source())),
    }
}

fn serve(args: &ServeArgs) -> Result<(), String> {
    crate::serve::init_logging(crate::serve::env_log_format());
    if !args.dir.is_dir() {
        return Err(format!("{}: not a directory", args.dir.display()));
    }
    crate::serve::runtime()?.block_on(async {
        let listener =
            tokio::net::TcpListener::bind(args.listen).await.map_err(|e| format!("{}: {e}", args.listen))?;
        tracing::info!(listen = %args.listen, dir = %args.dir.display(), "serving trust lists");
        axum::serve(listener, segl_trust_list::serve::router(args.dir.clone()))
            .with_graceful_shutdown(crate::serve::shutdown_signal())
            .await
            .map_err(|e| e.to_string())
    })
}
