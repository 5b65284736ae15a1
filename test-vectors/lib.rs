//! Test-only crate: its integration tests in `tests/` run Segl's crates on the vectors in this
//! folder. The library itself only locates the vector files.

use std::path::PathBuf;

/// The absolute path of a vector file, given relative to this folder (for example
/// `"sd-jwt/keys.json"`).
pub fn path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative)
}
