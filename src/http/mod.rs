//! The only module that knows rouille (for its request and response types). It owns the
//! listening socket (see `guard`), routing, authentication, body limits, JSON/multipart
//! parsing, and the one mapping from `Error` to a JSON response. Every answer, including 404 on unknown routes, 405 and a
//! panicking handler's 500, is the JSON envelope with an `X-Request-Id`.

mod answers;
mod body;
pub mod constant;
mod docs;
mod guard;
mod handlers;
mod limits;
mod multipart;
mod router;
mod views;

use crate::app::{self, App};
use crate::error::{Error, Result};
use crate::model::Caller;
use rouille::{Request, Response};
use router::{Resolved, Route};
use serde::Serialize;
use std::io::Read;
use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What the HTTP layer needs to know.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub listen: String,
    pub threads: usize,
    pub max_json_bytes: u64,
    pub max_file_bytes: u64,
    /// Requests a key may make per minute; 0: no limit.
    pub requests_per_minute: u32,
    /// Browser origins allowed to call the API (exact match); empty: none.
    pub cors_origins: Vec<String>,
    /// Answer a repeated read from the answer kept while the database is unchanged (see
    /// `answers`).
    pub keep_answers: bool,
}

/// The server running: what `start` and the bench's constant server share.
pub(crate) struct Running {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    server: Option<JoinHandle<()>>,
}

impl Running {
    /// Binds `settings.listen` and serves it with `handler`, running at most
    /// `settings.threads` requests at once.
    pub(crate) fn launch<F>(settings: &HttpSettings, handler: F) -> Result<Running>
    where
        F: Send + Sync + 'static + Fn(&Request, &mut dyn Read) -> Response,
    {
        let listener = std::net::TcpListener::bind(settings.listen.as_str()).map_err(|e| {
            Error::Unavailable(format!("cannot listen on {}: {e}", settings.listen))
        })?;
        let addr = listener.local_addr().map_err(Error::internal)?;
        let stop = Arc::new(AtomicBool::new(false));
        let limits = guard::Limits {
            max_body_bytes: (settings.max_file_bytes + multipart::ENVELOPE_BYTES)
                .max(settings.max_json_bytes),
            buffer_body_bytes: settings.max_json_bytes,
            handlers: settings.threads.max(1),
            ..guard::Limits::default()
        };
        let server = guard::spawn(listener, Arc::new(handler), limits, stop.clone())
            .map_err(Error::internal)?;
        Ok(Running {
            addr,
            stop,
            server: Some(server),
        })
    }

    /// Stops accepting and lets the connections finish the requests they are on.
    pub(crate) fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(g) = self.server.take() {
            // Wake the accept loop so it sees the flag.
            let _ = std::net::TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
            let _ = g.join();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// A running server.
pub struct ServerHandle {
    pub addr: SocketAddr,
    running: Running,
    app: Arc<App>,
}

impl ServerHandle {
    /// Stops accepting, lets the requests in flight finish, and closes the store.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.running.shutdown();
        self.app.close();
    }

    /// Serves until `stop` becomes true (set by a signal handler), then shuts down.
    pub fn run_until(mut self, stop: &AtomicBool) {
        while !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(100));
        }
        log::info!("shutting down: finishing requests in flight");
        self.shutdown();
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

struct Ctx {
    app: Arc<App>,
    settings: HttpSettings,
    next_id: AtomicU64,
    id_prefix: u32,
    per_key: limits::Limiter<i64>,
    auth_failures: limits::Limiter<std::net::IpAddr>,
    answers: answers::Answers,
}

/// Binds the listening socket and serves it.
pub fn start(app: Arc<App>, settings: HttpSettings) -> Result<ServerHandle> {
    let ctx = Arc::new(Ctx {
        app: app.clone(),
        settings: settings.clone(),
        next_id: AtomicU64::new(1),
        id_prefix: rand::random::<u32>(),
        per_key: limits::Limiter::new(settings.requests_per_minute),
        auth_failures: limits::Limiter::new(limits::AUTH_FAILURES_PER_MINUTE),
        answers: answers::Answers::default(),
    });
    let running = Running::launch(&settings, move |req, body| handle(&ctx, req, body))?;
    Ok(ServerHandle {
        addr: running.addr,
        running,
        app,
    })
}

/// Adds the CORS headers for a listed `Origin` (on every answer, and the preflight ones on
/// an OPTIONS); an unlisted origin gets none, so browsers refuse the cross-origin read.
fn cors(origins: &[String], req: &Request, response: Response) -> Response {
    let Some(origin) = req
        .header("Origin")
        .filter(|o| origins.iter().any(|a| a == o))
    else {
        return response;
    };
    let mut response = response
        .with_unique_header("Access-Control-Allow-Origin", origin.to_string())
        .with_unique_header("Vary", "Origin")
        .with_unique_header(
            "Access-Control-Expose-Headers",
            "X-Request-Id, Retry-After, ETag, Content-Disposition, Idempotent-Replayed, Location",
        );
    if req.method() == "OPTIONS" {
        let allow = response
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("Allow"))
            .map(|(_, v)| v.to_string());
        if let Some(allow) = allow {
            response = response.with_unique_header("Access-Control-Allow-Methods", allow);
        }
        response = response
            .with_unique_header(
                "Access-Control-Allow-Headers",
                "X-API-Key, Idempotency-Key, Content-Type, If-None-Match",
            )
            .with_unique_header("Access-Control-Max-Age", "600");
    }
    response
}

