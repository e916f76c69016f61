//! CORS (issue 3): listed origins get the CORS headers on every answer, and preflights are
//! answered without a key; unlisted origins and the default (no origins) get none.

use crate::helpers::*;
use serde_json::json;

const ORIGIN: &str = "https://app.example.com";

fn app_with_origin() -> TestApp {
    let mut http = http_settings();
    http.cors_origins = vec![ORIGIN.to_string()];
    spawn_app_with(settings(), http)
}

fn with_origin(c: &Client, method: &str, path: &str, origin: &str) -> Reply {
    c.send(c.request(method, path).set("Origin", origin), None)
}

fn preflight(app: &TestApp, path: &str, origin: &str) -> Reply {
    let c = app.anonymous();
    c.send(
        c.request("OPTIONS", path)
            .set("Origin", origin)
            .set("Access-Control-Request-Method", "POST")
            .set(
                "Access-Control-Request-Headers",
                "x-api-key, idempotency-key, content-type",
            ),
        None,
    )
}

/// The comma-separated items of a header, lowercased.
fn items(r: &Reply, name: &str) -> Vec<String> {
    r.header(name)
        .unwrap_or_else(|| panic!("no {name}: {:?}", r.headers))
        .split(',')
        .map(|s| s.trim().to_ascii_lowercase())
        .collect()
}

fn assert_no_cors(r: &Reply) {
    let cors: Vec<_> = r
        .headers
        .iter()
        .filter(|(k, _)| k.to_ascii_lowercase().starts_with("access-control-"))
        .collect();
    assert!(cors.is_empty(), "CORS headers {cors:?}");
}

#[test]
fn a_listed_origin_gets_the_cors_headers_on_every_answer() {
    let app = app_with_origin();
    let admin = app.admin();
    let id = admin.new_lead("9876543210");
    let replies = [
        with_origin(&admin, "GET", "/api/v1/products", ORIGIN),
        with_origin(&admin, "GET", &format!("/api/v1/leads/{id}"), ORIGIN),
        with_origin(&admin, "GET", "/api/v1/leads/LD209901010001", ORIGIN),
        with_origin(&app.anonymous(), "GET", "/api/v1/leads", ORIGIN),
        with_origin(&admin, "DELETE", "/api/v1/leads", ORIGIN),
        admin.send(
            admin.request("POST", "/api/v1/leads").set("Origin", ORIGIN),
            Some((
                "application/json",
                br#"{"product":"Home Loan","customer_name":"Asha Rao","mobile":"9876543211"}"#,
            )),
        ),
    ];
    let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 200, 404, 401, 405, 201]);
    for r in &replies {
        assert_eq!(
            r.header("Access-Control-Allow-Origin"),
            Some(ORIGIN),
            "{} {:?}",
            r.status,
            r.headers
        );
    }
    // The file download too.
    let r = admin.upload(&id, "PAN", "pan-card.pdf", &sample("pan-card.pdf"));
    let doc = r.body["data"]["document_id"].as_str().unwrap().to_string();
    let r = with_origin(
        &admin,
        "GET",
        &format!("/api/v1/leads/{id}/documents/{doc}/file"),
        ORIGIN,
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Access-Control-Allow-Origin"), Some(ORIGIN));
}

#[test]
fn a_preflight_is_answered_without_a_key() {
    let app = app_with_origin();
    let id = app.admin().new_lead("9876543210");
    for (path, methods) in [
        ("/api/v1/leads".to_string(), vec!["get", "post"]),
        (format!("/api/v1/leads/{id}/documents"), vec!["get", "post"]),
        (format!("/api/v1/leads/{id}"), vec!["get", "patch"]),
        (format!("/api/v1/leads/{id}/notes"), vec!["get", "post"]),
    ] {
        let r = preflight(&app, &path, ORIGIN);
        assert_eq!(r.status, 204, "{path}: {:?} {}", r.headers, r.body);
        assert!(r.bytes.is_empty());
        assert_common(&r);
        assert_eq!(r.header("Access-Control-Allow-Origin"), Some(ORIGIN));
        let headers = items(&r, "Access-Control-Allow-Headers");
        for h in [
            "x-api-key",
            "idempotency-key",
            "content-type",
            "if-none-match",
        ] {
            assert!(headers.contains(&h.to_string()), "{path}: {headers:?}");
        }
        let allowed = items(&r, "Access-Control-Allow-Methods");
        for m in methods {
            assert!(allowed.contains(&m.to_string()), "{path}: {allowed:?}");
        }
    }
    // The preflight created nothing.
    let r = app.admin().list_leads("");
    assert_eq!(assert_ok(&r, 200).as_array().unwrap().len(), 1);
}

#[test]
fn unlisted_origins_get_no_cors_headers() {
    let app = app_with_origin();
    let admin = app.admin();
    for origin in [
        "https://evil.example.com",
        "https://app.example.com/",
        "http://app.example.com",
        "https://app.example.com:8443",
        "https://app.example.com.evil.net",
        "null",
    ] {
        let r = with_origin(&admin, "GET", "/api/v1/products", origin);
        assert_eq!(r.status, 200);
        assert_no_cors(&r);
        let r = preflight(&app, "/api/v1/leads", origin);
        assert_no_cors(&r);
    }
    // No Origin at all: a same-origin or server-side call, no CORS headers either.
    let r = admin.get("/api/v1/products");
    assert_no_cors(&r);
}

#[test]
fn the_default_settings_allow_no_origin() {
    let app = spawn_app();
    let admin = app.admin();
    let r = with_origin(&admin, "GET", "/api/v1/products", ORIGIN);
    assert_eq!(r.status, 200);
    assert_no_cors(&r);
    let r = preflight(&app, "/api/v1/leads", ORIGIN);
    assert_no_cors(&r);
    let r = admin.create_lead(
        &json!({"product": "Home Loan", "customer_name": "Asha Rao", "mobile": "9876543211"}),
    );
    assert_no_cors(&r);
}
