//! The page module on its own, over a small in-test backend (the real end-to-end page test
//! with the verifier service and a browser lives in interop/).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::Mutex;

use axum::body::Body;
use axum::http::Request;
use tower::ServiceExt;

use super::*;

const ORIGIN: &str = "https://shop.example";

/// A long, realistic by-value request, so the QR code has a high version.
fn authorization_request(check: usize) -> String {
    format!(
        "openid4vp://?client_id=redirect_uri%3Ahttps%3A%2F%2Fshop.example%2Fwallet%2Fresponse&response_type=vp_token\
         &response_mode=direct_post&response_uri=https%3A%2F%2Fshop.example%2Fwallet%2Fresponse\
         &nonce=n-0S6_WzA2Mj{check}&state=check-{check}&dcql_query=%7B%22credentials%22%3A%5B%7B%22id%22%3A%22av%22\
         %2C%22format%22%3A%22mso_mdoc%22%2C%22meta%22%3A%7B%22doctype_value%22%3A%22eu.europa.ec.av.1%22%7D\
         %2C%22claims%22%3A%5B%7B%22path%22%3A%5B%22eu.europa.ec.av.1%22%2C%22age_over_18%22%5D%7D%5D%7D%5D%7D"
    )
}

/// What the test backend knows about a check: more than the page may show.
#[derive(Clone)]
struct Check {
    status: AgeCheckStatus,
    given_name: String,
    birth_date: String,
}

/// An in-memory backend: checks are created with the status `next_status` and remember a name
/// and birth date the page must never reveal.
struct TestBackend {
    checks: Mutex<HashMap<String, Check>>,
    next_status: Mutex<AgeCheckStatus>,
    origins: Mutex<Vec<String>>,
    finished: Mutex<Vec<(String, serde_json::Value)>>,
    fail: bool,
}

impl TestBackend {
    fn new(next_status: AgeCheckStatus) -> Self {
        Self {
            checks: Mutex::new(HashMap::new()),
            next_status: Mutex::new(next_status),
            origins: Mutex::new(Vec::new()),
            finished: Mutex::new(Vec::new()),
            fail: false,
        }
    }

    fn failing() -> Self {
        Self { fail: true, ..Self::new(AgeCheckStatus::Pending) }
    }

    fn add(&self, status: AgeCheckStatus) -> String {
        let mut checks = self.checks.lock().unwrap();
        let id = format!("check-{}", checks.len());
        checks.insert(
            id.clone(),
            Check { status, given_name: "Erika".into(), birth_date: "1984-01-26".into() },
        );
        id
    }
}

impl AgeCheckBackend for TestBackend {
    async fn start_redirect(&self) -> Result<AgeCheckStart, PageError> {
        if self.fail {
            return Err(PageError::Internal("database password=hunter2 refused".into()));
        }
        let status = *self.next_status.lock().unwrap();
        let check_id = self.add(status);
        let n = self.checks.lock().unwrap().len();
        Ok(AgeCheckStart { check_id, authorization_request: authorization_request(n) })
    }

    async fn start_dc_api(&self, origin: &str) -> Result<DcApiStart, PageError> {
        self.origins.lock().unwrap().push(origin.to_owned());
        let check_id = self.add(AgeCheckStatus::Pending);
        let request = serde_json::json!({"requests": [{
            "protocol": "openid4vp-v1-unsigned",
            "data": {"response_type": "vp_token", "response_mode": "dc_api", "nonce": "abc",
                     "dcql_query": {"credentials": []}},
        }]});
        Ok(DcApiStart { check_id, request })
    }

    async fn finish_dc_api(
        &self,
        check_id: &str,
        data: serde_json::Value,
        origin: &str,
    ) -> Result<AgeCheckStatus, PageError> {
        self.origins.lock().unwrap().push(origin.to_owned());
        self.finished.lock().unwrap().push((check_id.to_owned(), data.clone()));
        let mut checks = self.checks.lock().unwrap();
        let check = checks.get_mut(check_id).ok_or(PageError::UnknownCheck)?;
        check.status = if data.get("vp_token").is_some() {
            AgeCheckStatus::Verified { over_18: true }
        } else {
            AgeCheckStatus::Rejected
        };
        Ok(check.status)
    }

