//! The served OpenAPI document against the seed contract and against the router.

use crate::helpers::*;
use serde_json::Value;
use std::collections::BTreeSet;

fn seed() -> Value {
    let text = std::fs::read_to_string(data_path().join("seed-openapi.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// A `$ref` followed inside `doc`.
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => resolve(
            doc,
            doc.pointer(r.trim_start_matches('#'))
                .unwrap_or(&Value::Null),
        ),
        None => v,
    }
}

/// Every property of the seed schema is in the served one with the same type, recursively.
fn assert_contains(seed: &Value, s: &Value, served: &Value, d: &Value, at: &str) {
    let (s, d) = (resolve(seed, s), resolve(served, d));
    assert_eq!(s.get("type"), d.get("type"), "type at {at}");
    if let Some(props) = s.get("properties").and_then(Value::as_object) {
        for (name, sp) in props {
            let dp = &d["properties"][name];
            assert!(
                !dp.is_null(),
                "{at}.{name} is missing from the served document"
            );
            assert_contains(seed, sp, served, dp, &format!("{at}.{name}"));
        }
    }
    if let Some(items) = s.get("items") {
        assert_contains(seed, items, served, &d["items"], &format!("{at}[]"));
    }
}

#[test]
fn served_document_keeps_every_seed_operation_and_response_schema() {
    let app = spawn_app();
    let r = app.anonymous().get("/api/v1/openapi.json");
    assert_eq!(r.status, 200);
    let served = r.body;
    assert_eq!(served["openapi"].as_str().map(|v| &v[..3]), Some("3.0"));
    let seed = seed();
    for (path, item) in seed["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let served_op = &served["paths"][path][method];
            assert!(
                served_op.is_object(),
                "{method} {path} is not in the served document"
            );
            for (code, resp) in op["responses"].as_object().unwrap() {
                let schema = &resp["content"]["application/json"]["schema"];
                let served_schema =
                    &served_op["responses"][code]["content"]["application/json"]["schema"];
                assert!(
                    !served_schema.is_null(),
                    "{method} {path} {code} has no schema"
                );
                assert_contains(
                    &seed,
                    schema,
                    &served,
                    served_schema,
                    &format!("{method} {path} {code}"),
                );
            }
        }
    }
}

#[test]
fn served_document_and_router_describe_the_same_operations() {
    let app = spawn_app();
    let served = app.anonymous().get("/api/v1/openapi.json").body;
    let mut documented = BTreeSet::new();
    for (path, item) in served["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                // Paths with their own root server (health, docs) are served as written;
                // the rest live under /api/v1.
                let rooted = item["servers"][0]["url"].as_str() == Some("/");
                let full = if rooted {
                    path.clone()
                } else {
                    format!("/api/v1{path}")
                };
                documented.insert((full, method.to_uppercase()));
            }
        }
    }
    let served_routes: BTreeSet<(String, String)> = dhanita::http::routes()
        .into_iter()
        .map(|(p, m)| (p.to_string(), m.to_string()))
        .collect();
    let missing: Vec<_> = served_routes.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&served_routes).collect();
    assert!(missing.is_empty(), "served but not documented: {missing:?}");
    assert!(
        unserved.is_empty(),
        "documented but not served: {unserved:?}"
    );
    // And each documented operation really answers something other than 404/405.
    let c = app.admin();
    for (path, method) in &documented {
        let concrete = path
            .replace("{lead_id}", "LD000000000000")
            .replace("{document_id}", "DOC1");
        let r = c.send(c.request(method, &concrete), None);
        let unknown_lead = r.body["message"] == "Lead not found.";
        assert!(
            ![404, 405].contains(&r.status) || unknown_lead,
            "{method} {path}: {} {}",
            r.status,
            r.body
        );
    }
}

#[test]
fn docs_page_is_self_contained_html() {
    let app = spawn_app();
    let r = app.anonymous().get("/docs");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    let html = String::from_utf8(r.bytes).unwrap();
    assert!(
        html.contains("/leads/{lead_id}/documents"),
        "operations are listed"
    );
    for external in [
        "<script src",
        "<link rel=\"stylesheet\" href=\"http",
        "src=\"http",
    ] {
        assert!(!html.contains(external), "external asset: {external}");
    }
}
