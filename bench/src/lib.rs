//! Segl's load tool as a library: the `segl-bench` binary parses its command line into
//! [`issue::Options`] and prints the [`issue::Report`]; tests call [`issue::run`] directly against a
//! spawned `segl serve`.
//!
//! Numbers it gives for a running issuer: credentials per second, per-endpoint latency
//! percentiles, errors (unexpected ones must be zero; those of deliberately broken wallets are
//! counted on their own), the server's peak memory and CPU time, and the bare cost of the
//! cryptography a credential needs (one ES256 proof verification and one ES256 signature),
//! measured in the same run so throughput can be stated as a share of that bound.
//!
//! For the verifier ([`verify::run`]): presentations verified per second and per CPU second by the
//! verifier library in process, against three bare ES256 verifications measured in the same run.

pub mod crypto;
pub mod issue;
pub mod process;
pub mod render;
pub mod verify;
