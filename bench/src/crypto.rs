//! The bare cost of the cryptography one credential needs: the issuer verifies one ES256 holder
//! proof and makes one ES256 signature per credential. Measured in-process on one thread with the
//! same aws-lc-rs code the issuer uses, so an issuance rate can be compared with its upper bound.

use std::time::{Duration, Instant};

use segl_credential::clock::{Clock as _, SystemClock};
use segl_credential::jose::{self, CompactJws, KeyReference};
use segl_credential::keys::{Signer as _, SoftwareSigner};
use serde::Serialize;
use serde_json::json;

/// What one ES256 signature and one ES256 verification cost on one core.
#[derive(Debug, Clone, Serialize)]
pub struct CryptoCost {
    /// Signatures made while measuring.
    pub signatures: u64,
    /// Mean CPU time of one ES256 signature (a holder-proof-sized JWS), microseconds.
    pub sign_us: f64,
    /// Verifications made while measuring.
    pub verifications: u64,
    /// Mean CPU time of one ES256 JWS verification (parse, public key from `jwk`, verify), microseconds.
    pub verify_us: f64,
    /// `1 / (sign + verify)`: the most credentials one core could issue if the cryptography
    /// were all the work.
    pub bound_per_core: f64,
}

/// Errors of the measurement (a key or signature that aws-lc-rs refused; not expected).
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// Key generation or signing failed.
    #[error("ES256 key or signature: {0}")]
    Key(#[from] segl_credential::keys::KeyError),
    /// JWS building or verification failed.
    #[error("JWS: {0}")]
    Jose(#[from] segl_credential::jose::JoseError),
}

/// Measures ES256 signing and then verification, each for about half of `budget`, on the calling
/// thread (call it from a blocking context). Times are the thread's CPU time per operation when
/// Linux gives it (so a busy machine does not inflate them), wall-clock time otherwise.
pub fn measure(budget: Duration) -> Result<CryptoCost, CryptoError> {
    let signer = SoftwareSigner::generate(&mut rand::rngs::OsRng)?;
    // A holder proof as wallets send it: the same size of header and claims.
    let header = jose::header("openid4vci-proof+jwt", &signer, KeyReference::Jwk)?;
    let claims = json!({
        "aud": "https://issuer.example.org/default",
        "iat": SystemClock.now(),
        "nonce": "kq3Ygm7cVZ1rRrj0pS1yC5Y5l3UcXn8JxkZ2dQw4hVA",
    })
    .to_string();
    let half = budget / 2;

    let clock = CpuClock::start();
    let mut signatures = 0u64;
    let mut jws = String::new();
    while signatures < 50 || clock.wall() < half {
        jws = jose::sign_compact(header.clone(), claims.as_bytes(), &signer)?;
        signatures += 1;
    }
    let sign_us = clock.seconds() * 1e6 / signatures as f64;

    let clock = CpuClock::start();
    let mut verifications = 0u64;
    while verifications < 50 || clock.wall() < half {
        let parsed = CompactJws::parse(&jws)?;
        let key = parsed.jwk()?.unwrap_or_else(|| signer.public_key().clone());
        parsed.verify(&key)?;
        verifications += 1;
    }
    let verify_us = clock.seconds() * 1e6 / verifications as f64;

    Ok(CryptoCost {
        signatures,
        sign_us,
        verifications,
        verify_us,
        bound_per_core: 1e6 / (sign_us + verify_us),
    })
}

/// Times a measurement on the calling thread: its CPU time when `/proc/thread-self/stat` is
/// readable, else wall-clock time.
pub struct CpuClock {
    wall: Instant,
    ticks: f64,
    cpu: Option<f64>,
}

impl CpuClock {
    /// Starts timing now.
    pub fn start() -> Self {
        let ticks = crate::process::ticks_per_second();
        CpuClock { wall: Instant::now(), ticks, cpu: crate::process::thread_cpu_seconds(ticks) }
    }

    /// Wall-clock time since the start (what a budget is spent against).
    pub fn wall(&self) -> Duration {
        self.wall.elapsed()
    }

    /// Seconds measured: the thread's CPU time since the start when known and the measurement
    /// lasted long enough for the kernel's ticks (half a second), else wall-clock time.
    pub fn seconds(&self) -> f64 {
        if self.wall.elapsed() < Duration::from_millis(500) {
            return self.wall.elapsed().as_secs_f64();
        }
        let cpu = self
            .cpu
            .and_then(|start| crate::process::thread_cpu_seconds(self.ticks).map(|now| now - start))
            .filter(|seconds| *seconds > 0.0);
        cpu.unwrap_or_else(|| self.wall.elapsed().as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn measures_positive_costs() {
        let cost = measure(Duration::from_millis(20)).unwrap();
        assert!(cost.signatures >= 50 && cost.verifications >= 50);
        assert!(cost.sign_us > 0.0 && cost.verify_us > 0.0);
        assert!((cost.bound_per_core - 1e6 / (cost.sign_us + cost.verify_us)).abs() < 1e-6);
    }
}
