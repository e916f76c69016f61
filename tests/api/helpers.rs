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
        keep_answers: true,
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

/// The test data in the repository (`tests/data`): the contract, sample leads, documents.
pub fn data_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
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

// ---------------------------------------------------------------------------------------
// Reliability, transport and operations: issue 4. The real binary as a child process, and
// requests that report transport errors instead of panicking.
// ---------------------------------------------------------------------------------------

/// The admin key the child servers are started with (`DHANITA_API_KEY`).
pub const CHILD_KEY: &str = "child-admin-key-0123456789abcdef0123456789";

/// How long a child command may run, or a child server may take to start.
pub const CHILD_WAIT: Duration = Duration::from_secs(60);

/// The `dhanita` binary with no `DHANITA_*` or `RUST_LOG` from the test's environment,
/// run in the system temp folder (so no `./dhanita.toml` is picked up).
pub fn dhanita_bin() -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_dhanita"));
    c.current_dir(std::env::temp_dir());
    for (k, _) in std::env::vars() {
        if k.starts_with("DHANITA_") {
            c.env_remove(k);
        }
    }
    c.env_remove("RUST_LOG");
    c.stdin(std::process::Stdio::null());
    c
}

/// `dhanita --data-dir DATA ARGS…`.
pub fn dhanita_in(data: &Path, args: &[&str]) -> std::process::Command {
    let mut c = dhanita_bin();
    c.arg("--data-dir").arg(data).args(args);
    c
}

/// Runs a command to completion (at most `CHILD_WAIT`): (exit status, stdout, stderr).
pub fn run_to_end(mut cmd: std::process::Command) -> (std::process::ExitStatus, String, String) {
    use std::process::Stdio;
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().expect("spawn dhanita");
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(CHILD_WAIT) {
        Ok(out) => {
            let out = out.expect("wait for dhanita");
            (
                out.status,
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        }
        Err(_) => {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("dhanita did not exit within {CHILD_WAIT:?}");
        }
    }
}

/// A `dhanita serve` child process; killed (SIGKILL) when dropped if still running.
pub struct ServedChild {
    pub child: std::process::Child,
    pub addr: std::net::SocketAddr,
    pub base: String,
    /// Everything the child wrote on stdout and stderr so far (the log goes to stderr).
    pub stdout: Arc<std::sync::Mutex<Vec<u8>>>,
    pub stderr: Arc<std::sync::Mutex<Vec<u8>>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

/// Starts `dhanita --data-dir DATA serve --listen 127.0.0.1:0` with `DHANITA_API_KEY` set to
/// `CHILD_KEY` and waits for `listening on http://ADDR`.
pub fn serve_child(data: &Path) -> ServedChild {
    serve_child_with(data, &[])
}

/// Like `serve_child`, with extra environment variables.
pub fn serve_child_with(data: &Path, env: &[(&str, &str)]) -> ServedChild {
    let mut cmd = dhanita_in(data, &["serve", "--listen", "127.0.0.1:0"]);
    cmd.env("DHANITA_API_KEY", CHILD_KEY);
    for (k, v) in env {
        cmd.env(k, v);
    }
    start_child(cmd)
}

/// Spawns `cmd` (a `dhanita serve`, possibly behind `sh -c … exec`) and waits for its
/// `listening on http://ADDR` line; panics if it exits or stays silent.
pub fn start_child(mut cmd: std::process::Command) -> ServedChild {
    use std::io::Read;
    use std::process::Stdio;
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn dhanita serve");
    let stdout = Arc::new(std::sync::Mutex::new(Vec::new()));
    let stderr = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut readers = Vec::new();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    {
        let mut pipe = child.stdout.take().unwrap();
        let sink = stdout.clone();
        readers.push(std::thread::spawn(move || {
            // Keeps draining so the child never blocks on a full pipe.
            let mut buf = [0u8; 4096];
            let mut line = Vec::new();
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
                for &b in &buf[..n] {
                    if b == b'\n' {
                        let _ = tx.send(String::from_utf8_lossy(&line).into_owned());
                        line.clear();
                    } else {
                        line.push(b);
                    }
                }
            }
        }));
    }
    {
        let mut pipe = child.stderr.take().unwrap();
        let sink = stderr.clone();
        readers.push(std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        }));
    }
    let started = std::time::Instant::now();
    loop {
        let left = CHILD_WAIT.saturating_sub(started.elapsed());
        match rx.recv_timeout(left) {
            Ok(line) => {
                if let Some(addr) = line.strip_prefix("listening on http://") {
                    let addr: std::net::SocketAddr = addr
                        .trim()
                        .parse()
                        .unwrap_or_else(|e| panic!("not an address: {line}: {e}"));
                    return ServedChild {
                        child,
                        addr,
                        base: format!("http://{addr}"),
                        stdout,
                        stderr,
                        readers,
                    };
                }
            }
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                let err = String::from_utf8_lossy(&stderr.lock().unwrap()).into_owned();
                panic!("dhanita serve did not say `listening on`; stderr: {err}");
            }
        }
    }
}

