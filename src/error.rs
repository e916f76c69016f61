//! The one error type of the program. It knows nothing of HTTP or SQLite: `http` maps each
//! variant to a status code and a JSON body, `db` converts its driver's errors into it.

use std::collections::BTreeMap;
use std::fmt;

/// Field name → the problems found with it, in the order they were found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldErrors(BTreeMap<String, Vec<String>>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0
            .entry(field.to_string())
            .or_default()
            .push(message.into());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn has(&self, field: &str) -> bool {
        self.0.contains_key(field)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &Vec<String>)> {
        self.0.iter()
    }

    /// `Ok(())` when nothing was found, else the 422 error carrying every problem at once.
    pub fn into_result(self) -> Result<()> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(Error::Validation(self))
        }
    }

    /// Adds every problem of `other` after this one's.
    pub fn merge(&mut self, other: FieldErrors) {
        for (field, messages) in other.0 {
            self.0.entry(field).or_default().extend(messages);
        }
    }

    pub fn single(field: &str, message: impl Into<String>) -> Self {
        let mut e = Self::new();
        e.add(field, message);
        e
    }
}

#[derive(Debug)]
pub enum Error {
    /// 400: the body is not what the content type promised (bad JSON, not an object, garbled
    /// multipart).
    BadRequest(String),
    /// 401: no key, or a key that is unknown or revoked.
    Unauthorized,
    /// 403: the key is valid but its role may not do this.
    Forbidden(String),
    /// 404: no such lead/document/route, or one the caller may not see.
    NotFound(String),
    /// 409: the request conflicts with the current state; `errors` may name the field.
    Conflict(String, FieldErrors),
    /// 413: a body, field or file over its limit.
    TooLarge(String),
    /// 415: a body of a content type this operation does not take.
    UnsupportedMediaType(String),
    /// 422: field rules; every problem at once.
    Validation(FieldErrors),
    /// 429: too many requests; retry after this many seconds.
    RateLimited(u64),
    /// 503: storage could not take the write (disk full, read-only); safe to retry.
    Unavailable(String),
    /// 500: a fault of ours. The text is logged with the request id, never sent.
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn internal(cause: impl fmt::Display) -> Self {
        Error::Internal(cause.to_string())
    }

    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Error::Validation(FieldErrors::single(field, message))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::BadRequest(m)
            | Error::Forbidden(m)
            | Error::NotFound(m)
            | Error::Conflict(m, _)
            | Error::TooLarge(m)
            | Error::UnsupportedMediaType(m)
            | Error::Unavailable(m)
            | Error::Internal(m) => f.write_str(m),
            Error::Unauthorized => f.write_str("unauthorized"),
            Error::RateLimited(s) => write!(f, "rate limited for {s} s"),
            Error::Validation(_) => f.write_str("validation failed"),
        }
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        use std::io::ErrorKind as K;
        // Wrappers (tempfile adds the path) keep the kind but hide the OS code: look at both.
        let inner_code = e
            .get_ref()
            .and_then(|inner| inner.source())
            .and_then(|s| s.downcast_ref::<std::io::Error>())
            .and_then(std::io::Error::raw_os_error);
        let full = matches!(
            e.kind(),
            K::StorageFull | K::QuotaExceeded | K::FileTooLarge | K::ReadOnlyFilesystem
        );
        // ENOSPC, EDQUOT, EROFS, EFBIG: the disk cannot take the write now; it may later.
        let full_code = |c: Option<i32>| matches!(c, Some(28) | Some(122) | Some(30) | Some(27));
        if full || full_code(e.raw_os_error()) || full_code(inner_code) {
            Error::Unavailable(format!("storage: {e}"))
        } else {
            Error::Internal(format!("io: {e}"))
        }
    }
}