/// Every (path pattern, method) the router serves, HEAD and OPTIONS aside: for checking the
/// served document against the router.
pub fn routes() -> Vec<(&'static str, &'static str)> {
    router::ROUTES
        .iter()
        .flat_map(|e| e.methods.iter().map(move |m| (e.pattern, *m)))
        .collect()
}

/// The project's own OpenAPI document, served as written.
pub const OPENAPI: &str = include_str!("openapi.json");

/// The routes served without a key: health, the OpenAPI document, its HTML rendering.
fn public(route: Route) -> Response {
    static DOCS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    match route {
        Route::OpenApi => Response::from_data("application/json", OPENAPI.as_bytes().to_vec()),
        Route::Docs => {
            let html = DOCS.get_or_init(|| match serde_json::from_str(OPENAPI) {
                Ok(spec) => docs::render(&spec),
                Err(e) => format!("<!doctype html><p>The API document could not be read: {e}</p>"),
            });
            Response::from_data("text/html; charset=utf-8", html.clone().into_bytes())
        }
        _ => ok(&serde_json::json!({ "status": "ok" })),
    }
}

/// The outcome of one request: the response, and the key id for the log line.
struct Outcome {
    response: Response,
    key_id: Option<i64>,
}

/// A key check from `client`: a valid key always passes, so that one client with a wrong key
/// cannot lock out the others behind the same address (an office NAT). A failed check counts
/// against its address (loopback is exempt); past the address's budget it is answered 429
/// with the wait instead of 401, which slows down guessing.
fn judge_auth(
    failures: &limits::Limiter<std::net::IpAddr>,
    client: std::net::IpAddr,
    outcome: Result<Caller>,
) -> Result<Caller> {
    match outcome {
        Err(Error::Unauthorized) if !limits::is_exempt(client) => match failures.take(&client) {
            Ok(()) => Err(Error::Unauthorized),
            Err(wait) => Err(Error::RateLimited(wait)),
        },
        other => other,
    }
}

fn handle(ctx: &Ctx, req: &Request, body: &mut dyn Read) -> Response {
    let started = Instant::now();
    let n = ctx.next_id.fetch_add(1, Ordering::Relaxed);
    let request_id = format!("{:08x}-{n:06}", ctx.id_prefix);
    let outcome =
        catch_unwind(AssertUnwindSafe(|| dispatch(ctx, req, body))).unwrap_or_else(|panic| {
            let cause = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown".into());
            log::error!("{request_id} handler panicked: {cause}");
            Outcome {
                response: error_response(&Error::Internal(cause)),
                key_id: None,
            }
        });
    let response = cors(&ctx.settings.cors_origins, req, outcome.response)
        .with_unique_header("X-Request-Id", request_id.clone())
        .with_unique_header("Cache-Control", "no-store")
        .with_unique_header("X-Content-Type-Options", "nosniff");
    if log::log_enabled!(log::Level::Info) {
        let path = req.raw_url().split('?').next().unwrap_or("");
        let key = outcome.key_id.map_or("-".to_string(), |k| k.to_string());
        log::info!(
            "{request_id} {} {} {} {:.1}ms key={key}",
            req.method(),
            path,
            response.status_code,
            started.elapsed().as_secs_f64() * 1000.0
        );
    }
    response
}

