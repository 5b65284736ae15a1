//! Issue and verify costs of Segl's credential formats beside the bare ES256 signature they
//! need, so the README can state each format's overhead as a ratio of the signature cost.

// A benchmark is not an input path: a failure here should stop the run loudly.
#![allow(clippy::unwrap_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use rand::SeedableRng as _;
use segl_credential::keys::{Algorithm, Signer as _, SoftwareSigner};
use std::hint::black_box;

fn bare_es256(c: &mut Criterion) {
    let signer = SoftwareSigner::generate(&mut rand_chacha::ChaCha20Rng::seed_from_u64(1)).unwrap();
    let message = [7u8; 600];
    let signature = signer.sign(&message).unwrap();
    c.bench_function("es256/sign", |b| b.iter(|| signer.sign(black_box(&message)).unwrap()));
    c.bench_function("es256/verify", |b| {
        b.iter(|| signer.public_key().verify(Algorithm::Es256, black_box(&message), &signature).unwrap())
    });
}

mod harness {
    #![allow(missing_docs)]
    use super::*;
    criterion_group!(benches, bare_es256);
}

criterion_main!(harness::benches);
