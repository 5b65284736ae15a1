//! The OpenID Connect adapter of [`UpstreamLogin`]: discovery, the authorization code flow with
//! PKCE (and PAR where the provider advertises it), ID Token validation and userinfo, over
//! reqwest with rustls, with timeouts and size caps on every fetch.

use std::time::Duration;

use segl_credential::clock::UnixTime;
use segl_credential::jose::base64url_encode;
use serde_json::{Map, Value};
use tokio::sync::OnceCell;
use url::Url;
use zeroize::Zeroizing;

use super::claims::LoaPolicy;
use super::id_token::{self, Expected};
use super::upstream::{
    AuthenticatedSubject, LoginFuture, LoginRedirect, LoginStart, UpstreamError, UpstreamLogin,
};
use crate::config::{ClientAuthentication, LoginConfig};

/// The largest provider answer read (discovery, JWKS, token, userinfo).
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024;

/// The settings of an OpenID Connect provider, from `[tenants.login]` and the environment.
pub struct OidcSettings {
    /// The provider's issuer identifier.
    pub issuer: String,
    /// Our client id there.
    pub client_id: String,
    /// Our client secret there (from the variable `client_secret_env`).
    pub client_secret: Option<Zeroizing<String>>,
    /// How we authenticate at its token endpoint.
    pub client_auth: ClientAuthentication,
    /// The scopes asked for (`openid` included).
    pub scopes: Vec<String>,
    /// Whether userinfo's claims are read too.
    pub userinfo: bool,
    /// Further authorization request parameters.
    pub extra_parameters: Vec<(String, String)>,
    /// Where the level of assurance is read.
    pub loa: LoaPolicy,
    /// The timeout of each request.
    pub timeout: Duration,
}

impl OidcSettings {
    /// The settings of `config`, the client secret read through `env` (the process environment
    /// at start); an unset variable is an error naming it.
    pub fn from_config(config: &LoginConfig, env: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let client_secret = match &config.client_secret_env {
            Some(name) if config.client_auth != ClientAuthentication::None => Some(Zeroizing::new(
                env(name).ok_or_else(|| format!("environment variable {name} is not set"))?,
            )),
            _ => None,
        };
        let mut scopes = config.scopes.clone();
        if !scopes.iter().any(|scope| scope == "openid") {
            scopes.insert(0, "openid".into());
        }
        Ok(OidcSettings {
            issuer: config.issuer.clone(),
            client_id: config.client_id.clone(),
            client_secret,
            client_auth: config.client_auth,
            scopes,
            userinfo: config.userinfo,
            extra_parameters: config.extra_parameters.clone().into_iter().collect(),
            loa: LoaPolicy { claim: config.loa_claim.clone(), values: config.loa_values.clone() },
            timeout: Duration::from_secs(config.timeout_secs),
        })
    }
}

/// The provider's metadata (OpenID Connect Discovery 1.0 §3) that the flow uses.
#[derive(Debug, Clone)]
struct Discovery {
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    userinfo_endpoint: Option<String>,
    pushed_authorization_request_endpoint: Option<String>,
    iss_in_response: bool,
}

/// An OpenID Connect provider as an upstream login.
pub struct OidcLogin {
    settings: OidcSettings,
    http: reqwest::Client,
    discovery: OnceCell<Discovery>,
}

