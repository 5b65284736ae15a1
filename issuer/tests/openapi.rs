//! The OpenAPI document served at `/openapi.json` against the router it describes: every route
//! of `segl_issuer::http::ROUTES` (the table the router is built from) is documented with its
//! method and path parameters, nothing else is documented, the router really answers exactly
//! those routes, and the schemas carry the wire names serde uses.

// Helpers outside `#[test]` functions panic on a broken run, which is what a test wants.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::TestIssuer;
use segl_issuer::http::{ROUTES, RouteMethod};
use segl_issuer::protocol::{
    CredentialRequest, ErrorCode, ErrorResponse, PRE_AUTHORIZED_CODE_GRANT, TokenRequest,
};
use serde_json::{Value, json};
use tower::ServiceExt as _;

async fn issuer(name: &str) -> TestIssuer {
    common::start(name, 3, |_| {}).await
}

async fn call(issuer: &TestIssuer, method: Method, uri: &str) -> (StatusCode, Vec<u8>) {
    let request = Request::builder().method(method).uri(uri).body(Body::empty()).unwrap();
    let response = issuer.router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    (status, axum::body::to_bytes(response.into_body(), 1 << 24).await.unwrap().to_vec())
}

/// The document as a client sees it: fetched from the router and parsed as JSON.
async fn served_document(issuer: &TestIssuer) -> Value {
    let request = Request::get("/openapi.json").body(Body::empty()).unwrap();
    let response = issuer.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers().get(header::CONTENT_TYPE).unwrap().to_str().unwrap().to_owned();
    assert!(content_type.starts_with("application/json"), "{content_type}");
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 24).await.unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn method_name(method: RouteMethod) -> &'static str {
    method.openapi_name()
}

fn axum_method(method: RouteMethod) -> Method {
    match method {
        RouteMethod::Get => Method::GET,
        RouteMethod::Post => Method::POST,
    }
}

/// The `{name}`s of a path template, in order.
fn template_params(path: &str) -> Vec<String> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{').and_then(|rest| rest.strip_suffix('}')))
        .map(str::to_owned)
        .collect()
}

/// Every `(method, path)` operation of an OpenAPI document.
fn documented_operations(document: &Value) -> BTreeSet<(String, String)> {
    const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
    let paths = document["paths"].as_object().expect("`paths` is an object");
    let mut operations = BTreeSet::new();
    for (path, item) in paths {
        let item = item.as_object().expect("a Path Item is an object");
        for method in METHODS.iter().filter(|method| item.contains_key(**method)) {
            operations.insert(((*method).to_owned(), path.clone()));
        }
    }
    operations
}

fn schema<'a>(document: &'a Value, name: &str) -> &'a Value {
    let schema = &document["components"]["schemas"][name];
    assert!(schema.is_object(), "no schema {name}");
    schema
}

fn property_names(schema: &Value) -> BTreeSet<String> {
    schema["properties"].as_object().expect("an object schema").keys().cloned().collect()
}

fn names(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|name| (*name).to_owned()).collect()
}

