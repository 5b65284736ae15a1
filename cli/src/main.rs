//! The `segl` command: one binary for people and tests. For now it inspects and verifies
//! credentials; later issues add `serve`, `status` and `trust-list`.

mod credential;
mod input;
mod inspect;
mod keys;
mod render;
mod sd_jwt;
mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Segl: an EU Digital Identity Wallet issuer, verifier toolkit and trust-list publisher.
#[derive(Debug, Parser)]
#[command(name = "segl", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Decode and check credentials: SD-JWT VC (dc+sd-jwt) and ISO 18013-5 mdoc.
    #[command(subcommand)]
    Credential(credential::CredentialCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Credential(command) => credential::run(command),
    }
}