impl ServedChild {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A `TestApp` that talks to this child with `CHILD_KEY`.
    pub fn app(&self) -> TestApp {
        remote_app(&self.base, CHILD_KEY)
    }

    /// Sends a signal (`"TERM"`, `"INT"`, `"KILL"`) to the child.
    pub fn signal(&self, name: &str) {
        let ok = std::process::Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid().to_string())
            .status()
            .expect("run kill")
            .success();
        assert!(ok, "kill -{name} {} failed", self.pid());
    }

    /// Waits up to `limit` for the child to exit.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let started = std::time::Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                // Let the pipe readers collect the last output.
                for r in self.readers.drain(..) {
                    let _ = r.join();
                }
                return Some(status);
            }
            if started.elapsed() > limit {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL, and wait for it to be gone.
    pub fn kill_now(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// stdout and stderr so far, as text.
    pub fn output(&self) -> (String, String) {
        (
            String::from_utf8_lossy(&self.stdout.lock().unwrap()).into_owned(),
            String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned(),
        )
    }
}

impl Drop for ServedChild {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A `TestApp` whose requests go to a server running elsewhere (a child process). It owns
/// an unused temp dir and no server: `restart()` and the data-dir helpers do not apply.
pub fn remote_app(base: &str, key: &str) -> TestApp {
    TestApp {
        base: base.to_string(),
        dir: tempfile::tempdir().expect("tempdir"),
        key: key.to_string(),
        handle: None,
        agent: ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(30))
            .build(),
    }
}

impl TestApp {
    /// The address the server listens on (`host:port`).
    pub fn addr(&self) -> std::net::SocketAddr {
        self.base
            .trim_start_matches("http://")
            .parse()
            .expect("server address")
    }
}

impl Client<'_> {
    /// Like `send`, but a transport error (refused, reset, timed out) is an `Err`.
    pub fn try_send(
        &self,
        req: ureq::Request,
        body: Option<(&str, &[u8])>,
    ) -> Result<Reply, String> {
        let result = match body {
            Some((ct, bytes)) => req.set("Content-Type", ct).send_bytes(bytes),
            None => req.call(),
        };
        let resp = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => return Err(e.to_string()),
        };
        let status = resp.status();
        let headers = resp
            .headers_names()
            .into_iter()
            .filter_map(|n| resp.header(&n).map(|v| (n.clone(), v.to_string())))
            .collect();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut resp.into_reader(), &mut bytes)
            .map_err(|e| e.to_string())?;
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok(Reply {
            status,
            headers,
            bytes,
            body,
        })
    }

    pub fn try_get(&self, path: &str) -> Result<Reply, String> {
        self.try_send(self.request("GET", path), None)
    }

    pub fn try_json(&self, method: &str, path: &str, body: &Value) -> Result<Reply, String> {
        let bytes = serde_json::to_vec(body).unwrap();
        self.try_send(
            self.request(method, path),
            Some(("application/json", &bytes)),
        )
    }

    pub fn try_upload(
        &self,
        id: &str,
        document_type: &str,
        filename: &str,
        bytes: &[u8],
    ) -> Result<Reply, String> {
        let (ct, body) = multipart(&[
            ("document_type", None, document_type.as_bytes()),
            ("file", Some(filename), bytes),
        ]);
        self.try_send(
            self.request("POST", &format!("/api/v1/leads/{id}/documents")),
            Some((&ct, &body)),
        )
    }

    /// Every lead the key sees, following `next_cursor` to the last page.
    pub fn all_leads(&self) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let query = match &cursor {
                Some(c) => format!("limit=100&cursor={}", qs(c)),
                None => "limit=100".to_string(),
            };
            let r = self.list_leads(&query);
            assert_eq!(r.status, 200, "{}", r.body);
            out.extend(
                r.body["data"]
                    .as_array()
                    .expect("lead list")
                    .iter()
                    .cloned(),
            );
            match r.body["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => return out,
            }
        }
    }
}

/// A PDF of exactly `size` bytes (at least 64) whose content embeds `marker`.
pub fn pdf_of_size(size: usize, marker: &str) -> Vec<u8> {
    let mut b = format!("%PDF-1.4\n% {marker}\n").into_bytes();
    let tail = b"\n%%EOF\n";
    assert!(size >= b.len() + tail.len(), "pdf too small for its marker");
    let pad = size - b.len() - tail.len();
    b.extend((0..pad).map(|i| b'a' + (i % 26) as u8));
    b.extend_from_slice(tail);
    b
}

/// The sample file `name` with `suffix` appended (unique bytes, so a unique blob; PDF, PNG
/// and JPEG are judged by their first bytes only).
pub fn unique_sample(name: &str, suffix: &str) -> Vec<u8> {
    let mut b = sample(name);
    b.extend_from_slice(suffix.as_bytes());
    b
}