impl OidcLogin {
    /// An adapter for `settings` (the provider is contacted at the first login).
    pub fn new(settings: OidcSettings) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(OidcLogin { settings, http, discovery: OnceCell::new() })
    }

    async fn discovery(&self) -> Result<&Discovery, UpstreamError> {
        self.discovery.get_or_try_init(|| self.discover()).await
    }

    async fn discover(&self) -> Result<Discovery, UpstreamError> {
        let url = format!("{}/.well-known/openid-configuration", self.settings.issuer.trim_end_matches('/'));
        let document = read_json(self.http.get(&url)).await?;
        // Discovery §4.3: the issuer in the document MUST be the one the URL was built from.
        if document.get("issuer").and_then(Value::as_str) != Some(self.settings.issuer.as_str()) {
            return Err(UpstreamError::Unavailable("the discovery document names another issuer".into()));
        }
        let text = |name: &str| document.get(name).and_then(Value::as_str).map(str::to_owned);
        let required = |name: &str| {
            text(name)
                .ok_or_else(|| UpstreamError::Unavailable(format!("the discovery document lacks {name}")))
        };
        Ok(Discovery {
            authorization_endpoint: required("authorization_endpoint")?,
            token_endpoint: required("token_endpoint")?,
            jwks_uri: required("jwks_uri")?,
            userinfo_endpoint: text("userinfo_endpoint"),
            pushed_authorization_request_endpoint: text("pushed_authorization_request_endpoint"),
            iss_in_response: document
                .get("authorization_response_iss_parameter_supported")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        })
    }

    /// Adds client authentication to a form post to the provider.
    fn authenticated(&self, url: &str, mut form: Vec<(String, String)>) -> reqwest::RequestBuilder {
        let secret = self.settings.client_secret.as_ref().map(|secret| secret.as_str()).unwrap_or_default();
        let mut request = self.http.post(url);
        match self.settings.client_auth {
            ClientAuthentication::ClientSecretBasic => {
                // RFC 6749 §2.3.1: both parts form-urlencoded before Basic encoding.
                let encode =
                    |text: &str| url::form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>();
                request = request.basic_auth(encode(&self.settings.client_id), Some(encode(secret)));
            }
            ClientAuthentication::ClientSecretPost => {
                form.push(("client_id".into(), self.settings.client_id.clone()));
                form.push(("client_secret".into(), secret.to_owned()));
            }
            ClientAuthentication::None => form.push(("client_id".into(), self.settings.client_id.clone())),
        }
        request.form(&form)
    }

    async fn start_login(&self, login: LoginStart<'_>) -> Result<LoginRedirect, UpstreamError> {
        let discovery = self.discovery().await?;
        let nonce = derive(login.secret, "nonce");
        let verifier = derive(login.secret, "pkce");
        let mut params = vec![
            ("response_type".to_owned(), "code".to_owned()),
            ("client_id".to_owned(), self.settings.client_id.clone()),
            ("redirect_uri".to_owned(), login.callback_url.to_owned()),
            ("scope".to_owned(), self.settings.scopes.join(" ")),
            ("state".to_owned(), login.correlation.to_owned()),
            ("nonce".to_owned(), nonce.clone()),
            ("code_challenge".to_owned(), s256(&verifier)),
            ("code_challenge_method".to_owned(), "S256".to_owned()),
        ];
        params.extend(self.settings.extra_parameters.iter().cloned());
        let mut url = Url::parse(&discovery.authorization_endpoint)
            .map_err(|_| UpstreamError::Unavailable("the authorization endpoint is not a URL".into()))?;
        if let Some(par) = &discovery.pushed_authorization_request_endpoint {
            let pushed = read_json(self.authenticated(par, params)).await?;
            let request_uri = pushed
                .get("request_uri")
                .and_then(Value::as_str)
                .ok_or_else(|| UpstreamError::Unavailable("the PAR answer has no request_uri".into()))?;
            url.query_pairs_mut()
                .append_pair("client_id", &self.settings.client_id)
                .append_pair("request_uri", request_uri);
        } else {
            url.query_pairs_mut().extend_pairs(params);
        }
        Ok(LoginRedirect {
            url: url.into(),
            state: serde_json::json!({ "nonce": nonce, "verifier": verifier }),
        })
    }

    async fn finish_login(
        &self,
        params: &Map<String, Value>,
        state: &Value,
        callback_url: &str,
        now: UnixTime,
    ) -> Result<AuthenticatedSubject, UpstreamError> {
        let param = |name: &str| params.get(name).and_then(Value::as_str);
        if let Some(error) = param("error") {
            let description = param("error_description").map(|d| format!(": {d}")).unwrap_or_default();
            return Err(UpstreamError::Refused(format!("{error}{description}")));
        }
        let discovery = self.discovery().await?;
        // RFC 9207 §2.4: an `iss` that is present must be the provider's; required when advertised.
        match param("iss") {
            Some(iss) if iss != self.settings.issuer => {
                return Err(UpstreamError::Invalid(
                    "the authorization response's iss is another issuer".into(),
                ));
            }
            None if discovery.iss_in_response => {
                return Err(UpstreamError::Invalid("the authorization response lacks iss".into()));
            }
            _ => {}
        }
        let code = param("code").ok_or_else(|| UpstreamError::Invalid("the callback has no code".into()))?;
        let stored = |name: &str| state.get(name).and_then(Value::as_str).unwrap_or_default().to_owned();
        let form = vec![
            ("grant_type".to_owned(), "authorization_code".to_owned()),
            ("code".to_owned(), code.to_owned()),
            ("redirect_uri".to_owned(), callback_url.to_owned()),
            ("code_verifier".to_owned(), stored("verifier")),
        ];
        let tokens = read_json(self.authenticated(&discovery.token_endpoint, form)).await?;
        let id_token = tokens
            .get("id_token")
            .and_then(Value::as_str)
            .ok_or_else(|| UpstreamError::Invalid("the token response has no id_token".into()))?;
        let jwks = read_json(self.http.get(&discovery.jwks_uri)).await?;
        let nonce = stored("nonce");
        let expected = Expected {
            issuer: &self.settings.issuer,
            client_id: &self.settings.client_id,
            nonce: &nonce,
            now,
        };
        let mut claims = id_token::verify(id_token, &Value::Object(jwks), &expected)?;
        if let (true, Some(endpoint), Some(access_token)) = (
            self.settings.userinfo,
            &discovery.userinfo_endpoint,
            tokens.get("access_token").and_then(Value::as_str),
        ) {
            let userinfo = read_json(self.http.get(endpoint).bearer_auth(access_token)).await?;
            // Core §5.3.2: the userinfo `sub` MUST equal the ID token's.
            if userinfo.get("sub") != claims.get("sub") {
                return Err(UpstreamError::Invalid("userinfo is about another subject".into()));
            }
            for (name, value) in userinfo {
                claims.entry(name).or_insert(value);
            }
        }
        let level_of_assurance = self.settings.loa.level(&claims)?;
        let subject = claims.get("sub").and_then(Value::as_str).unwrap_or_default().to_owned();
        Ok(AuthenticatedSubject { subject, claims, level_of_assurance })
    }
}

