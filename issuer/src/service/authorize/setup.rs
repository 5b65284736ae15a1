//! Building a tenant's authorization code flow from its configuration at start.

use std::sync::Arc;

use super::TenantAuthorization;
use super::oidc::{OidcLogin, OidcSettings};
use super::upstream::UpstreamLogin;
use crate::catalog::Catalog;
use crate::config::TenantConfig;

/// The flow of `config`: its wallets and scopes, and the OpenID Connect login of
/// `[tenants.login]` with the client secret read through `env`.
pub fn tenant_authorization(
    config: &TenantConfig,
    catalog: &Catalog,
    env: impl Fn(&str) -> Option<String>,
) -> Result<TenantAuthorization, String> {
    let ids: Vec<String> = catalog.configurations().iter().map(|c| c.id().to_owned()).collect();
    let login: Option<Arc<dyn UpstreamLogin>> = match &config.login {
        Some(login) => Some(Arc::new(OidcLogin::new(OidcSettings::from_config(login, env)?)?)),
        None => None,
    };
    Ok(TenantAuthorization::from_config(config, &ids, login))
}
