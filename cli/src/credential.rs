//! `segl credential inspect` and `segl credential verify`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use crate::input::{self, CredentialInput};

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

/// Runs a credential subcommand and returns the process exit code.
pub fn run(command: CredentialCommand) -> ExitCode {
    let file = match &command {
        CredentialCommand::Inspect { file } => file,
        CredentialCommand::Verify(args) => &args.file,
    };
    match input::read(file) {
        Ok(CredentialInput::SdJwt(_)) => println!("sd-jwt"),
        Ok(CredentialInput::IssuerSigned(_) | CredentialInput::DeviceResponse(_)) => println!("mso_mdoc"),
        Err(error) => {
            eprintln!("segl: {error}");
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}
