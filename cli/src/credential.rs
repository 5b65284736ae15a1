//! `segl credential inspect` and `segl credential verify`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use crate::{input, inspect, verify};

/// What to do with a credential.
#[derive(Debug, Subcommand)]
pub enum CredentialCommand {
    /// Print a readable decoded view: header, claims, disclosures, MSO, validity, status, certificate.
    Inspect {
        /// The credential file, or `-` for standard input (SD-JWT text; mdoc CBOR as binary, hex or base64url).
        file: String,
    },
    /// Verify a credential and print `{"valid", "format", "claims", "errors"}`; exit 0 only when valid.
    Verify(VerifyArgs),
}

/// Options of `segl credential verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The credential file, or `-` for standard input.
    pub file: String,
    /// A PEM file of trusted certificates the credential's chain must reach (repeatable).
    #[arg(long = "trust-anchor", value_name = "PEM")]
    pub trust_anchors: Vec<PathBuf>,
    /// The issuer's public key (JWK or PEM), instead of trust anchors.
    #[arg(long, value_name = "FILE")]
    pub issuer_key: Option<PathBuf>,
    /// Check as of this time (seconds since the Unix epoch) instead of now.
    #[arg(long, value_name = "UNIX_SECONDS")]
    pub now: Option<i64>,
    /// The nonce the KB-JWT must carry.
    #[arg(long)]
    pub nonce: Option<String>,
    /// The audience the KB-JWT must carry.
    #[arg(long)]
    pub aud: Option<String>,
    /// The CBOR SessionTranscript (hex) an mdoc DeviceResponse's device signature covers.
    #[arg(long, value_name = "HEX")]
    pub session_transcript: Option<String>,
}

/// Runs a credential subcommand and returns the process exit code: for `verify`, 0 only when
/// the credential is valid; 2 for unusable input to `inspect`.
pub fn run(command: CredentialCommand) -> ExitCode {
    match command {
        CredentialCommand::Inspect { file } => {
            let view = input::read(&file).map_err(|e| e.to_string()).and_then(|input| inspect::run(&input));
            match view {
                Ok(view) => print_json(&view),
                Err(error) => {
                    eprintln!("segl: {error}");
                    ExitCode::from(2)
                }
            }
        }
        CredentialCommand::Verify(args) => {
            let report = verify::run(&args);
            let code = if report.valid { ExitCode::SUCCESS } else { ExitCode::from(1) };
            match serde_json::to_value(&report) {
                Ok(json) => {
                    print_json(&json);
                    code
                }
                Err(error) => {
                    eprintln!("segl: {error}");
                    ExitCode::from(2)
                }
            }
        }
    }
}

fn print_json(value: &serde_json::Value) -> ExitCode {
    use std::io::Write as _;
    let written = serde_json::to_string_pretty(value)
        .map_err(std::io::Error::other)
        .and_then(|text| writeln!(std::io::stdout().lock(), "{text}"));
    match written {
        Ok(()) => ExitCode::SUCCESS,
        // A reader that stopped early (`| head`) is not an error of ours.
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("segl: {error}");
            ExitCode::from(2)
        }
    }
}
