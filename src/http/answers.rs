//! Answers to reads, kept while the database does not change.
//!
//! What a read route answers depends on the database, the caller's key and the URL, and on
//! nothing else: its handler reads no other header, and no answer depends on the clock. So
//! the answer a read got at database version V is the answer to the same request at any
//! later moment the database is still at V (see `db::version`). A read first reads the
//! version (one small read of the WAL index, no transaction), then:
//! - when it is the version the kept answers were computed at, and an answer is kept for
//!   this key and URL, that answer is the reply, with no key lookup or query at all;
//! - otherwise it is answered as usual, and a 200 is kept under the version it read first.
//!
//! Any commit, by this server or by another process (a key revoked with
//! `dhanita keys revoke`, a lead changed), changes the version, and the next read empties
//! this before anything kept is served again. The per-key rate limit still counts every
//! request. Only the hash of a key is kept, never the key.

use crate::db::version::Version;
use rouille::{Response, ResponseBody};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Bytes of answers kept at most; past it, the older ones are dropped.
const MAX_BYTES: usize = 4 << 20;
/// A larger answer (a long list) is not kept.
const MAX_ANSWER_BYTES: usize = 64 << 10;

type Headers = Vec<(Cow<'static, str>, Cow<'static, str>)>;

/// One kept 200 answer.
pub struct Kept {
    /// The key that asked, for the rate limit and the log line.
    pub key_id: i64,
    headers: Headers,
    body: Vec<u8>,
}

impl Kept {
    /// The answer again.
    pub fn response(&self) -> Response {
        Response {
            status_code: 200,
            headers: self.headers.clone(),
            data: ResponseBody::from_data(self.body.clone()),
            upgrade: None,
        }
    }
}

#[derive(Default)]
struct Inner {
    /// The version every kept answer was computed at.
    version: Option<Version>,
    kept: HashMap<Vec<u8>, Arc<Kept>>,
    bytes: usize,
}

impl Inner {
    fn reset(&mut self, version: Version) {
        self.version = Some(version);
        self.kept.clear();
        self.bytes = 0;
    }
}

#[derive(Default)]
pub struct Answers {
    inner: Mutex<Inner>,
}

/// What an answer is kept under: the key's hash and the URL as sent (path and query).
pub fn slot(key_hash: &str, raw_url: &str) -> Vec<u8> {
    let mut slot = Vec::with_capacity(key_hash.len() + 1 + raw_url.len());
    slot.extend_from_slice(key_hash.as_bytes());
    slot.push(b' ');
    slot.extend_from_slice(raw_url.as_bytes());
    slot
}

impl Answers {
    /// The answer kept for `slot`, if the database is still at the version it was computed
    /// at. `now` is the version just read.
    pub fn find(&self, now: Version, slot: &[u8]) -> Option<Arc<Kept>> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if inner.version != Some(now) {
            inner.reset(now);
            return None;
        }
        inner.kept.get(slot).cloned()
    }

    /// Keeps a 200 answer computed from reads that began after the database was at
    /// `before`, and gives the response back. Anything else is given back untouched.
    pub fn keep(
        &self,
        before: Version,
        slot: Vec<u8>,
        key_id: i64,
        response: Response,
    ) -> Response {
        if response.status_code != 200 {
            return response;
        }
        let Response {
            status_code,
            headers,
            data,
            upgrade,
        } = response;
        let (mut reader, size) = data.into_reader_and_size();
        let mut body = Vec::with_capacity(size.unwrap_or(0));
        if let Err(e) = std::io::Read::read_to_end(&mut reader, &mut body) {
            return super::error_response(&crate::error::Error::internal(format!(
                "cannot read back an answer: {e}"
            )));
        }
        let response = Response {
            status_code,
            headers: headers.clone(),
            data: ResponseBody::from_data(body.clone()),
            upgrade,
        };
        if body.len() > MAX_ANSWER_BYTES {
            return response;
        }
        let cost = slot.len() + body.len() + 256;
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        // A commit since: what was read may already be out of date (a request that read
        // the newer version has emptied this).
        if inner.version != Some(before) {
            return response;
        }
        if inner.bytes + cost > MAX_BYTES {
            inner.reset(before);
        }
        inner.bytes += cost;
        inner.kept.insert(
            slot,
            Arc::new(Kept {
                key_id,
                headers,
                body,
            }),
        );
        response
    }
}
