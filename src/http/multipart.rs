//! The only user of the `multipart` crate (unmaintained: keep it behind this module). Parses
//! a `multipart/form-data` upload with `document_type` and one `file`, streaming the file
//! into a staged blob, within limits on the whole body, the part count and each field.

use super::body::{check_declared_length, media_type, too_large};
use crate::app::UploadInput;
use crate::blobs::{Blobs, StageError};
use crate::error::{Error, Result};
use multipart::server::Multipart;
use rouille::Request;
use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Room for the boundaries, part headers and small fields around the file.
pub const ENVELOPE_BYTES: u64 = 64 * 1024;
const MAX_PARTS: usize = 16;
const MAX_TEXT_FIELD: u64 = 1024;

/// Fails reads past `left` bytes, and raises `tripped` so the caller can tell a 413 apart
/// from a broken body.
struct Limited<R> {
    inner: R,
    left: u64,
    tripped: Arc<AtomicBool>,
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            // Probe for one more byte: only a body that really goes on is too large.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => {
                    self.tripped.store(true, Ordering::SeqCst);
                    Err(io::Error::other("body over limit"))
                }
            };
        }
        let max = buf.len().min(self.left.min(usize::MAX as u64) as usize);
        let n = self.inner.read(&mut buf[..max])?;
        self.left -= n as u64;
        Ok(n)
    }
}

fn boundary(req: &Request) -> Result<String> {
    let header = req.header("Content-Type").unwrap_or("");
    for param in header.split(';').skip(1) {
        let Some((k, v)) = param.split_once('=') else {
            continue;
        };
        if k.trim().eq_ignore_ascii_case("boundary") {
            let v = v.trim().trim_matches('"');
            if !v.is_empty() && v.len() <= 70 {
                return Ok(v.to_string());
            }
        }
    }
    Err(Error::BadRequest(
        "The multipart body has no valid boundary.".into(),
    ))
}

/// Reads the upload. 415 unless multipart/form-data; 413 over `file_limit`; 400 when the
/// body is not well-formed multipart.
pub fn read_upload(
    req: &Request,
    body: &mut dyn Read,
    blobs: &Blobs,
    file_limit: u64,
) -> Result<UploadInput> {
    if media_type(req).as_deref() != Some("multipart/form-data") {
        return Err(Error::UnsupportedMediaType(
            "Content-Type must be multipart/form-data.".into(),
        ));
    }
    let body_limit = file_limit + ENVELOPE_BYTES;
    check_declared_length(req, body_limit, "The upload")?;
    let boundary = boundary(req)?;
    let tripped = Arc::new(AtomicBool::new(false));
    let limited = Limited {
        inner: body,
        left: body_limit,
        tripped: tripped.clone(),
    };
    let over = |tripped: &AtomicBool| tripped.load(Ordering::SeqCst);
    let mut mp = Multipart::with_body(limited, boundary);
    let mut input = UploadInput {
        document_type: None,
        file: None,
        filename: None,
        extra_files: 0,
    };
    let mut parts = 0;
    loop {
        let entry = match mp.read_entry() {
            Ok(Some(e)) => e,
            Ok(None) => break,
            Err(_) if over(&tripped) => return Err(too_large("The upload", file_limit)),
            Err(_) => return Err(Error::BadRequest("The multipart body is malformed.".into())),
        };
        parts += 1;
        if parts > MAX_PARTS {
            return Err(Error::TooLarge(format!(
                "The upload has more than {MAX_PARTS} parts."
            )));
        }
        let mut field = entry;
        match &*field.headers.name {
            "file" => {
                let filename = field.headers.filename.clone();
                match blobs.stage(&mut field.data, file_limit) {
                    Ok(staged) if input.file.is_none() => {
                        input.file = Some(staged);
                        input.filename = filename;
                    }
                    Ok(_) => input.extra_files += 1,
                    Err(StageError::TooLarge) => return Err(too_large("The file", file_limit)),
                    Err(StageError::Read(_)) if over(&tripped) => {
                        return Err(too_large("The upload", file_limit))
                    }
                    Err(StageError::Read(_)) => {
                        return Err(Error::BadRequest("The multipart body is malformed.".into()))
                    }
                    Err(StageError::Store(e)) => return Err(e),
                }
            }
            name => {
                let mut text = Vec::new();
                let read = (&mut field.data)
                    .take(MAX_TEXT_FIELD + 1)
                    .read_to_end(&mut text);
                if read.is_err() {
                    return Err(if over(&tripped) {
                        too_large("The upload", file_limit)
                    } else {
                        Error::BadRequest("The multipart body is malformed.".into())
                    });
                }
                if text.len() as u64 > MAX_TEXT_FIELD {
                    return Err(Error::TooLarge(format!(
                        "The field {name} is longer than {MAX_TEXT_FIELD} bytes."
                    )));
                }
                if name == "document_type" {
                    input.document_type = Some(String::from_utf8_lossy(&text).into_owned());
                }
            }
        }
    }
    if parts == 0 {
        return Err(Error::BadRequest(
            "The multipart body is malformed or has no parts.".into(),
        ));
    }
    Ok(input)
}
