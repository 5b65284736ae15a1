//! The wallet providers a tenant trusts: whose wallet attestations (OAuth 2.0 Attestation-Based
//! Client Authentication) and key attestations (OpenID4VCI 1.0 Appendix D) it accepts. Anchors
//! come from configured PEM certificates, configured JWKs, and the `WalletSolution/Issuance`
//! services of a TS 119 602 trust list (DIGEST §8.1: "The PID provider verifies WIA and KA against
//! the Wallet Provider LoTE"), fetched, verified and refreshed by segl-trust-list's watcher.

use std::path::Path;
use std::sync::Arc;

use segl_credential::clock::{Clock, UnixTime};
use segl_credential::jose::CompactJws;
use segl_credential::keys::PublicKey;
use segl_credential::x509::TrustAnchors;
use segl_trust_list::fetch::ListSource;
use segl_trust_list::lote::service_types;
use segl_trust_list::watch::{RefreshHandle, TrustListWatcher};

use crate::config::TenantConfig;

/// Why an attestation's signature is not a trusted wallet provider's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The tenant trusts no wallet provider at all.
    #[error("this issuer trusts no wallet provider")]
    NoneConfigured,
    /// The `x5c` chain is malformed or does not end at a trusted wallet provider's anchor.
    #[error("the x5c chain is not a trusted wallet provider's: {0}")]
    UntrustedChain(String),
    /// Without `x5c`, no configured wallet provider key verifies the signature.
    #[error("the signature is not by a trusted wallet provider's key")]
    UntrustedKey,
    /// The chain is trusted but its leaf key does not verify the signature.
    #[error("the signature does not verify with the x5c leaf key")]
    BadSignature,
    /// The wallet provider trust list is not usable now (none fetched yet, or past NextUpdate).
    #[error("the wallet provider trust list is not usable: {0}")]
    ListUnavailable(String),
}

/// A tenant's trusted wallet providers. Cheap to share; the trust list part refreshes itself.
#[derive(Clone, Default)]
pub struct WalletProviders {
    anchors: TrustAnchors,
    keys: Vec<PublicKey>,
    list: Option<TrustListWatcher>,
}

impl std::fmt::Debug for WalletProviders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WalletProviders")
            .field("anchors", &self.anchors.len())
            .field("keys", &self.keys.len())
            .field("trust_list", &self.list.as_ref().map(TrustListWatcher::status))
            .finish()
    }
}

impl WalletProviders {
    /// Providers trusted through these anchors and keys, without a trust list.
    pub fn new(anchors: TrustAnchors, keys: Vec<PublicKey>) -> Self {
        WalletProviders { anchors, keys, list: None }
    }

    /// The providers a tenant's configuration names (`[[tenants.wallet_providers]]`,
    /// `[tenants.wallet_provider_trust_list]`). The trust list is not fetched yet: call
    /// [`WalletProviders::start`] inside the runtime.
    pub fn from_config(tenant: &TenantConfig, clock: Arc<dyn Clock>) -> Result<Self, String> {
        let mut anchors = TrustAnchors::new();
        let mut keys = Vec::new();
        for provider in &tenant.wallet_providers {
            if let Some(path) = &provider.certificate {
                let count = anchors.add_pem(&read(path)?).map_err(|e| format!("{}: {e}", path.display()))?;
                if count == 0 {
                    return Err(format!("{}: no certificate", path.display()));
                }
            }
            if let Some(jwk) = &provider.jwk {
                keys.push(PublicKey::from_jwk(jwk).map_err(|e| format!("wallet provider jwk: {e}"))?);
            }
        }
        let list = match &tenant.wallet_provider_trust_list {
            None => None,
            Some(list) => {
                let mut operator = TrustAnchors::new();
                operator
                    .add_pem(&read(&list.operator_certificate)?)
                    .map_err(|e| format!("{}: {e}", list.operator_certificate.display()))?;
                let source = ListSource::parse(&list.url).map_err(|e| format!("{}: {e}", list.url))?;
                Some(
                    TrustListWatcher::new(source, operator, clock)
                        .map_err(|e| format!("wallet provider trust list: {e}"))?,
                )
            }
        };
        Ok(WalletProviders { anchors, keys, list })
    }

    /// Fetches the trust list (if any) once, failing when it does not verify, and starts its
    /// background refresh.
    pub async fn start(&self) -> Result<Option<RefreshHandle>, String> {
        let Some(watcher) = &self.list else { return Ok(None) };
        let outcome = watcher.refresh().await.map_err(|e| format!("wallet provider trust list: {e}"))?;
        tracing::info!(?outcome, "wallet provider trust list accepted");
        watcher.spawn_refresh().map(Some).map_err(|e| format!("wallet provider trust list: {e}"))
    }

    /// True when no provider is trusted (no anchor, no key, no list).
    pub fn is_empty(&self) -> bool {
        self.anchors.is_empty() && self.keys.is_empty() && self.list.is_none()
    }

    /// Checks that `jws` is signed by a trusted wallet provider at `now`: through its `x5c`
    /// chain (leaf first, anchor excluded, HAIP 1.0) to a configured or listed anchor, or, with
    /// no `x5c`, by one of the configured keys.
    pub fn verify(&self, jws: &CompactJws<'_>, now: UnixTime) -> Result<(), ProviderError> {
        if self.is_empty() {
            return Err(ProviderError::NoneConfigured);
        }
        let chain = jws.x5c().map_err(|e| ProviderError::UntrustedChain(e.to_string()))?;
        let Some(chain) = chain else {
            return self
                .keys
                .iter()
                .any(|key| jws.verify(key).is_ok())
                .then_some(())
                .ok_or(ProviderError::UntrustedKey);
        };
        let validated = match self.anchors.validate(&chain, now) {
            Ok(validated) => validated,
            Err(fixed_error) => {
                let Some(list) = &self.list else {
                    return Err(ProviderError::UntrustedChain(fixed_error.to_string()));
                };
                let listed = list
                    .anchors_for(service_types::WALLET_ISSUANCE)
                    .map_err(|e| ProviderError::ListUnavailable(e.to_string()))?;
                listed.validate(&chain, now).map_err(|e| ProviderError::UntrustedChain(e.to_string()))?
            }
        };
        jws.verify(&validated.leaf_key).map_err(|_| ProviderError::BadSignature)
    }
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Everything a tenant trusts and requires of wallets: client attestation at the token
/// endpoint, the wallet providers, and the key attestations its credentials need.
#[derive(Debug, Clone, Default)]
pub struct AttestationSettings {
    /// `client_attestation`, `client_attestation_challenge`.
    pub client: super::client_attestation::ClientAttestationPolicy,
    /// `[[wallet_providers]]`, `[wallet_provider_trust_list]`.
    pub providers: WalletProviders,
    /// `[key_attestations_required]`.
    pub keys: super::key_attestation::KeyAttestationPolicy,
}

impl AttestationSettings {
    /// The settings a tenant's configuration names (the trust list is fetched by
    /// [`WalletProviders::start`]).
    /// `pop_window` is the deployment's `dpop_proof_window_secs`.
    pub fn from_config(
        tenant: &TenantConfig,
        pop_window: i64,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, String> {
        Ok(AttestationSettings {
            client: super::client_attestation::ClientAttestationPolicy {
                mode: tenant.client_attestation,
                challenge_required: tenant.client_attestation_challenge,
                pop_window,
            },
            providers: WalletProviders::from_config(tenant, clock)?,
            keys: super::key_attestation::KeyAttestationPolicy::from_config(tenant),
        })
    }
}
