//! Writing a handler's answer to the client: status line, `Date`, the handler's headers (less
//! any framing or connection header, and any with a line break in its value), one
//! `Content-Length`, and the body unless the request was HEAD or the status has none. A small
//! answer goes out in one write.

use super::spool::Spool;
use rouille::Response;
use std::cell::RefCell;
use std::io::{self, Read, Write};
use std::time::{SystemTime, UNIX_EPOCH};

/// Answers up to this size are written with their head in one call.
const ONE_WRITE_BYTES: usize = 64 * 1024;

/// The reason phrase of the status codes this server answers with.
pub(super) fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        206 => "Partial Content",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        413 => "Payload Too Large",
        415 => "Unsupported Media Type",
        417 => "Expectation Failed",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

/// The `Date` header's value now (RFC 9110 IMF-fixdate), formatted once a second per thread.
fn http_date() -> String {
    thread_local! {
        static CACHE: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.0 != now {
            let at = chrono::DateTime::from_timestamp(now as i64, 0).unwrap_or_default();
            *c = (now, at.format("%a, %d %b %Y %H:%M:%S GMT").to_string());
        }
        c.1.clone()
    })
}

/// A JSON 500, for a handler that panicked where it could not answer itself.
pub(super) fn internal_error() -> Response {
    Response::from_data(
        "application/json",
        br#"{"success":false,"message":"Internal server error."}"#.to_vec(),
    )
    .with_status_code(500)
}

/// Writes `answer` to `client`. `closing`: the connection closes after it (said in a
/// `Connection: close` header).
pub(super) fn write(
    client: &mut dyn Write,
    answer: Response,
    is_head: bool,
    closing: bool,
    spool_limit: u64,
) -> io::Result<()> {
    let status = answer.status_code;
    let no_body = (100..200).contains(&status) || status == 204 || status == 304;
    let mut out = Vec::with_capacity(1024);
    write!(
        out,
        "HTTP/1.1 {status} {}\r\nDate: {}\r\n",
        reason(status),
        http_date()
    )?;
    for (name, value) in &answer.headers {
        let framing = ["content-length", "transfer-encoding", "connection", "date"]
            .iter()
            .any(|h| name.eq_ignore_ascii_case(h));
        let unsafe_text = |t: &str| t.bytes().any(|b| b == b'\r' || b == b'\n');
        if framing || name.is_empty() || unsafe_text(name) || unsafe_text(value) {
            continue;
        }
        write!(out, "{name}: {value}\r\n")?;
    }
    if closing {
        out.extend_from_slice(b"Connection: close\r\n");
    }
    let (mut data, size) = answer.data.into_reader_and_size();
    if no_body {
        out.extend_from_slice(b"\r\n");
        return client.write_all(&out);
    }
    match size {
        Some(n) => {
            write!(out, "Content-Length: {n}\r\n\r\n")?;
            if is_head {
                return client.write_all(&out);
            }
            if n <= ONE_WRITE_BYTES {
                let head = out.len();
                (&mut data).take(n as u64).read_to_end(&mut out)?;
                if out.len() - head != n {
                    return Err(io::Error::other("answer body shorter than its length"));
                }
                client.write_all(&out)
            } else {
                client.write_all(&out)?;
                let copied = io::copy(&mut data.take(n as u64), client)?;
                if copied != n as u64 {
                    return Err(io::Error::other("answer body shorter than its length"));
                }
                Ok(())
            }
        }
        None => {
            // Of unknown length: take it whole first (in a temp file past the limit).
            let mut spool = Spool::new(spool_limit);
            io::copy(&mut data, &mut spool)?;
            write!(out, "Content-Length: {}\r\n\r\n", spool.len)?;
            client.write_all(&out)?;
            if is_head {
                return Ok(());
            }
            spool.send_to(client)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(answer: Response, is_head: bool, closing: bool) -> String {
        let mut out = Vec::new();
        write(&mut out, answer, is_head, closing, 1024).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn json_answer_has_one_length_and_its_body() {
        let text = written(
            Response::from_data("application/json", b"{}".to_vec())
                .with_unique_header("Content-Length", "99")
                .with_unique_header("X-Bad", "a\r\nSet-Cookie: x=1"),
            false,
            false,
        );
        assert!(text.starts_with("HTTP/1.1 200 OK\r\nDate: "), "{text}");
        assert!(
            text.ends_with("Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"),
            "{text}"
        );
        assert_eq!(text.matches("Content-Length").count(), 1, "{text}");
        assert!(!text.contains("Set-Cookie"), "{text}");
    }

    #[test]
    fn head_keeps_the_length_but_sends_no_body_and_204_has_neither() {
        let text = written(
            Response::from_data("application/json", b"{\"a\":1}".to_vec()),
            true,
            true,
        );
        assert!(
            text.ends_with("Connection: close\r\nContent-Length: 7\r\n\r\n"),
            "{text}"
        );
        let text = written(Response::empty_204(), false, false);
        assert!(text.starts_with("HTTP/1.1 204 No Content\r\n"), "{text}");
        assert!(!text.contains("Content-Length"), "{text}");
        assert!(text.ends_with("\r\n\r\n"), "{text}");
    }

    #[test]
    fn date_is_an_imf_fixdate() {
        let d = http_date();
        assert!(
            chrono::NaiveDateTime::parse_from_str(&d, "%a, %d %b %Y %H:%M:%S GMT").is_ok(),
            "{d}"
        );
    }
}
