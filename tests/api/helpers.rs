//! `spawn_app()` starts the real server on port 0 with a fresh data dir and returns a
//! `TestApp` with one method per endpoint. Every call returns a `Reply`: status, headers,
//! and the body parsed as JSON (or `Value::Null` when it is not JSON).

use dhanita::app::{self, App, Settings};
use dhanita::db::Synchronous;
use dhanita::http::{self, HttpSettings, ServerHandle};
use dhanita::model::Role;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub const ADMIN_KEY: &str = "test-admin-key-0123456789abcdef0123456789";

pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub bytes: Vec<u8>,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The field-error keys of an ErrorResponse, sorted.
    pub fn error_fields(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.body["errors"]
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        keys.sort();
        keys
    }
}

pub struct TestApp {
    pub base: String,
    pub dir: tempfile::TempDir,
    pub key: String,
    handle: Option<ServerHandle>,
    agent: ureq::Agent,
}

pub fn settings() -> Settings {
    Settings {
        offset: chrono::FixedOffset::east_opt(5 * 3600 + 1800).unwrap(),
        synchronous: Synchronous::Normal,
        allow_duplicates: false,
    }
}

pub fn http_settings() -> HttpSettings {
    HttpSettings {
        listen: "127.0.0.1:0".into(),
        threads: 8,
        max_json_bytes: 1 << 20,
        max_file_bytes: 10 << 20,
        cors_origins: Vec::new(),
        requests_per_minute: 0,
    }
}

fn start(dir: &Path) -> ServerHandle {
    let app = App::open(dir, settings()).expect("open app");
    app::ensure_key(&app, ADMIN_KEY).expect("admin key");
    http::start(Arc::new(app), http_settings()).expect("start server")
}

pub fn spawn_app() -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let handle = start(dir.path());
    TestApp {
        base: format!("http://{}", handle.addr),
        dir,
        key: ADMIN_KEY.to_string(),
        handle: Some(handle),
        agent: ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(30))
            .build(),
    }
}

pub fn data_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data")
}

impl TestApp {
    /// Stops the server and starts a new one on the same data dir.
    pub fn restart(&mut self) {
        if let Some(h) = self.handle.take() {
            h.stop();
        }
        let handle = start(self.dir.path());
        self.base = format!("http://{}", handle.addr);
        self.handle = Some(handle);
    }

    /// Opens the data dir's app directly (server must be stopped or tolerate a second
    /// writer): used to create extra keys.
    pub fn create_key(&self, role: Role, partner: &str, dsa_code: Option<&str>) -> String {
        let app = App::open(self.dir.path(), settings()).expect("open app");
        let k = app::create_key(&app, role, partner, dsa_code).expect("create key");
        app.close();
        k.secret
    }

    pub fn with_key(&self, key: &str) -> Client<'_> {
        Client {
            app: self,
            key: Some(key.to_string()),
        }
    }

    pub fn admin(&self) -> Client<'_> {
        self.with_key(&self.key.clone())
    }

    pub fn anonymous(&self) -> Client<'_> {
        Client {
            app: self,
            key: None,
        }
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("dhanita.db")
    }
}

/// Requests made with one key (or none).
pub struct Client<'a> {
    app: &'a TestApp,
    key: Option<String>,
}