impl UpstreamLogin for OidcLogin {
    fn start<'a>(&'a self, login: LoginStart<'a>) -> LoginFuture<'a, LoginRedirect> {
        Box::pin(self.start_login(login))
    }

    fn correlation<'a>(&self, params: &'a Map<String, Value>) -> Option<&'a str> {
        params.get("state").and_then(Value::as_str)
    }

    fn finish<'a>(
        &'a self,
        params: &'a Map<String, Value>,
        state: &'a Value,
        callback_url: &'a str,
        now: UnixTime,
    ) -> LoginFuture<'a, AuthenticatedSubject> {
        Box::pin(self.finish_login(params, state, callback_url, now))
    }
}

/// A single-use value derived from the login's secret for one purpose.
fn derive(secret: &str, purpose: &str) -> String {
    let digest = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        format!("segl oidc {purpose} {secret}").as_bytes(),
    );
    base64url_encode(digest.as_ref())
}

/// BASE64URL(SHA-256(verifier)): the PKCE S256 challenge (RFC 7636 §4.2).
pub fn s256(verifier: &str) -> String {
    base64url_encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes()).as_ref())
}

/// Sends a request and reads a JSON object answer of at most [`MAX_RESPONSE_BYTES`]; an error
/// status is reported with the provider's OAuth `error` when it sent one.
async fn read_json(request: reqwest::RequestBuilder) -> Result<Map<String, Value>, UpstreamError> {
    let unavailable = |e: reqwest::Error| UpstreamError::Unavailable(e.without_url().to_string());
    let mut response = request.send().await.map_err(unavailable)?;
    let status = response.status();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(unavailable)? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(UpstreamError::Unavailable(format!("an answer exceeds {MAX_RESPONSE_BYTES} bytes")));
        }
        body.extend_from_slice(&chunk);
    }
    let json: Option<Map<String, Value>> = serde_json::from_slice(&body).ok();
    if !status.is_success() {
        let error =
            json.as_ref().and_then(|j| j.get("error")).and_then(Value::as_str).unwrap_or("no error code");
        return Err(UpstreamError::Unavailable(format!("the provider answered {status} ({error})")));
    }
    json.ok_or_else(|| UpstreamError::Unavailable("the provider's answer is not a JSON object".into()))
}
