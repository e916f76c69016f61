//! Reads answered again from what the server kept (see `http::answers`): a repeated read
//! must show every change made since, by this server or by another process, and must never
//! be served to a different key.

use crate::helpers::*;
use dhanita::app::{self, App};
use dhanita::model::Role;
use serde_json::{json, Value};

/// Asks twice (the second answer may be the kept one) and checks both answers agree.
fn twice(c: &Client, path: &str) -> Reply {
    let first = c.get(path);
    let second = c.get(path);
    assert_eq!(first.status, second.status, "{path}");
    assert_eq!(first.body, second.body, "{path}");
    assert_common(&second);
    assert_ne!(
        first.header("X-Request-Id"),
        second.header("X-Request-Id"),
        "{path}: each answer has its own request id"
    );
    second
}

#[test]
fn a_repeated_read_shows_every_change_made_since() {
    let app = spawn_app();
    let key = app.create_key(Role::Partner, "Acme", None);
    let c = app.with_key(&key);
    let admin = app.admin();
    let id = c.new_lead("9876543210");
    let lead = format!("/api/v1/leads/{id}");
    let journey = format!("/api/v1/leads/{id}/journey");
    let status = format!("/api/v1/leads/{id}/status");
    let notes = format!("/api/v1/leads/{id}/notes");
    let documents = format!("/api/v1/leads/{id}/documents");
    let list = "/api/v1/leads?limit=5";

    let before = twice(&c, &lead);
    assert_eq!(assert_ok(&before, 200)["city"], Value::Null);
    let steps = |r: &Reply| assert_ok(r, 200).as_array().unwrap().len();
    let journey_before = steps(&twice(&c, &journey));
    assert_eq!(steps(&twice(&c, &notes)), 0);
    assert_eq!(steps(&twice(&c, &documents)), 0);
    assert_eq!(
        assert_ok(&twice(&c, &status), 200)["status"],
        json!("document_pending")
    );
    assert_eq!(assert_ok(&twice(&c, list), 200)[0]["city"], Value::Null);

    // A change through the API: the next read shows it.
    let r = c.patch_lead(&id, &json!({"city": "Pune"}));
    assert_ok(&r, 200);
    assert_eq!(assert_ok(&c.get(&lead), 200)["city"], json!("Pune"));
    assert_eq!(assert_ok(&c.get(list), 200)[0]["city"], json!("Pune"));
    assert_eq!(assert_ok(&twice(&c, &lead), 200)["city"], json!("Pune"));

    assert_ok(&c.add_note(&id, &json!({"note": "Called."})), 201);
    assert_eq!(steps(&c.get(&notes)), 1);
    assert_ok(
        &c.upload(&id, "PAN", "pan.pdf", &sample("pan-card.pdf")),
        201,
    );
    assert_eq!(steps(&c.get(&documents)), 1);

    let r = admin.move_status(&id, &json!({"status": "under_review"}));
    assert_ok(&r, 200);
    assert_eq!(
        assert_ok(&c.get(&status), 200)["status"],
        json!("under_review")
    );
    assert!(steps(&c.get(&journey)) > journey_before);

    // HEAD of a read that was kept: the same head, no body.
    let got = c.get(&lead);
    let head = c.send(c.request("HEAD", &lead), None);
    assert_eq!(head.status, 200);
    assert_eq!(head.body, Value::Null);
    assert_eq!(head.header("Content-Length"), got.header("Content-Length"));
    assert_eq!(head.header("Content-Type"), Some("application/json"));
}

#[test]
fn a_kept_answer_is_never_given_to_another_key() {
    let app = spawn_app();
    let acme = app.create_key(Role::Partner, "Acme", None);
    let acme_two = app.create_key(Role::Partner, "Acme", None);
    let other = app.create_key(Role::Partner, "Other", None);
    let id = app.with_key(&acme).new_lead("9876543210");
    let path = format!("/api/v1/leads/{id}");
    let seen = twice(&app.with_key(&acme), &path);
    assert_ok(&seen, 200);

    // Another partner: the same 404 as for a lead that does not exist.
    let r = twice(&app.with_key(&other), &path);
    assert_error(&r, 404);
    let missing = app.with_key(&other).get("/api/v1/leads/LD209901010001");
    assert_eq!(r.body, missing.body);
    // No key, an unknown key, a blank key: 401, every time.
    for c in [
        app.anonymous(),
        app.with_key("dk_not_a_key"),
        app.with_key(" "),
    ] {
        assert_error(&twice(&c, &path), 401);
    }
    // A key of the same partner, and the admin: the lead.
    assert_eq!(twice(&app.with_key(&acme_two), &path).body, seen.body);
    assert_eq!(twice(&app.admin(), &path).body, seen.body);
    // And the first key still gets it.
    assert_eq!(app.with_key(&acme).get(&path).body, seen.body);
}

#[test]
fn a_change_committed_by_another_process_is_seen_at_once() {
    let app = spawn_app();
    let key = app.create_key(Role::Partner, "Acme", None);
    let c = app.with_key(&key);
    let id = c.new_lead("9876543210");
    let path = format!("/api/v1/leads/{id}");
    assert_eq!(assert_ok(&twice(&c, &path), 200)["city"], Value::Null);
    assert_eq!(twice(&c, "/api/v1/products").status, 200);

    // Another program on the same data folder (its own connections, as another process
    // has) changes the lead, then revokes the key.
    let other = App::open(app.data_dir(), settings()).expect("open a second app");
    let admin = app::authenticate(&other, Some(&app.key)).expect("admin key");
    let mut body = serde_json::Map::new();
    body.insert("city".into(), json!("Nagpur"));
    app::update_lead(&other, &admin, &id, body).expect("update");
    assert_eq!(assert_ok(&c.get(&path), 200)["city"], json!("Nagpur"));
    assert_eq!(assert_ok(&twice(&c, &path), 200)["city"], json!("Nagpur"));

    let keys = app::list_keys(&other).expect("keys");
    let acme = keys
        .iter()
        .find(|k| k.partner == "Acme")
        .expect("the Acme key");
    app::revoke_key(&other, acme.id).expect("revoke");
    other.close();
    assert_error(&c.get(&path), 401);
    assert_error(&c.get("/api/v1/products"), 401);
}
