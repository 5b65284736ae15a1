//! What the verifier asks for: DCQL queries (OpenID4VP 1.0 §6, DIGEST §7.3), client_id
//! prefixes (§5.9, DIGEST §7.2) and the signed request object (JAR, §5, DIGEST §7.1).

mod builder;
pub mod client_id;
pub mod dcql;
pub mod object;

pub use builder::{
    AGE_DOCTYPE, AGE_EQUAL_OR_OVER, AGE_VCT, CredentialQueryBuilder, DcqlQueryBuilder, PID_DOCTYPE, PID_VCT,
    PID_VCT_LEGACY, age_over_18_either_format, pid_core,
};
pub use client_id::{ClientId, ClientIdError, ClientIdPrefix};
pub use dcql::{
    ClaimQuery, CredentialFormat, CredentialMeta, CredentialQuery, CredentialSetQuery, DcqlError, DcqlQuery,
    TrustedAuthorityQuery, ValidatedDcqlQuery,
};
pub use object::{
    AuthorizationRequest, RequestObjectError, RequestUriMethod, ResponseMode, VerifiedRequestObject,
    WalletExpectations, invocation_url, verify_request_object,
};

#[cfg(test)]
mod object_tests;
#[cfg(test)]
mod tests;
