//! What the authorization code flow adds to a tenant's metadata: the endpoints and PKCE/PAR
//! requirements of the authorization server (RFC 8414, RFC 9126 §5, RFC 9207 §3) and a `scope`
//! per credential configuration (OpenID4VCI 1.0 §12.2.4, HAIP 1.0).

use serde_json::{Value, json};

use crate::protocol::{AUTHORIZATION_CODE_GRANT, PRE_AUTHORIZED_CODE_GRANT};
use crate::service::tenant::Tenant;

/// Adds the flow's members to the authorization server metadata, when the tenant offers it.
pub fn authorization_server(tenant: &Tenant, document: &mut Value) {
    let (true, Value::Object(members)) = (tenant.authorization.enabled(), document) else {
        return;
    };
    let issuer = &tenant.issuer_id;
    let scopes: Vec<&str> = tenant.authorization.scopes.iter().map(|(scope, _)| scope.as_str()).collect();
    let added = json!({
        "authorization_endpoint": format!("{issuer}/authorize"),
        "pushed_authorization_request_endpoint": format!("{issuer}/par"),
        "require_pushed_authorization_requests": true,
        "grant_types_supported": [AUTHORIZATION_CODE_GRANT, PRE_AUTHORIZED_CODE_GRANT],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
        "authorization_details_types_supported": ["openid_credential"],
        "scopes_supported": scopes,
    });
    if let Value::Object(added) = added {
        members.extend(added);
    }
}

/// Adds `scope` to every credential configuration, when the tenant offers the flow.
pub fn credential_issuer(tenant: &Tenant, document: &mut Value) {
    if !tenant.authorization.enabled() {
        return;
    }
    let Some(Value::Object(configurations)) = document.get_mut("credential_configurations_supported") else {
        return;
    };
    for (id, configuration) in configurations.iter_mut() {
        if let (Some(scope), Value::Object(members)) = (tenant.authorization.scope_of(id), configuration) {
            members.insert("scope".into(), Value::String(scope.to_owned()));
        }
    }
}