/// A GET (or HEAD) only reads: its key check and its reads share one read transaction.
fn dispatch(ctx: &Ctx, req: &Request, body: &mut dyn Read) -> Outcome {
    if matches!(req.method(), "GET" | "HEAD") {
        ctx.app.db.snapshot(|| answer(ctx, req, body))
    } else {
        answer(ctx, req, body)
    }
}

fn answer(ctx: &Ctx, req: &Request, body: &mut dyn Read) -> Outcome {
    let path = req.raw_url().split('?').next().unwrap_or("");
    let (route, params) = match router::resolve(req.method(), path) {
        Resolved::Found(route, params) => (route, params),
        Resolved::MethodNotAllowed(allow) => {
            return Outcome {
                response: method_not_allowed(req.method(), allow),
                key_id: None,
            }
        }
        Resolved::NotFound => {
            return Outcome {
                response: error_response(&Error::NotFound("No such route.".into())),
                key_id: None,
            }
        }
    };
    if router::is_public(route) {
        return Outcome {
            response: public(route),
            key_id: None,
        };
    }
    let client = req.remote_addr().ip();
    // Two keys in one request are ambiguous: refuse rather than pick one.
    let presented: Vec<&str> = req
        .headers()
        .filter(|(k, _)| k.eq_ignore_ascii_case("X-API-Key"))
        .map(|(_, v)| v)
        .collect();
    let key = if presented.len() == 1 {
        Some(presented[0])
    } else {
        None
    };
    let key_hash = app::presented_hash(key);
    // A read of a route whose answer depends only on the database, key and URL: the
    // answer kept from an earlier identical request, if nothing was committed since.
    let keeps = ctx.settings.keep_answers && router::keeps_answers(route, req.method());
    let kept = match (&key_hash, keeps) {
        (Some(hash), true) => ctx
            .app
            .db
            .version()
            .map(|version| (version, answers::slot(hash, req.raw_url()))),
        _ => None,
    };
    if let Some((version, slot)) = &kept {
        if let Some(answer) = ctx.answers.find(*version, slot) {
            let key_id = Some(answer.key_id);
            if let Err(wait) = ctx.per_key.take(&answer.key_id) {
                return Outcome {
                    response: error_response(&Error::RateLimited(wait)),
                    key_id,
                };
            }
            return Outcome {
                response: answer.response(),
                key_id,
            };
        }
    }
    let authenticated = app::authenticate_hash(&ctx.app, key_hash.as_deref());
    let caller = match judge_auth(&ctx.auth_failures, client, authenticated) {
        Ok(c) => c,
        Err(e) => {
            return Outcome {
                response: error_response(&e),
                key_id: None,
            };
        }
    };
    let key_id = Some(caller.key_id);
    if let Err(wait) = ctx.per_key.take(&caller.key_id) {
        return Outcome {
            response: error_response(&Error::RateLimited(wait)),
            key_id,
        };
    }
    if router::admin_only(route, req.method()) && !caller.is_admin() {
        return Outcome {
            response: error_response(&Error::Forbidden(
                "This operation needs an admin key.".into(),
            )),
            key_id,
        };
    }
    let response = handlers::route(ctx, req, body, route, &params, &caller).unwrap_or_else(|e| {
        if let Error::Internal(cause) | Error::Unavailable(cause) = &e {
            log::error!(
                "{} {}: {cause}",
                req.method(),
                req.raw_url().split('?').next().unwrap_or("")
            );
        }
        error_response(&e)
    });
    let response = match kept {
        Some((version, slot)) => ctx.answers.keep(version, slot, caller.key_id, response),
        None => response,
    };
    Outcome { response, key_id }
}

/// 405 with `Allow`, or for OPTIONS (answered without a key) 204 with `Allow`.
fn method_not_allowed(method: &str, allow: String) -> Response {
    if method == "OPTIONS" {
        return Response::empty_204().with_unique_header("Allow", allow);
    }
    let message = format!("Method {method} is not allowed here; allowed: {allow}.");
    json_response(
        405,
        &ErrorJson {
            success: false,
            message: &message,
            errors: None,
        },
    )
    .with_unique_header("Allow", allow)
}

#[derive(Serialize)]
struct Envelope<'a, T: Serialize> {
    success: bool,
    data: &'a T,
}

#[derive(Serialize)]
struct ErrorJson<'a> {
    success: bool,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<serde_json::Map<String, serde_json::Value>>,
}

fn json_response<T: Serialize>(status: u16, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => Response::from_data("application/json", bytes).with_status_code(status),
        Err(e) => {
            log::error!("cannot serialise a response: {e}");
            Response::from_data(
                "application/json",
                br#"{"success":false,"message":"Internal server error."}"#.to_vec(),
            )
            .with_status_code(500)
        }
    }
}

