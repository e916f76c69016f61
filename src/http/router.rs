//! The route table: every path the server answers, with the methods each takes. Matching is
//! by whole segments; `{name}` matches any one non-empty segment.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Healthz,
    OpenApi,
    Docs,
    Products,
    Categories,
    LenderMapping,
    DocumentTypes,
    Statuses,
    Leads,
    Lead,
    Journey,
    LeadStatus,
    Disbursement,
    Rm,
    Documents,
    Document,
    DocumentFile,
    Notes,
    Rms,
    Lender,
    Audit,
}

pub struct Entry {
    pub pattern: &'static str,
    pub route: Route,
    pub methods: &'static [&'static str],
}

const fn e(pattern: &'static str, route: Route, methods: &'static [&'static str]) -> Entry {
    Entry {
        pattern,
        route,
        methods,
    }
}

#[rustfmt::skip]
pub const ROUTES: &[Entry] = &[
    e("/healthz", Route::Healthz, &["GET"]),
    e("/docs", Route::Docs, &["GET"]),
    e("/api/v1/openapi.json", Route::OpenApi, &["GET"]),
    e("/api/v1/products", Route::Products, &["GET"]),
    e("/api/v1/products/categories", Route::Categories, &["GET"]),
    e("/api/v1/products/lender-mapping", Route::LenderMapping, &["GET"]),
    e("/api/v1/document-types", Route::DocumentTypes, &["GET"]),
    e("/api/v1/statuses", Route::Statuses, &["GET"]),
    e("/api/v1/rms", Route::Rms, &["GET"]),
    e("/api/v1/leads", Route::Leads, &["GET", "POST"]),
    e("/api/v1/leads/{lead_id}", Route::Lead, &["GET", "PATCH"]),
    e("/api/v1/leads/{lead_id}/journey", Route::Journey, &["GET"]),
    e("/api/v1/leads/{lead_id}/status", Route::LeadStatus, &["GET", "POST"]),
    e("/api/v1/leads/{lead_id}/disbursement", Route::Disbursement, &["GET", "PUT"]),
    e("/api/v1/leads/{lead_id}/rm", Route::Rm, &["GET", "PUT"]),
    e("/api/v1/leads/{lead_id}/lender", Route::Lender, &["PUT"]),
    e("/api/v1/leads/{lead_id}/audit", Route::Audit, &["GET"]),
    e("/api/v1/leads/{lead_id}/documents", Route::Documents, &["GET", "POST"]),
    e("/api/v1/leads/{lead_id}/documents/{document_id}", Route::Document, &["PATCH"]),
    e("/api/v1/leads/{lead_id}/documents/{document_id}/file", Route::DocumentFile, &["GET"]),
    e("/api/v1/leads/{lead_id}/notes", Route::Notes, &["GET", "POST"]),
];

/// Whether this route is served without a key.
pub fn is_public(route: Route) -> bool {
    matches!(route, Route::Healthz | Route::OpenApi | Route::Docs)
}

/// Whether only admin keys may call this: the back office. Checked before the body is read.
pub fn admin_only(route: Route, method: &str) -> bool {
    matches!(
        (route, method),
        (Route::Rms, _)
            | (Route::Audit, _)
            | (Route::Lender, _)
            | (Route::LeadStatus, "POST")
            | (Route::Rm, "PUT")
            | (Route::Disbursement, "PUT")
    )
}

/// Whether the answer to this request depends only on the database, the key and the URL,
/// so that it may be kept while the database does not change (see `answers`): every read
/// but the document download, which streams a file.
pub fn keeps_answers(route: Route, method: &str) -> bool {
    matches!(method, "GET" | "HEAD") && !is_public(route) && !matches!(route, Route::DocumentFile)
}

pub enum Resolved {
    Found(Route, Vec<String>),
    /// The path exists but not with this method; the value lists the methods it takes.
    MethodNotAllowed(String),
    NotFound,
}

/// Percent-decodes one path segment; `None` when it is not valid UTF-8 once decoded.
fn decode_segment(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            // Two hex digits, nothing else (a parser of numbers would take `%+4`).
            let digit = |b: u8| (b as char).to_digit(16);
            out.push((digit(bytes[i + 1])? * 16 + digit(bytes[i + 2])?) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Matches the raw (still percent-encoded) path against a pattern segment by segment, so
/// that an encoded `/` (`%2F`) stays inside its segment.
/// A segment is decoded only when it holds a `%`, so that matching a path against the
/// table allocates nothing but the parameters.
fn matches(pattern: &str, path: &str) -> Option<Vec<String>> {
    let slashes = |s: &str| s.bytes().filter(|&b| b == b'/').count();
    if slashes(pattern) != slashes(path) {
        return None;
    }
    let mut params = Vec::new();
    for (pp, ss) in pattern.split('/').zip(path.split('/')) {
        let ss = if ss.contains('%') {
            std::borrow::Cow::Owned(decode_segment(ss)?)
        } else {
            std::borrow::Cow::Borrowed(ss)
        };
        if pp.starts_with('{') {
            if ss.is_empty() {
                return None;
            }
            params.push(ss.into_owned());
        } else if pp != ss {
            return None;
        }
    }
    Some(params)
}

/// The `Allow` header value of an entry: its methods, HEAD with GET, and OPTIONS.
pub fn allow(entry: &Entry) -> String {
    let mut methods: Vec<&str> = entry.methods.to_vec();
    if methods.contains(&"GET") {
        methods.push("HEAD");
    }
    methods.push("OPTIONS");
    methods.join(", ")
}

pub fn resolve(method: &str, path: &str) -> Resolved {
    // One trailing slash is forgiven: `/api/v1/products/` is `/api/v1/products`.
    let path = match path.strip_suffix('/') {
        Some(p) if !p.is_empty() => p,
        _ => path,
    };
    for entry in ROUTES {
        let Some(params) = matches(entry.pattern, path) else {
            continue;
        };
        let method = if method == "HEAD" { "GET" } else { method };
        if entry.methods.contains(&method) {
            return Resolved::Found(entry.route, params);
        }
        return Resolved::MethodNotAllowed(allow(entry));
    }
    Resolved::NotFound
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(method: &str, path: &str) -> Option<(Route, Vec<String>)> {
        match resolve(method, path) {
            Resolved::Found(route, params) => Some((route, params)),
            _ => None,
        }
    }

    #[test]
    fn paths_match_whole_segments_decoded() {
        assert_eq!(
            found("GET", "/api/v1/leads/LD1/journey"),
            Some((Route::Journey, vec!["LD1".to_string()]))
        );
        // A trailing slash is forgiven; HEAD is GET.
        assert_eq!(
            found("HEAD", "/api/v1/leads/LD1/"),
            Some((Route::Lead, vec!["LD1".to_string()]))
        );
        // Encoded characters are decoded, in literal segments and in parameters.
        assert_eq!(
            found("GET", "/api/v1/%6Ceads/LD%31"),
            Some((Route::Lead, vec!["LD1".to_string()]))
        );
        // An encoded slash stays inside its segment.
        assert_eq!(
            found("GET", "/api/v1/leads/LD1%2Fstatus"),
            Some((Route::Lead, vec!["LD1/status".to_string()]))
        );
        // Bad escapes, empty parameters, extra or missing segments: no route.
        for path in [
            "/api/v1/leads/LD%zz",
            "/api/v1/leads/%ff",
            "/api/v1/leads/LD%+4x",
            "/api/v1/leads/LD%-1x",
            "/api/v1/leads//journey",
            "/api/v1/leads/LD1/journey/x",
            "/api/v1",
            "/api/v1/leads/LD1/documents/D1/file/x",
        ] {
            assert!(matches!(resolve("GET", path), Resolved::NotFound), "{path}");
        }
        assert!(matches!(
            resolve("DELETE", "/api/v1/leads/LD1"),
            Resolved::MethodNotAllowed(allow) if allow == "GET, PATCH, HEAD, OPTIONS"
        ));
    }
}