impl Client<'_> {
    pub fn request(&self, method: &str, path: &str) -> ureq::Request {
        let mut r = self
            .app
            .agent
            .request(method, &format!("{}{}", self.app.base, path));
        if let Some(k) = &self.key {
            r = r.set("X-API-Key", k);
        }
        r
    }

    pub fn send(&self, req: ureq::Request, body: Option<(&str, &[u8])>) -> Reply {
        let result = match body {
            Some((ct, bytes)) => req.set("Content-Type", ct).send_bytes(bytes),
            None => req.call(),
        };
        let resp = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("transport error: {e}"),
        };
        let status = resp.status();
        let headers = resp
            .headers_names()
            .into_iter()
            .filter_map(|n| resp.header(&n).map(|v| (n.clone(), v.to_string())))
            .collect();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut resp.into_reader(), &mut bytes).expect("read body");
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            bytes,
            body,
        }
    }

    pub fn get(&self, path: &str) -> Reply {
        self.send(self.request("GET", path), None)
    }

    pub fn json(&self, method: &str, path: &str, body: &Value) -> Reply {
        let bytes = serde_json::to_vec(body).unwrap();
        self.send(
            self.request(method, path),
            Some(("application/json", &bytes)),
        )
    }

    pub fn raw(&self, method: &str, path: &str, content_type: &str, body: &[u8]) -> Reply {
        self.send(self.request(method, path), Some((content_type, body)))
    }

    pub fn create_lead(&self, body: &Value) -> Reply {
        self.json("POST", "/api/v1/leads", body)
    }

    /// Creates a Personal Loan lead for `mobile` and returns its lead_id.
    pub fn new_lead(&self, mobile: &str) -> String {
        let r = self.create_lead(&json!({
            "product": "Personal Loan", "customer_name": "Rahul Sharma", "mobile": mobile,
        }));
        assert_eq!(r.status, 201, "{}", r.body);
        r.body["data"]["lead_id"].as_str().unwrap().to_string()
    }

    pub fn lead(&self, id: &str) -> Reply {
        self.get(&format!("/api/v1/leads/{id}"))
    }

    pub fn patch_lead(&self, id: &str, body: &Value) -> Reply {
        self.json("PATCH", &format!("/api/v1/leads/{id}"), body)
    }

    pub fn journey(&self, id: &str) -> Reply {
        self.get(&format!("/api/v1/leads/{id}/journey"))
    }

    pub fn status(&self, id: &str) -> Reply {
        self.get(&format!("/api/v1/leads/{id}/status"))
    }

    pub fn disbursement(&self, id: &str) -> Reply {
        self.get(&format!("/api/v1/leads/{id}/disbursement"))
    }

    pub fn rm(&self, id: &str) -> Reply {
        self.get(&format!("/api/v1/leads/{id}/rm"))
    }

    pub fn add_note(&self, id: &str, body: &Value) -> Reply {
        self.json("POST", &format!("/api/v1/leads/{id}/notes"), body)
    }

    pub fn patch_document(&self, id: &str, doc: &str, body: &Value) -> Reply {
        self.json(
            "PATCH",
            &format!("/api/v1/leads/{id}/documents/{doc}"),
            body,
        )
    }

    /// Uploads with the given multipart parts: (name, filename, bytes).
    pub fn upload_parts(&self, id: &str, parts: &[(&str, Option<&str>, &[u8])]) -> Reply {
        let (ct, body) = multipart(parts);
        self.raw("POST", &format!("/api/v1/leads/{id}/documents"), &ct, &body)
    }

    pub fn upload(&self, id: &str, document_type: &str, filename: &str, bytes: &[u8]) -> Reply {
        self.upload_parts(
            id,
            &[
                ("document_type", None, document_type.as_bytes()),
                ("file", Some(filename), bytes),
            ],
        )
    }
}

/// A multipart/form-data body: (content type, bytes).
pub fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "dhanitaTestBoundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, filename, bytes) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match filename {
            Some(f) => body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

pub fn sample(name: &str) -> Vec<u8> {
    std::fs::read(data_path().join("documents").join(name)).expect("sample document")
}

// ---------------------------------------------------------------------------------------
// Shared assertions and fixtures used by the suite's files.
// ---------------------------------------------------------------------------------------

/// The office offset the test apps run with (+05:30).
pub fn ist() -> chrono::FixedOffset {
    chrono::FixedOffset::east_opt(5 * 3600 + 1800).unwrap()
}

/// Today's local date (`YYYYMMDD`) at +05:30.
pub fn today() -> String {
    chrono::Utc::now()
        .with_timezone(&ist())
        .format("%Y%m%d")
        .to_string()
}

/// Asserts what every response carries: a non-empty `X-Request-Id`, a JSON content type
/// and a JSON body, never an HTML page.
pub fn assert_common(r: &Reply) {
    let rid = r.header("X-Request-Id").unwrap_or("");
    assert!(
        !rid.trim().is_empty(),
        "no X-Request-Id on a {}: {:?}",
        r.status,
        r.headers
    );
    if r.status == 204 {
        return;
    }
    let ct = r.header("Content-Type").unwrap_or("");
    assert!(
        ct.to_ascii_lowercase().starts_with("application/json"),
        "content type {ct:?} on a {}",
        r.status
    );
    let text = String::from_utf8_lossy(&r.bytes);
    let lower = text.trim_start().to_ascii_lowercase();
    assert!(
        !lower.starts_with('<') && !lower.contains("<html") && !lower.contains("<!doctype"),
        "HTML body on a {}: {text}",
        r.status
    );
    assert!(
        r.body.is_object(),
        "body of a {} is not a JSON object: {text}",
        r.status
    );
}