/// `{"success": true, "data": …}` with 200.
pub(crate) fn ok<T: Serialize>(data: &T) -> Response {
    json_response(
        200,
        &Envelope {
            success: true,
            data,
        },
    )
}

#[derive(Serialize)]
struct ListEnvelope<'a, T: Serialize> {
    success: bool,
    data: &'a [T],
    next_cursor: Option<&'a str>,
}

/// `{"success": true, "data": [...], "next_cursor": null}` with 200: a list that is given
/// whole, so there is no next page (DESIGN: every list has `next_cursor`).
pub(crate) fn list<T: Serialize>(items: &[T]) -> Response {
    json_response(
        200,
        &ListEnvelope {
            success: true,
            data: items,
            next_cursor: None,
        },
    )
}

/// `{"success": true, "data": …}` with 201.
pub(crate) fn created<T: Serialize>(data: &T) -> Response {
    json_response(
        201,
        &Envelope {
            success: true,
            data,
        },
    )
}

/// The one mapping from an error to its status code and ErrorResponse body.
pub(crate) fn error_response(e: &Error) -> Response {
    let (status, message, fields) = match e {
        Error::BadRequest(m) => (400, m.as_str(), None),
        Error::Unauthorized => (
            401,
            "Missing, unknown or revoked API key (send it in X-API-Key).",
            None,
        ),
        Error::Forbidden(m) => (403, m.as_str(), None),
        Error::NotFound(m) => (404, m.as_str(), None),
        Error::Conflict(m, f) => (409, m.as_str(), Some(f)),
        Error::TooLarge(m) => (413, m.as_str(), None),
        Error::UnsupportedMediaType(m) => (415, m.as_str(), None),
        Error::Validation(f) => (422, "Validation failed.", Some(f)),
        Error::RateLimited(_) => (
            429,
            "Too many requests; retry after the time in Retry-After.",
            None,
        ),
        Error::Unavailable(_) => (
            503,
            "Storage is temporarily unavailable; nothing was stored. Try again.",
            None,
        ),
        Error::Internal(_) => (500, "Internal server error.", None),
    };
    let errors = fields.filter(|f| !f.is_empty()).map(|f| {
        f.iter()
            .map(|(k, v)| (k.clone(), serde_json::json!(v)))
            .collect()
    });
    let response = json_response(
        status,
        &ErrorJson {
            success: false,
            message,
            errors,
        },
    );
    match e {
        Error::Unavailable(_) => response.with_unique_header("Retry-After", "1"),
        Error::RateLimited(wait) => response.with_unique_header("Retry-After", wait.to_string()),
        _ => response,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Role;
    use std::net::IpAddr;

    fn caller() -> Caller {
        Caller {
            key_id: 7,
            partner_id: 1,
            role: Role::Partner,
            dsa_code: None,
        }
    }

    #[test]
    fn wrong_keys_slow_their_address_down_but_never_lock_out_a_valid_key() {
        let failures = limits::Limiter::new(2);
        let office: IpAddr = "203.0.113.9".parse().unwrap();
        let judge = |outcome| judge_auth(&failures, office, outcome);
        assert!(matches!(
            judge(Err(Error::Unauthorized)),
            Err(Error::Unauthorized)
        ));
        assert!(matches!(
            judge(Err(Error::Unauthorized)),
            Err(Error::Unauthorized)
        ));
        // The address's budget is spent: a third wrong key waits...
        assert!(matches!(
            judge(Err(Error::Unauthorized)),
            Err(Error::RateLimited(30))
        ));
        // ...but a valid key from the same address passes, and costs nothing.
        assert_eq!(judge(Ok(caller())).unwrap().key_id, 7);
        assert!(matches!(
            judge(Err(Error::Unauthorized)),
            Err(Error::RateLimited(_))
        ));
        // Other addresses have their own budget; loopback has none.
        let other: IpAddr = "198.51.100.4".parse().unwrap();
        assert!(matches!(
            judge_auth(&failures, other, Err(Error::Unauthorized)),
            Err(Error::Unauthorized)
        ));
        let local: IpAddr = "127.0.0.1".parse().unwrap();
        for _ in 0..5 {
            assert!(matches!(
                judge_auth(&failures, local, Err(Error::Unauthorized)),
                Err(Error::Unauthorized)
            ));
        }
    }
}
