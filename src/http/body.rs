//! Reading request bodies within their limits: content-type checks (415), declared and
//! actual size (413), and JSON that must be one object (400).

use crate::error::{Error, Result};
use rouille::Request;
use serde_json::{Map, Value};
use std::io::Read;

/// The media type of the request, lowercased, without parameters.
pub fn media_type(req: &Request) -> Option<String> {
    req.header("Content-Type").map(|v| {
        v.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    })
}

/// The declared `Content-Length`, refusing it at once when over `limit`.
pub fn check_declared_length(req: &Request, limit: u64, what: &str) -> Result<()> {
    if req.header(super::guard::TOO_LARGE_HEADER).is_some() {
        return Err(too_large(what, limit));
    }
    if let Some(v) = req.header("Content-Length") {
        let n: u64 = v
            .trim()
            .parse()
            .map_err(|_| Error::BadRequest("Content-Length is not a number.".into()))?;
        if n > limit {
            return Err(too_large(what, limit));
        }
    }
    Ok(())
}

pub fn too_large(what: &str, limit: u64) -> Error {
    Error::TooLarge(format!("{what} is larger than the limit of {limit} bytes."))
}

/// Reads a JSON object body of at most `limit` bytes.
pub fn json_object(req: &Request, body: &mut dyn Read, limit: u64) -> Result<Map<String, Value>> {
    let is_json = media_type(req)
        .map(|m| m == "application/json" || (m.starts_with("application/") && m.ends_with("+json")))
        .unwrap_or(false);
    if !is_json {
        return Err(Error::UnsupportedMediaType(
            "Content-Type must be application/json.".into(),
        ));
    }
    check_declared_length(req, limit, "The request body")?;
    let mut buf = Vec::new();
    body.take(limit + 1)
        .read_to_end(&mut buf)
        .map_err(|_| Error::BadRequest("The request body could not be read.".into()))?;
    if buf.len() as u64 > limit {
        return Err(too_large("The request body", limit));
    }
    // RFC 8259 lets a parser ignore a byte order mark, which some clients still send.
    let text = buf.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&buf);
    if text.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::BadRequest(
            "The request body is empty; send a JSON object.".into(),
        ));
    }
    match serde_json::from_slice::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Error::BadRequest(
            "The request body must be a JSON object.".into(),
        )),
        Err(e) => Err(Error::BadRequest(format!(
            "The request body is not valid JSON: {e}."
        ))),
    }
}