/// Asserts an ErrorResponse: `{success: false, message, errors?}` with this status, where
/// `errors` (when present) maps each field to a non-empty list of non-empty strings.
pub fn assert_error(r: &Reply, status: u16) {
    assert_eq!(r.status, status, "expected {status}, got body {}", r.body);
    assert_common(r);
    let obj = r.body.as_object().unwrap();
    assert_eq!(obj.get("success"), Some(&Value::Bool(false)), "{}", r.body);
    let message = obj.get("message").and_then(Value::as_str).unwrap_or("");
    assert!(!message.trim().is_empty(), "no message: {}", r.body);
    for k in obj.keys() {
        assert!(
            ["success", "message", "errors"].contains(&k.as_str()),
            "unexpected key {k} in an ErrorResponse: {}",
            r.body
        );
    }
    if let Some(errors) = obj.get("errors") {
        let errors = errors.as_object().expect("errors is an object");
        assert!(!errors.is_empty(), "errors present but empty: {}", r.body);
        for (field, list) in errors {
            let list = list.as_array().unwrap_or_else(|| panic!("errors.{field}"));
            assert!(!list.is_empty(), "errors.{field} is empty");
            for m in list {
                assert!(
                    m.as_str().is_some_and(|s| !s.trim().is_empty()),
                    "errors.{field} holds {m}"
                );
            }
        }
    }
    // Never a stack trace, SQL text or a file path.
    let text = String::from_utf8_lossy(&r.bytes).to_ascii_lowercase();
    for leak in [
        "panicked",
        "backtrace",
        "sqlite",
        "insert into",
        "/tmp/",
        ".rs:",
    ] {
        assert!(!text.contains(leak), "error body leaks {leak:?}: {text}");
    }
}

/// Asserts a 422 whose `errors` names exactly `fields`.
pub fn assert_fields(r: &Reply, fields: &[&str]) {
    assert_error(r, 422);
    let mut want: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
    want.sort();
    assert_eq!(r.error_fields(), want, "{}", r.body);
}

/// Asserts a success envelope with this status and returns its `data`.
pub fn assert_ok(r: &Reply, status: u16) -> &Value {
    assert_eq!(r.status, status, "expected {status}, got body {}", r.body);
    assert_common(r);
    assert_eq!(r.body["success"], Value::Bool(true), "{}", r.body);
    assert!(r.body.get("data").is_some(), "no data: {}", r.body);
    &r.body["data"]
}

/// The sorted keys of a JSON object.
pub fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect();
    k.sort();
    k
}

/// Asserts `v` holds no `null` anywhere, except at the object keys named in `nullable`.
pub fn assert_no_nulls(v: &Value, nullable: &[&str]) {
    fn walk(v: &Value, path: &str, nullable: &[&str]) {
        match v {
            Value::Null => panic!("null at {path}"),
            Value::Array(a) => a
                .iter()
                .enumerate()
                .for_each(|(i, x)| walk(x, &format!("{path}[{i}]"), nullable)),
            Value::Object(o) => {
                for (k, x) in o {
                    if x.is_null() && nullable.contains(&k.as_str()) {
                        continue;
                    }
                    walk(x, &format!("{path}.{k}"), nullable);
                }
            }
            _ => {}
        }
    }
    walk(v, "$", nullable);
}

/// Asserts an RFC 3339 time to the second in +05:30, e.g. `2026-05-18T10:42:07+05:30`,
/// within `[from, to]` (Unix seconds) when given.
pub fn assert_time(v: &Value, window: Option<(i64, i64)>) {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("time is not a string: {v}"));
    let t = chrono::DateTime::parse_from_rfc3339(s).unwrap_or_else(|e| panic!("{s}: {e}"));
    assert_eq!(t.offset().local_minus_utc(), 5 * 3600 + 1800, "{s}");
    assert_eq!(t.format("%Y-%m-%dT%H:%M:%S%:z").to_string(), s, "{s}");
    if let Some((from, to)) = window {
        let ts = t.timestamp();
        assert!(ts >= from && ts <= to, "{s} not within [{from}, {to}]");
    }
}