    async fn poll(&self, check_id: &str) -> Result<AgeCheckStatus, PageError> {
        if self.fail {
            return Err(PageError::Internal("database password=hunter2 refused".into()));
        }
        let checks = self.checks.lock().unwrap();
        let check = checks.get(check_id).ok_or(PageError::UnknownCheck)?;
        // The backend knows more; the page's answer must not carry it.
        assert!(!check.given_name.is_empty() && !check.birth_date.is_empty());
        Ok(check.status)
    }
}

fn app(backend: &Arc<TestBackend>) -> Router {
    router(backend.clone(), PageConfig::from_public_url(&format!("{ORIGIN}/")).unwrap())
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|_| panic!("not JSON: {}", self.text()))
    }

    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }

    fn header(&self, name: header::HeaderName) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }
}

async fn send(app: &Router, request: Request<Body>) -> Answer {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), 1 << 22).await.unwrap().to_vec();
    Answer { status, headers, body }
}

async fn get_path(app: &Router, path: &str) -> Answer {
    send(app, Request::get(path).body(Body::empty()).unwrap()).await
}

fn post_json(path: &str, origin: Option<&str>, body: impl Into<Body>) -> Request<Body> {
    let mut request = Request::post(path).header(header::CONTENT_TYPE, "application/json");
    if let Some(origin) = origin {
        request = request.header(header::ORIGIN, origin);
    }
    request.body(body.into()).unwrap()
}

fn assert_error(answer: &Answer, status: StatusCode, error: &str) {
    assert_eq!(answer.status, status, "{}", answer.text());
    let json = answer.json();
    let object = json.as_object().unwrap();
    assert_eq!(object.len(), 2, "{json}");
    assert_eq!(json["error"], error);
    assert!(json["error_description"].as_str().is_some_and(|d| !d.is_empty()));
    assert_eq!(answer.header(header::CACHE_CONTROL), "no-store");
}

