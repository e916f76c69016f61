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
    }
}

pub fn http_settings() -> HttpSettings {
    HttpSettings {
        listen: "127.0.0.1:0".into(),
        threads: 8,
        max_json_bytes: 1 << 20,
        max_file_bytes: 10 << 20,
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