pub fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Hex SHA-256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Every regular file under `dir`, recursively, sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// One part of a hand-built multipart body.
pub struct Part<'a> {
    pub name: &'a str,
    pub filename: Option<&'a str>,
    pub content_type: Option<&'a str>,
    pub bytes: &'a [u8],
}

/// A multipart/form-data body with per-part content types: (content type, bytes).
pub fn multipart_with(parts: &[Part]) -> (String, Vec<u8>) {
    let boundary = "dhanitaTestBoundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for p in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let mut disp = format!("Content-Disposition: form-data; name=\"{}\"", p.name);
        if let Some(f) = p.filename {
            disp.push_str(&format!("; filename=\"{f}\""));
        }
        body.extend_from_slice(disp.as_bytes());
        body.extend_from_slice(b"\r\n");
        if let Some(ct) = p.content_type {
            body.extend_from_slice(format!("Content-Type: {ct}\r\n").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(p.bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

impl TestApp {
    /// The data dir of this app.
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// Where a blob with this SHA-256 lives: `<data_dir>/documents/<sha[0:2]>/<sha>`.
    pub fn blob_path(&self, sha: &str) -> PathBuf {
        self.dir.path().join("documents").join(&sha[..2]).join(sha)
    }

    /// Every regular file under `<data_dir>/documents`.
    pub fn document_files(&self) -> Vec<PathBuf> {
        files_under(&self.dir.path().join("documents"))
    }
}

impl Reply {
    pub fn data(&self) -> &Value {
        &self.body["data"]
    }
}

impl Client<'_> {
    /// Sends `body` with chunked transfer encoding (no Content-Length).
    pub fn raw_chunked(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Reply {
        let req = self.request(method, path).set("Content-Type", content_type);
        reply_of(req.send(std::io::Cursor::new(body)))
    }

    /// Sends `body` with no Content-Type header at all.
    pub fn raw_untyped(&self, method: &str, path: &str, body: &[u8]) -> Reply {
        reply_of(self.request(method, path).send_bytes(body))
    }

    /// Uploads a hand-built multipart body.
    pub fn upload_with(&self, id: &str, parts: &[Part]) -> Reply {
        let (ct, body) = multipart_with(parts);
        self.raw("POST", &format!("/api/v1/leads/{id}/documents"), &ct, &body)
    }

    /// Creates a lead of `product` for `mobile` and returns its lead_id.
    pub fn new_lead_of(&self, product: &str, mobile: &str) -> String {
        let r = self.create_lead(&json!({
            "product": product, "customer_name": "Priya Verma", "mobile": mobile,
        }));
        assert_eq!(r.status, 201, "{}", r.body);
        r.body["data"]["lead_id"].as_str().unwrap().to_string()
    }

    /// The statuses of a lead's journey, in order.
    pub fn journey_statuses(&self, id: &str) -> Vec<String> {
        let r = self.journey(id);
        assert_ok(&r, 200)
            .as_array()
            .expect("journey is a list")
            .iter()
            .map(|e| e["status"].as_str().unwrap().to_string())
            .collect()
    }
}

// ---------------------------------------------------------------------------------------
// Back office, search, idempotency and CORS: issue 3.
// ---------------------------------------------------------------------------------------

/// Starts the real server with these settings (e.g. `allow_duplicates`, `cors_origins`).
/// `restart()` on the returned app goes back to the default settings.
pub fn spawn_app_with(settings: Settings, http_settings: HttpSettings) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = App::open(dir.path(), settings).expect("open app");
    app::ensure_key(&app, ADMIN_KEY).expect("admin key");
    let handle = http::start(Arc::new(app), http_settings).expect("start server");
    TestApp {
        base: format!("http://{}", handle.addr),
        dir,
        key: ADMIN_KEY.to_string(),
        handle: Some(handle),
        agent: ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(30))
            .build(),
    }
}

/// Percent-encodes a query-string value (UTF-8, everything but unreserved characters).
pub fn qs(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl TestApp {
    /// Like `create_key`, also returning the new key's id (as the audit trail shows it).
    pub fn create_key_with_id(
        &self,
        role: Role,
        partner: &str,
        dsa_code: Option<&str>,
    ) -> (i64, String) {
        let app = App::open(self.dir.path(), settings()).expect("open app");
        let k = app::create_key(&app, role, partner, dsa_code).expect("create key");
        app.close();
        (k.id, k.secret)
    }

    /// The id of the test admin key (`ADMIN_KEY`).
    pub fn admin_key_id(&self) -> i64 {
        let app = App::open(self.dir.path(), settings()).expect("open app");
        let keys = app::list_keys(&app).expect("list keys");
        app.close();
        keys.iter()
            .find(|k| k.partner == "admin" && k.role == Role::Admin)
            .expect("admin key")
            .id
    }
}

impl Client<'_> {
    /// A request with an `Idempotency-Key` header.
    pub fn idem_json(&self, key: &str, method: &str, path: &str, body: &Value) -> Reply {
        let bytes = serde_json::to_vec(body).unwrap();
        self.send(
            self.request(method, path).set("Idempotency-Key", key),
            Some(("application/json", &bytes)),
        )
    }

    /// POST /leads with an `Idempotency-Key` and these exact body bytes.
    pub fn create_lead_raw_idem(&self, key: &str, body: &[u8]) -> Reply {
        self.send(
            self.request("POST", "/api/v1/leads")
                .set("Idempotency-Key", key),
            Some(("application/json", body)),
        )
    }

    /// An upload with an `Idempotency-Key` header.
    pub fn upload_idem(
        &self,
        key: &str,
        id: &str,
        document_type: &str,
        filename: &str,
        bytes: &[u8],
    ) -> Reply {
        let (ct, body) = multipart(&[
            ("document_type", None, document_type.as_bytes()),
            ("file", Some(filename), bytes),
        ]);
        self.send(
            self.request("POST", &format!("/api/v1/leads/{id}/documents"))
                .set("Idempotency-Key", key),
            Some((&ct, &body)),
        )
    }

    /// GET /leads with a raw query string (without the `?`).
    pub fn list_leads(&self, query: &str) -> Reply {
        if query.is_empty() {
            self.get("/api/v1/leads")
        } else {
            self.get(&format!("/api/v1/leads?{query}"))
        }
    }

    /// POST /leads/{id}/status.
    pub fn move_status(&self, id: &str, body: &Value) -> Reply {
        self.json("POST", &format!("/api/v1/leads/{id}/status"), body)
    }

    pub fn rms(&self) -> Reply {
        self.get("/api/v1/rms")
    }

    pub fn put_rm(&self, id: &str, body: &Value) -> Reply {
        self.json("PUT", &format!("/api/v1/leads/{id}/rm"), body)
    }

    pub fn put_lender(&self, id: &str, body: &Value) -> Reply {
        self.json("PUT", &format!("/api/v1/leads/{id}/lender"), body)
    }

    pub fn put_disbursement(&self, id: &str, body: &Value) -> Reply {
        self.json("PUT", &format!("/api/v1/leads/{id}/disbursement"), body)
    }

    pub fn audit(&self, id: &str) -> Reply {
        self.get(&format!("/api/v1/leads/{id}/audit"))
    }

    pub fn notes(&self, id: &str) -> Reply {
        self.get(&format!("/api/v1/leads/{id}/notes"))
    }

    pub fn documents(&self, id: &str) -> Reply {
        self.get(&format!("/api/v1/leads/{id}/documents"))
    }

    pub fn document_file(&self, id: &str, doc: &str) -> Reply {
        self.get(&format!("/api/v1/leads/{id}/documents/{doc}/file"))
    }

    /// The status of a lead, as GET /leads/{id} shows it.
    pub fn lead_status_of(&self, id: &str) -> String {
        let r = self.lead(id);
        assert_ok(&r, 200)["status"].as_str().unwrap().to_string()
    }
}

/// A `Reply` from a ureq result (error statuses are replies too).
pub fn reply_of(result: Result<ureq::Response, ureq::Error>) -> Reply {
    let resp = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("transport error: {e}"),
    };
    let status = resp.status();
    let headers = resp
        .headers_names()
        .into_iter()
        .filter_map(|n| resp.header(&n).map(|v| (n.clone(), v.to_string())))
        .collect();
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut resp.into_reader(), &mut bytes).expect("read body");
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        bytes,
        body,
    }
}