/// The keys of a JSON object, sorted.
fn keys(json: &serde_json::Value) -> Vec<String> {
    let mut keys: Vec<String> = json.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn serves_the_page_with_its_elements_and_a_strict_csp() {
    let app = app(&Arc::new(TestBackend::new(AgeCheckStatus::Pending)));
    let page = get_path(&app, "/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.header(header::CONTENT_TYPE), "text/html; charset=utf-8");
    assert_eq!(page.header(header::CACHE_CONTROL), "no-store");
    assert_eq!(page.header(header::X_FRAME_OPTIONS), "DENY");
    let csp = page.header(header::CONTENT_SECURITY_POLICY);
    assert_eq!(csp, CONTENT_SECURITY_POLICY);
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ] {
        assert!(csp.split(';').any(|d| d.trim() == directive), "{directive} missing from {csp}");
    }
    assert!(!csp.contains("unsafe"), "{csp}");

    let html = page.text();
    assert!(html.starts_with("<!doctype html>"));
    assert!(html.contains(r#"<html lang="en">"#));
    assert!(html.contains("<h1>Confirm you are over 18</h1>"));
    for element in [
        r#"id="qr""#,
        r#"id="same-device""#,
        r#"id="dc-api""#,
        r#"id="result" data-status="pending" aria-live="polite""#,
    ] {
        assert!(html.contains(element), "{element} missing");
    }
    // The Digital Credentials API button is hidden until the script finds the API.
    assert!(html.contains(r#"<p id="dc-api-row" hidden><button id="dc-api""#));
    // No inline script or style (the CSP would block them), no external resources.
    assert!(!html.contains("<script>") && !html.contains("style=") && !html.contains("<style"));
    assert!(html.contains(r#"<script src="assets/age-check.js" defer></script>"#));
    assert!(html.contains(r#"<link rel="stylesheet" href="assets/age-check.css">"#));

    let css = get_path(&app, "/assets/age-check.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert_eq!(css.header(header::CONTENT_TYPE), "text/css; charset=utf-8");
    let js = get_path(&app, "/assets/age-check.js").await;
    assert_eq!(js.status, StatusCode::OK);
    assert_eq!(js.header(header::CONTENT_TYPE), "text/javascript; charset=utf-8");
    assert_eq!(js.header(header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    let js = js.text();
    assert!(js.contains("navigator.credentials.get({ digital: check.request, mediation: 'required' })"));
    for text in [&html, &css.text(), &js] {
        assert!(!text.contains("http://") && !text.contains("https://") && !text.contains("//cdn"));
        assert!(!text.contains("@import") && !text.contains("url("));
    }
}

/// The dark modules an SVG from [`qr_svg`] draws, as (x, y) without the quiet zone, read back
/// from its path (`M{x} {y}h1v1H{x}V{y}` per module).
fn svg_modules(svg: &str) -> (usize, Vec<(usize, usize)>) {
    let mut reader = quick_xml::Reader::from_str(svg);
    let (mut size, mut d) = (None, None);
    loop {
        match reader.read_event().unwrap() {
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                let attr = |name: &str| {
                    e.attributes()
                        .map(|a| a.unwrap())
                        .find(|a| a.key.as_ref() == name)
                        .map(|a| a.value.into_owned())
                };
                match e.name().as_ref() {
                    "svg" => {
                        assert_eq!(attr("xmlns").as_deref(), Some("http://www.w3.org/2000/svg"));
                        let view_box = attr("viewBox").unwrap();
                        let parts: Vec<usize> = view_box.split(' ').map(|p| p.parse().unwrap()).collect();
                        assert_eq!(parts[..2], [0, 0]);
                        assert_eq!(parts[2], parts[3]);
                        size = Some(parts[2]);
                    }
                    "path" => d = attr("d"),
                    _ => {}
                }
            }
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    let size = size.expect("an <svg> element");
    let d = d.expect("a <path> element");
    let mut modules = Vec::new();
    for rect in d.split('M').filter(|r| !r.is_empty()) {
        let (x, rest) = rect.split_once(' ').unwrap();
        let (y, rest) = rest.split_once('h').unwrap();
        assert_eq!(rest, format!("1v1H{x}V{y}"));
        let (x, y): (usize, usize) = (x.parse().unwrap(), y.parse().unwrap());
        assert!((4..size - 4).contains(&x) && (4..size - 4).contains(&y), "module in the quiet zone");
        modules.push((x - 4, y - 4));
    }
    (size - 8, modules)
}

#[tokio::test]
async fn start_returns_the_qr_code_of_exactly_the_authorization_request() {
    let backend = Arc::new(TestBackend::new(AgeCheckStatus::Pending));
    let app = app(&backend);
    let answer = send(&app, post_json("/age-check", Some(ORIGIN), Body::empty())).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert_eq!(answer.header(header::CACHE_CONTROL), "no-store");
    let json = answer.json();
    assert_eq!(keys(&json), ["authorization_request", "check_id", "qr_svg"]);
    let request = json["authorization_request"].as_str().unwrap();
    assert_eq!(request, authorization_request(1));
    assert!(backend.checks.lock().unwrap().contains_key(json["check_id"].as_str().unwrap()));

    let (width, modules) = svg_modules(json["qr_svg"].as_str().unwrap());
    let expected = qrcode::QrCode::with_error_correction_level(request, qrcode::EcLevel::M).unwrap();
    assert_eq!(width, expected.width());
    let colors = expected.to_colors();
    let dark: Vec<(usize, usize)> = (0..width)
        .flat_map(|y| (0..width).map(move |x| (x, y)))
        .filter(|&(x, y)| colors[y * width + x] == qrcode::Color::Dark)
        .collect();
    assert_eq!(modules, dark);
    // A different request would give a different code.
    let other =
        qrcode::QrCode::with_error_correction_level(authorization_request(2), qrcode::EcLevel::M).unwrap();
    assert_ne!(other.to_colors(), colors);
}

#[test]
fn qr_svg_falls_back_to_low_error_correction_and_then_fails_cleanly() {
    // 2,331 bytes is the most a version 40-M code holds in byte mode; L holds 2,953.
    let long = "a".repeat(2_600);
    assert!(qrcode::QrCode::with_error_correction_level(&long, qrcode::EcLevel::M).is_err());
    let (width, modules) = svg_modules(&qr_svg(&long).unwrap());
    let expected = qrcode::QrCode::with_error_correction_level(&long, qrcode::EcLevel::L).unwrap();
    assert_eq!(width, expected.width());
    assert_eq!(modules.len(), expected.to_colors().iter().filter(|c| **c == qrcode::Color::Dark).count());
    assert!(matches!(qr_svg(&"a".repeat(3_000)), Err(PageError::Internal(_))));
}

#[tokio::test]
async fn poll_exposes_only_status_and_over_18() {
    let backend = Arc::new(TestBackend::new(AgeCheckStatus::Pending));
    let app = app(&backend);
    let cases = [
        (AgeCheckStatus::Pending, serde_json::json!({"status": "pending", "over_18": null})),
        (
            AgeCheckStatus::Verified { over_18: true },
            serde_json::json!({"status": "verified", "over_18": true}),
        ),
        (
            AgeCheckStatus::Verified { over_18: false },
            serde_json::json!({"status": "verified", "over_18": false}),
        ),
        (AgeCheckStatus::Rejected, serde_json::json!({"status": "rejected", "over_18": null})),
    ];
    for (status, expected) in cases {
        let id = backend.add(status);
        let answer = get_path(&app, &format!("/age-check/{id}")).await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.header(header::CACHE_CONTROL), "no-store");
        assert_eq!(answer.json(), expected);
        assert_eq!(keys(&answer.json()), ["over_18", "status"]);
        let text = answer.text();
        assert!(!text.contains("Erika") && !text.contains("1984"), "{text}");
    }
}

#[tokio::test]
async fn rejects_unknown_check_ids() {
    let backend = Arc::new(TestBackend::new(AgeCheckStatus::Pending));
    let app = app(&backend);
    backend.add(AgeCheckStatus::Verified { over_18: true });
    let long = "a".repeat(MAX_CHECK_ID_LEN + 1);
    for id in ["check-1", "nope", "check-0%20", "check-0%00", "%C3%A6", long.as_str()] {
        let answer = get_path(&app, &format!("/age-check/{id}")).await;
        assert_error(&answer, StatusCode::NOT_FOUND, "not_found");
        let answer = send(
            &app,
            post_json(&format!("/age-check/dc-api/{id}"), Some(ORIGIN), r#"{"data":{"vp_token":{}}}"#),
        )
        .await;
        assert_error(&answer, StatusCode::NOT_FOUND, "not_found");
    }
    // Only the well-formed ids reached the backend.
    let finished = backend.finished.lock().unwrap();
    let asked: Vec<&str> = finished.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(asked, ["check-1", "nope"]);
}

#[tokio::test]
async fn dc_api_check_uses_the_configured_origin() {
    let backend = Arc::new(TestBackend::new(AgeCheckStatus::Pending));
    let app = app(&backend);
    let answer = send(&app, post_json("/age-check/dc-api", Some(ORIGIN), Body::empty())).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    let json = answer.json();
    assert_eq!(keys(&json), ["check_id", "request"]);
    assert_eq!(json["request"]["requests"][0]["protocol"], "openid4vp-v1-unsigned");
    let id = json["check_id"].as_str().unwrap().to_owned();

    let poll = get_path(&app, &format!("/age-check/{id}")).await;
    assert_eq!(poll.json(), serde_json::json!({"status": "pending", "over_18": null}));

    let data = serde_json::json!({"vp_token": {"av": ["o2d2ZXJzaW9u"]}});
    let body = serde_json::json!({ "data": data }).to_string();
    let answer = send(&app, post_json(&format!("/age-check/dc-api/{id}"), Some(ORIGIN), body)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert_eq!(answer.json(), serde_json::json!({"status": "verified", "over_18": true}));
    assert_eq!(backend.finished.lock().unwrap().as_slice(), [(id.clone(), data)]);
    assert_eq!(backend.origins.lock().unwrap().as_slice(), [ORIGIN, ORIGIN]);

    let poll = get_path(&app, &format!("/age-check/{id}")).await;
    assert_eq!(poll.json(), serde_json::json!({"status": "verified", "over_18": true}));
}

#[tokio::test]
async fn rejects_posts_from_other_origins() {
    let backend = Arc::new(TestBackend::new(AgeCheckStatus::Pending));
    let app = app(&backend);
    let id = backend.add(AgeCheckStatus::Pending);
    let finish = format!("/age-check/dc-api/{id}");
    for origin in [None, Some("https://evil.example"), Some("http://shop.example"), Some("null"), Some("")] {
        let answer = send(&app, post_json("/age-check", origin, Body::empty())).await;
        assert_error(&answer, StatusCode::FORBIDDEN, "access_denied");
        let answer = send(&app, post_json("/age-check/dc-api", origin, Body::empty())).await;
        assert_error(&answer, StatusCode::FORBIDDEN, "access_denied");
        let answer = send(&app, post_json(&finish, origin, r#"{"data":{"vp_token":{}}}"#)).await;
        assert_error(&answer, StatusCode::FORBIDDEN, "access_denied");
    }
    assert!(backend.origins.lock().unwrap().is_empty());
    assert!(backend.finished.lock().unwrap().is_empty());
    // Only the check added above exists: none was started.
    assert_eq!(backend.checks.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn rejects_oversized_dc_api_bodies() {
    let backend = Arc::new(TestBackend::new(AgeCheckStatus::Pending));
    let app = app(&backend);
    let id = backend.add(AgeCheckStatus::Pending);
    let big = format!(r#"{{"data":{{"vp_token":{{"av":["{}"]}}}}}}"#, "A".repeat(MAX_DC_API_BODY_BYTES));
    let answer = send(&app, post_json(&format!("/age-check/dc-api/{id}"), Some(ORIGIN), big)).await;
    assert_error(&answer, StatusCode::PAYLOAD_TOO_LARGE, "invalid_request");
    assert!(backend.finished.lock().unwrap().is_empty());
    // Just under the limit is accepted.
    let fits =
        format!(r#"{{"data":{{"vp_token":{{"av":["{}"]}}}}}}"#, "A".repeat(MAX_DC_API_BODY_BYTES - 100));
    let answer = send(&app, post_json(&format!("/age-check/dc-api/{id}"), Some(ORIGIN), fits)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
}

#[tokio::test]
async fn rejects_malformed_dc_api_bodies() {
    let backend = Arc::new(TestBackend::new(AgeCheckStatus::Pending));
    let app = app(&backend);
    let id = backend.add(AgeCheckStatus::Pending);
    let path = format!("/age-check/dc-api/{id}");
    for body in [
        "",
        "not json",
        "{\"data\":",
        "[]",
        "{}",
        r#"{"data":null}"#,
        r#"{"data":"eyJ2cF90b2tlbiI6e319"}"#,
        r#"{"data":[{"vp_token":{}}]}"#,
        r#"{"data":{"vp_token":{}},"given_name":"Erika"}"#,
        "\u{feff}{\"data\":{}}",
    ] {
        let answer = send(&app, post_json(&path, Some(ORIGIN), body)).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_request");
    }
    let wrong_type = Request::post(&path)
        .header(header::CONTENT_TYPE, "text/plain")
        .header(header::ORIGIN, ORIGIN)
        .body(Body::from(r#"{"data":{"vp_token":{}}}"#))
        .unwrap();
    assert_error(&send(&app, wrong_type).await, StatusCode::UNSUPPORTED_MEDIA_TYPE, "invalid_request");
    assert!(backend.finished.lock().unwrap().is_empty());
}

#[tokio::test]
async fn backend_failures_hide_their_detail() {
    let app = app(&Arc::new(TestBackend::failing()));
    let answer = send(&app, post_json("/age-check", Some(ORIGIN), Body::empty())).await;
    assert_error(&answer, StatusCode::INTERNAL_SERVER_ERROR, "server_error");
    assert!(!answer.text().contains("hunter2"));
    let answer = get_path(&app, "/age-check/check-0").await;
    assert_error(&answer, StatusCode::INTERNAL_SERVER_ERROR, "server_error");
}

#[test]
fn origin_comes_from_the_public_url() {
    let origin = |url: &str| PageConfig::from_public_url(url).map(|c| c.origin().to_owned());
    assert_eq!(origin("https://shop.example/").unwrap(), "https://shop.example");
    assert_eq!(origin("https://Shop.Example:443/age/").unwrap(), "https://shop.example");
    assert_eq!(origin("https://shop.example:8443/age/?x=1").unwrap(), "https://shop.example:8443");
    assert_eq!(origin("http://127.0.0.1:8080").unwrap(), "http://127.0.0.1:8080");
}

#[test]
fn rejects_public_urls_without_an_http_origin() {
    for url in ["", "shop.example", "file:///tmp/page", "data:text/html,hi", "openid4vp://x"] {
        assert!(matches!(PageConfig::from_public_url(url), Err(PageError::InvalidRequest(_))), "{url}");
    }
}

/// Serves the page on a loopback port and has headless Chromium load it, run its script
/// against the test backend and dump the resulting DOM; also writes screenshots of the pending and the answered page
/// (into the directory `SEGL_PAGE_SCREENSHOTS` names, else a temporary one) for a person to look at. Skipped where
/// Chromium is not installed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_runs_in_headless_chromium() {
    let chromium = std::path::Path::new("/usr/bin/chromium");
    if !chromium.exists() {
        eprintln!("skipped: /usr/bin/chromium is not installed");
        return;
    }
    let backend = Arc::new(TestBackend::new(AgeCheckStatus::Verified { over_18: true }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let origin = format!("http://{address}");
    let app = router(backend.clone(), PageConfig::from_public_url(&origin).unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let run = |args: Vec<String>| {
        let profile = tempfile::tempdir().unwrap();
        let mut command = std::process::Command::new(chromium);
        command
            .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars"])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(["--window-size=800,1100", "--virtual-time-budget=5000"])
            .args(args)
            .arg(format!("{origin}/"));
        tokio::task::spawn_blocking(move || {
            let output = command.output().unwrap();
            drop(profile);
            output
        })
    };

    let dom = run(vec!["--dump-dom".into()]).await.unwrap();
    assert!(dom.status.success(), "{}", String::from_utf8_lossy(&dom.stderr));
    let dom = String::from_utf8(dom.stdout).unwrap();
    assert!(dom.contains(r#"<div id="qr" class="qr done" role="img""#), "{dom}");
    assert!(dom.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""), "QR not inserted: {dom}");
    assert!(dom.contains(r#"id="same-device" class="button" href="openid4vp://?client_id="#), "{dom}");
    assert!(
        dom.contains(
            r#"<p id="result" data-status="yes" aria-live="polite" aria-atomic="true">Over 18: yes</p>"#
        ),
        "{dom}"
    );

    let scratch = tempfile::tempdir().unwrap();
    let dir = std::env::var_os("SEGL_PAGE_SCREENSHOTS").map_or_else(|| scratch.path().to_owned(), Into::into);
    for (status, name) in [
        (AgeCheckStatus::Verified { over_18: true }, "segl-age-check-page-verified.png"),
        (AgeCheckStatus::Pending, "segl-age-check-page.png"),
    ] {
        *backend.next_status.lock().unwrap() = status;
        let path = dir.join(name);
        let shot = run(vec![format!("--screenshot={}", path.display())]).await.unwrap();
        assert!(shot.status.success(), "{}", String::from_utf8_lossy(&shot.stderr));
        let png = std::fs::read(&path).unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000, "{} bytes", png.len());
    }
}