#[tokio::test]
async fn the_document_is_openapi_3_1_with_info_tags_and_bearer_scheme() {
    let issuer = issuer("info").await;
    let document = served_document(&issuer).await;
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"), "{}", document["openapi"]);
    assert_eq!(document["info"]["title"], "Segl issuer");
    assert_eq!(document["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert!(!document["info"]["description"].as_str().unwrap().is_empty());
    let tags: BTreeSet<String> = document["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tag| tag["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(tags, names(&["metadata", "oid4vci", "status", "admin"]));
    assert_eq!(
        document["components"]["securitySchemes"]["bearer"],
        json!({"type": "http", "scheme": "bearer"})
    );
    // The served document is the generated one, not a stale copy.
    let generated =
        serde_json::to_value(<segl_issuer::http::openapi::ApiDoc as utoipa::OpenApi>::openapi()).unwrap();
    assert_eq!(document, generated);
}

#[tokio::test]
async fn every_route_is_documented_and_every_documented_operation_is_routed() {
    let issuer = issuer("routes").await;
    let document = served_document(&issuer).await;

    let routed: BTreeSet<(String, String)> =
        ROUTES.iter().map(|route| (method_name(route.method).to_owned(), route.path.to_owned())).collect();
    assert_eq!(routed.len(), ROUTES.len(), "a (method, path) appears twice in ROUTES");
    // Guard against an emptied table or document making the comparison vacuous.
    for expected in [
        ("get", "/openapi.json"),
        ("get", "/.well-known/openid-credential-issuer/{tenant}"),
        ("post", "/{tenant}/token"),
        ("post", "/{tenant}/credential"),
        ("post", "/admin/v1/tenants/{tenant}/offers"),
    ] {
        assert!(routed.contains(&(expected.0.to_owned(), expected.1.to_owned())), "{expected:?} not routed");
    }

    let documented = documented_operations(&document);
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let stale: Vec<_> = documented.difference(&routed).collect();
    assert!(undocumented.is_empty(), "routes missing from the document: {undocumented:?}");
    assert!(stale.is_empty(), "documented operations no route serves: {stale:?}");

    // Each operation declares exactly the path parameters of its template, a tag and responses.
    for route in ROUTES {
        let operation = &document["paths"][route.path][method_name(route.method)];
        let declared: Vec<String> = operation["parameters"]
            .as_array()
            .map(|parameters| {
                parameters
                    .iter()
                    .filter(|parameter| parameter["in"] == "path")
                    .map(|parameter| {
                        assert_eq!(parameter["required"], true, "{}", route.path);
                        parameter["name"].as_str().unwrap().to_owned()
                    })
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(declared, template_params(route.path), "path parameters of {}", route.path);
        assert_eq!(operation["tags"].as_array().map(Vec::len), Some(1), "{}", route.path);
        assert!(!operation["responses"].as_object().unwrap().is_empty(), "{}", route.path);
    }
}

#[tokio::test]
async fn the_router_answers_exactly_the_route_table() {
    let issuer = issuer("router").await;
    for route in ROUTES {
        // An unknown tenant reaches the handler, which answers with its own JSON 404; the
        // router's fallback for an unrouted path answers 404 with an empty body.
        let uri = route
            .path
            .replace("{tenant}", "no-such-tenant")
            .replace("{configuration}", "x")
            .replace("{offer}", "x");
        let (status, body) = call(&issuer, axum_method(route.method), &uri).await;
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{uri}");
        assert!(!body.is_empty(), "{uri} fell through to the fallback ({status})");
        if route.path.contains("{tenant}") {
            // The admin API checks its token before it looks at the tenant.
            let error: ErrorResponse = serde_json::from_slice(&body).unwrap();
            if route.path.starts_with("/admin/") {
                assert_eq!(
                    (status, error.error),
                    (StatusCode::UNAUTHORIZED, ErrorCode::InvalidToken),
                    "{uri}"
                );
            } else {
                assert_eq!(
                    (status, error.error),
                    (StatusCode::NOT_FOUND, ErrorCode::InvalidRequest),
                    "{uri}"
                );
            }
        }
        // A method the table does not list for the path is refused by the router.
        let other = if route.method == RouteMethod::Get { Method::POST } else { Method::GET };
        let listed = ROUTES.iter().any(|r| r.path == route.path && axum_method(r.method) == other);
        if !listed {
            let (status, _) = call(&issuer, other.clone(), &uri).await;
            assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{other} {uri}");
        }
    }
    let (status, body) = call(&issuer, Method::GET, "/no/such/route/anywhere").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.is_empty(), "the fallback answered with a body, so the check above proves nothing");
}

#[tokio::test]
async fn operations_declare_bodies_security_and_error_schema() {
    let issuer = issuer("operations").await;
    let document = served_document(&issuer).await;
    let paths = &document["paths"];

    let token = &paths["/{tenant}/token"]["post"];
    let token_content = token["requestBody"]["content"].as_object().unwrap();
    assert_eq!(token_content.keys().collect::<Vec<_>>(), ["application/x-www-form-urlencoded"]);
    assert_eq!(
        token_content["application/x-www-form-urlencoded"]["schema"]["$ref"],
        "#/components/schemas/TokenRequest"
    );
    assert_eq!(
        paths["/{tenant}/credential"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/CredentialRequest"
    );

    let bearer = json!([{"bearer": []}]);
    for route in ROUTES {
        let operation = &paths[route.path][method_name(route.method)];
        let protected = route.path.starts_with("/admin/")
            || route.path.ends_with("/credential")
            || route.path.ends_with("/deferred_credential")
            || route.path.ends_with("/notification");
        if protected {
            assert_eq!(operation["security"], bearer, "{}", route.path);
        } else {
            assert!(operation.get("security").is_none(), "{} needs no token", route.path);
        }
        // Every error response is the OAuth error object.
        let mut errors = 0;
        for (status, response) in operation["responses"].as_object().unwrap() {
            let code: u16 = status.parse().unwrap();
            if code >= 400 {
                errors += 1;
                assert_eq!(
                    response["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ErrorResponse",
                    "{} {status}",
                    route.path
                );
            }
        }
        if route.path != "/health" && route.path != "/openapi.json" {
            assert!(errors > 0, "{} documents no error response", route.path);
        }
    }
    // 204 has no body.
    let no_content = &paths["/{tenant}/notification"]["post"]["responses"]["204"];
    assert!(no_content.is_object() && no_content.get("content").is_none(), "{no_content}");
    assert_eq!(
        paths["/admin/v1/offers"]["post"]["responses"]["201"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/OfferCreated"
    );
}

#[tokio::test]
async fn schemas_carry_the_serde_wire_names() {
    let issuer = issuer("schemas").await;
    let document = served_document(&issuer).await;

    let request = schema(&document, "CredentialRequest");
    let properties = property_names(request);
    assert_eq!(
        properties,
        names(&[
            "credential_identifier",
            "credential_configuration_id",
            "proofs",
            "credential_response_encryption"
        ])
    );
    assert_eq!(request["additionalProperties"], false, "deny_unknown_fields shows");
    // serde accepts every documented member and refuses an undocumented one.
    for name in &properties {
        let accepted = serde_json::from_value::<CredentialRequest>(json!({ name: null }));
        assert!(accepted.is_ok(), "{name}: {accepted:?}");
    }
    assert!(serde_json::from_value::<CredentialRequest>(json!({"credential_config_id": null})).is_err());

    let error = schema(&document, "ErrorResponse");
    assert_eq!(property_names(error), names(&["error", "error_description"]));
    assert_eq!(error["required"], json!(["error"]));
    // Skipped when absent, never sent as `null`.
    assert_eq!(error["properties"]["error_description"]["type"], "string");
    assert_eq!(error["properties"]["error"]["$ref"], "#/components/schemas/ErrorCode");
    let serialized = serde_json::to_value(ErrorResponse {
        error: ErrorCode::InvalidNonce,
        error_description: Some("x".into()),
    })
    .unwrap();
    assert_eq!(
        serialized.as_object().unwrap().keys().cloned().collect::<BTreeSet<_>>(),
        property_names(error)
    );

    // The error codes are the snake_case names serde reads and writes.
    let codes: Vec<&str> = schema(&document, "ErrorCode")["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(codes.len(), 26, "{codes:?}");
    for code in [
        "invalid_request",
        "invalid_grant",
        "invalid_token",
        "invalid_nonce",
        "invalid_dpop_proof",
        "invalid_transaction_id",
        "use_dpop_nonce",
        "slow_down",
        "invalid_client_attestation",
        "use_attestation_challenge",
        "access_denied",
        "invalid_scope",
        "invalid_authorization_details",
        "unsupported_response_type",
        "invalid_target",
        "server_error",
    ] {
        assert!(codes.contains(&code), "{code} missing from {codes:?}");
    }
    for code in &codes {
        let parsed: ErrorCode = serde_json::from_value(json!(code)).unwrap();
        assert_eq!(serde_json::to_value(parsed).unwrap(), json!(code));
    }

    // The renamed members of the offer and the token request.
    let token = schema(&document, "TokenRequest");
    assert_eq!(
        property_names(token),
        names(&[
            "grant_type",
            "pre-authorized_code",
            "tx_code",
            "code",
            "code_verifier",
            "redirect_uri",
            "client_id"
        ])
    );
    assert_eq!(token["required"], json!(["grant_type"]));
    let form: TokenRequest =
        serde_json::from_value(json!({"grant_type": "g", "pre-authorized_code": "c"})).unwrap();
    assert_eq!(form.pre_authorized_code.as_deref(), Some("c"));
    assert_eq!(
        property_names(schema(&document, "Grants")),
        names(&[PRE_AUTHORIZED_CODE_GRANT, "authorization_code"])
    );
    assert_eq!(property_names(schema(&document, "AuthorizationCodeGrant")), names(&["issuer_state"]));
    assert_eq!(
        property_names(schema(&document, "PreAuthorizedCodeGrant")),
        names(&["pre-authorized_code", "tx_code"])
    );
    let events: Vec<&str> = schema(&document, "NotificationEvent")["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert_eq!(events, ["credential_accepted", "credential_failure", "credential_deleted"]);
}
