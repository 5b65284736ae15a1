//! The `segl` command: one binary for people and tests. It runs the issuer (`serve`), creates
//! offers, and inspects and verifies credentials; revokes, suspends and
//! reinstates them (`status`); and publishes, verifies and serves trust lists (`trust-list`).

mod authentic_source;
mod credential;
mod input;
mod inspect;
mod keys;
mod render;
mod sd_jwt;
mod serve;
mod status;
mod trust_list;
mod verifier;
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
    /// Run the OpenID4VCI credential issuer (SQLite and development keys in ./segl-data by default).
    Serve(serve::ServeArgs),
    /// Credential offers for authorities.
    #[command(subcommand)]
    Offer(OfferCommand),
    /// Revoke, suspend or reinstate issued credentials (Token Status List); list an offer's credentials.
    #[command(subcommand)]
    Status(status::StatusCommand),
    /// Publish, verify and serve signed trust lists (ETSI TS 119 602 LoTE and TS 119 612).
    #[command(subcommand)]
    TrustList(trust_list::TrustListCommand),
    /// A tenant's authentic source: import persons' PID attributes (CSV).
    #[command(subcommand)]
    AuthenticSource(authentic_source::AuthenticSourceCommand),
    /// Run the reference OpenID4VP verifier service with the shop's age-check page.
    #[command(subcommand)]
    Verifier(verifier::VerifierCommand),
}

#[derive(Debug, Subcommand)]
enum OfferCommand {
    /// Create an offer in the deployment's database and print its URIs (and transaction code).
    Create(serve::OfferArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Credential(command) => credential::run(command),
        Command::Serve(args) => serve::serve(&args),
        Command::Offer(OfferCommand::Create(args)) => serve::create_offer(&args),
        Command::Status(command) => status::run(command),
        Command::TrustList(command) => trust_list::run(command),
        Command::Verifier(command) => verifier::run(command),
        Command::AuthenticSource(command) => authentic_source::run(command),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::{Cli, Command};
    use crate::status::StatusCommand;

    /// Offer ids are random base64url and may begin with `-`; clap must take them as values.
    #[test]
    fn status_takes_ids_that_begin_with_a_hyphen() {
        let cli = Cli::try_parse_from(["segl", "status", "list", "--offer", "-Oabc"]).unwrap();
        let Command::Status(StatusCommand::List(args)) = cli.command else { panic!("not status list") };
        assert_eq!(args.offer, "-Oabc");
        let cli = Cli::try_parse_from([
            "segl", "status", "set", "--offer", "-x1", "--status", "invalid", "--reason", "lost",
        ])
        .unwrap();
        let Command::Status(StatusCommand::Set(args)) = cli.command else { panic!("not status set") };
        assert_eq!(args.offer.as_deref(), Some("-x1"));
    }

    #[test]
    fn authentic_source_import_takes_a_tenant_and_a_file() {
        let cli = Cli::try_parse_from([
            "segl",
            "authentic-source",
            "import",
            "--tenant",
            "dk",
            "--csv",
            "persons.csv",
        ])
        .unwrap();
        let Command::AuthenticSource(crate::authentic_source::AuthenticSourceCommand::Import(args)) =
            cli.command
        else {
            panic!("not authentic-source import")
        };
        assert_eq!(args.tenant.as_deref(), Some("dk"));
        assert_eq!(args.csv, std::path::PathBuf::from("persons.csv"));
        assert!(Cli::try_parse_from(["segl", "authentic-source", "import", "--tenant", "dk"]).is_err());
    }

    #[test]
    fn offer_create_takes_claims_or_a_person() {
        let base = ["segl", "offer", "create", "--config-id", "proof_of_age"];
        let cli = Cli::try_parse_from(base.iter().chain(&["--authentic-source", "010190-4000"])).unwrap();
        let Command::Offer(super::OfferCommand::Create(args)) = cli.command else {
            panic!("not offer create")
        };
        assert_eq!((args.claims, args.authentic_source.as_deref()), (None, Some("010190-4000")));
        assert!(Cli::try_parse_from(base).is_err(), "one of them is required");
        let both = ["--claims", "c.json", "--authentic-source", "x"];
        assert!(Cli::try_parse_from(base.iter().chain(&both)).is_err(), "not both");
    }
}
