//! Retry-safe creates. The same `Idempotency-Key` from the same partner within 24 hours
//! replays the first successful answer and creates nothing; the same key with a different
//! request is a 422. Requests sharing a key run one at a time: the later ones wait for the
//! first and then replay it. The answer is stored in the same savepoint as the thing it
//! created, so a create and its stored answer commit (or vanish) together.

use super::{now_ms, App};
use crate::db::{self, Conn};
use crate::error::{Error, Result};
use crate::model::Caller;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::sync::{Condvar, Mutex};

const DAY_MS: i64 = 24 * 3600 * 1000;

/// Turns the created record into the (status, body) answered for it.
pub type Render<T> = Box<dyn Fn(&T) -> (u16, Vec<u8>) + Send>;

/// Stores the answer of a create inside its write; handed to the use case.
pub type StoreAnswer<T> = Box<dyn FnOnce(&Conn, &T) -> Result<()> + Send>;

pub struct IdemRequest<T> {
    pub key: String,
    /// What makes two requests "the same": see `fingerprint`.
    pub fingerprint: String,
    pub render: Render<T>,
}

/// A create's outcome: made now, or the first answer replayed.
pub enum Created<T> {
    Fresh(T),
    Replay(u16, Vec<u8>),
}

/// The keys being worked on right now, so that concurrent requests with one key run in turn.
#[derive(Default)]
pub struct InFlight {
    keys: Mutex<HashSet<(i64, String)>>,
    freed: Condvar,
}

struct Held<'a> {
    gate: &'a InFlight,
    key: (i64, String),
}

impl InFlight {
    fn acquire(&self, key: (i64, String)) -> Held<'_> {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        if keys.contains(&key) {
            // Waiting on another request: give our request slot back meanwhile, or the
            // holder of the key could find every slot taken by its waiters.
            // (The lock is not held while the slot is taken back.)
            drop(keys);
            crate::slots::idle(|| {
                let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
                while keys.contains(&key) {
                    keys = self.freed.wait(keys).unwrap_or_else(|p| p.into_inner());
                }
                keys.insert(key.clone());
            });
            return Held { gate: self, key };
        }
        keys.insert(key.clone());
        Held { gate: self, key }
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.gate
            .keys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.key);
        self.gate.freed.notify_all();
    }
}

/// Checks an `Idempotency-Key` header value: 1–255 printable ASCII characters.
pub fn parse_key(raw: &str) -> Result<String> {
    let key = raw.trim();
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| (0x21..0x7f).contains(&b)) {
        return Err(Error::field(
            "idempotency_key",
            "must be 1-255 printable ASCII characters",
        ));
    }
    Ok(key.to_string())
}

/// A stable digest of a request: the operation, the path, and the JSON body with its keys
/// sorted (so key order and spacing do not matter).
pub fn fingerprint(operation: &str, path: &str, body: &Value) -> String {
    fn canonical(v: &Value, out: &mut String) {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                out.push('{');
                for k in keys {
                    out.push_str(&Value::String(k.clone()).to_string());
                    out.push(':');
                    canonical(&m[k], out);
                    out.push(',');
                }
                out.push('}');
            }
            Value::Array(a) => {
                out.push('[');
                for x in a {
                    canonical(x, out);
                    out.push(',');
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut text = format!("{operation}\n{path}\n");
    canonical(body, &mut text);
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Runs `create` once per key: replays a stored answer, refuses a reused key, or runs it with
/// a hook that stores its answer in the same savepoint.
pub fn idempotent<T: Send + 'static>(
    app: &App,
    caller: &Caller,
    idem: Option<IdemRequest<T>>,
    create: impl FnOnce(Option<StoreAnswer<T>>) -> Result<T>,
) -> Result<Created<T>> {
    let Some(idem) = idem else {
        return create(None).map(Created::Fresh);
    };
    let partner_id = caller.partner_id;
    let _held = app.in_flight.acquire((partner_id, idem.key.clone()));
    let since = now_ms() - DAY_MS;
    let stored = app
        .db
        .read(|c| db::audit::find_answer(c, partner_id, &idem.key, since))?;
    if let Some((fingerprint, status, body)) = stored {
        if fingerprint == idem.fingerprint {
            return Ok(Created::Replay(status, body));
        }
        return Err(Error::field(
            "idempotency_key",
            "was already used for a different request; use a new key",
        ));
    }
    let IdemRequest {
        key,
        fingerprint,
        render,
    } = idem;
    let store: StoreAnswer<T> = Box::new(move |c: &Conn, value: &T| {
        let (status, body) = render(value);
        let now = now_ms();
        db::audit::prune_answers(c, now - DAY_MS)?;
        db::audit::store_answer(c, partner_id, &key, &fingerprint, status, &body, now)
    });
    create(Some(store)).map(Created::Fresh)
}
