//! The route table: every path the server answers, with the methods each takes. Matching is
//! by whole segments; `{name}` matches any one non-empty segment.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Healthz,
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
    Notes,
}

pub struct Entry {
    pub pattern: &'static str,
    pub route: Route,
    pub methods: &'static [&'static str],
}

pub const ROUTES: &[Entry] = &[
    Entry {
        pattern: "/healthz",
        route: Route::Healthz,
        methods: &["GET"],
    },
    Entry {
        pattern: "/api/v1/products",
        route: Route::Products,
        methods: &["GET"],
    },
    Entry {
        pattern: "/api/v1/products/categories",
        route: Route::Categories,
        methods: &["GET"],
    },
    Entry {
        pattern: "/api/v1/products/lender-mapping",
        route: Route::LenderMapping,
        methods: &["GET"],
    },
    Entry {
        pattern: "/api/v1/document-types",
        route: Route::DocumentTypes,
        methods: &["GET"],
    },
    Entry {
        pattern: "/api/v1/statuses",
        route: Route::Statuses,
        methods: &["GET"],
    },
    Entry {
        pattern: "/api/v1/leads",
        route: Route::Leads,
        methods: &["POST"],
    },
    Entry {
        pattern: "/api/v1/leads/{lead_id}",
        route: Route::Lead,
        methods: &["GET", "PATCH"],
    },
    Entry {
        pattern: "/api/v1/leads/{lead_id}/journey",
        route: Route::Journey,
        methods: &["GET"],
    },
    Entry {
        pattern: "/api/v1/leads/{lead_id}/status",
        route: Route::LeadStatus,
        methods: &["GET"],
    },
    Entry {
        pattern: "/api/v1/leads/{lead_id}/disbursement",
        route: Route::Disbursement,
        methods: &["GET"],
    },
    Entry {
        pattern: "/api/v1/leads/{lead_id}/rm",
        route: Route::Rm,
        methods: &["GET"],
    },
    Entry {
        pattern: "/api/v1/leads/{lead_id}/documents",
        route: Route::Documents,
        methods: &["POST"],
    },
    Entry {
        pattern: "/api/v1/leads/{lead_id}/documents/{document_id}",
        route: Route::Document,
        methods: &["PATCH"],
    },
    Entry {
        pattern: "/api/v1/leads/{lead_id}/notes",
        route: Route::Notes,
        methods: &["POST"],
    },
];

pub enum Resolved {
    Found(Route, Vec<String>),
    /// The path exists but not with this method; the value lists the methods it takes.
    MethodNotAllowed(String),
    NotFound,
}

fn matches(pattern: &str, path: &str) -> Option<Vec<String>> {
    let mut params = Vec::new();
    let mut p = pattern.split('/');
    let mut s = path.split('/');
    loop {
        match (p.next(), s.next()) {
            (None, None) => return Some(params),
            (Some(pp), Some(ss)) if pp.starts_with('{') => {
                if ss.is_empty() {
                    return None;
                }
                params.push(ss.to_string());
            }
            (Some(pp), Some(ss)) if pp == ss => {}
            _ => return None,
        }
    }
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
