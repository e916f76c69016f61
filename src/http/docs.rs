//! The HTML API reference served at `GET /docs`: one self-contained page (inline CSS, no
//! scripts, no external assets) rendered from the OpenAPI document that
//! `GET /api/v1/openapi.json` serves. This module owns only the rendering; the contract
//! itself lives in `openapi.json`. Every string taken from the document is HTML-escaped, and
//! `$ref`s are followed (with a depth limit, so a cyclic schema cannot loop).

use serde_json::{Map, Value};

/// Path-item keys that are operations, in the order the page lists them.
const METHODS: [&str; 8] = [
    "get", "post", "put", "patch", "delete", "head", "options", "trace",
];

/// How deep nested object fields are expanded, and how many `$ref` hops are followed.
const MAX_DEPTH: usize = 6;
const MAX_REF_HOPS: usize = 16;

const STYLE: &str = r#"
:root { --fg: #1d2433; --muted: #5b6475; --line: #d9dee7; --bg: #f6f8fb; --code: #eef1f6; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--fg); background: #fff; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 28px 64px; }
h1 { font-size: 28px; margin: 8px 0 4px; }
h2 { font-size: 22px; margin: 40px 0 8px; padding-bottom: 6px; border-bottom: 2px solid var(--line); }
h3 { font-size: 17px; margin: 0; font-weight: 600; }
h4 { font-size: 14px; margin: 18px 0 6px; text-transform: uppercase; letter-spacing: .04em;
  color: var(--muted); }
p { margin: 6px 0; }
a { color: #1f5fbf; text-decoration: none; }
a:hover { text-decoration: underline; }
code, pre { font: 13px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
code { background: var(--code); padding: 1px 4px; border-radius: 4px; word-break: break-word; }
pre { background: var(--code); padding: 10px 12px; border-radius: 6px; overflow-x: auto; }
table { width: 100%; border-collapse: collapse; margin: 6px 0 10px; font-size: 14px; }
th, td { text-align: left; vertical-align: top; padding: 6px 8px; border-bottom: 1px solid var(--line); }
th { background: var(--bg); font-weight: 600; }
td.name { white-space: nowrap; }
.version { color: var(--muted); font-size: 14px; }
.toc ul { list-style: none; padding-left: 0; margin: 4px 0 12px; columns: 2; }
.toc li { margin: 2px 0; break-inside: avoid; }
.op { border: 1px solid var(--line); border-radius: 8px; margin: 18px 0; padding: 14px 18px;
  background: #fff; }
.op-head { display: flex; gap: 10px; align-items: baseline; flex-wrap: wrap; }
.path { font: 600 15px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.method { display: inline-block; min-width: 62px; text-align: center; color: #fff;
  font: 700 12px ui-monospace, monospace; padding: 3px 6px; border-radius: 4px; }
.m-get { background: #2f7d4f; } .m-post { background: #1f5fbf; } .m-put { background: #a05a00; }
.m-patch { background: #7a4bc2; } .m-delete { background: #b3261e; }
.m-head, .m-options, .m-trace { background: #5b6475; }
.meta { color: var(--muted); font-size: 13px; margin: 4px 0; }
.req { color: #b3261e; font-weight: 600; }
.code { display: inline-block; min-width: 42px; font: 700 13px ui-monospace, monospace; }
.c2 { color: #2f7d4f; } .c4 { color: #a05a00; } .c5 { color: #b3261e; }
details { margin: 4px 0 10px 14px; }
summary { cursor: pointer; color: var(--muted); font-size: 13px; }
ul.notes { margin: 4px 0; padding-left: 20px; }
.response { margin: 8px 0; }
"#;

/// Renders `spec` (an OpenAPI 3.0 document) as a complete HTML page.
pub fn render(spec: &Value) -> String {
    let mut out = String::with_capacity(256 * 1024);
    let title = str_at(spec, "/info/title").unwrap_or("API reference");
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str(&format!("<title>{}</title>\n", esc(title)));
    out.push_str(&format!(
        "<style>{STYLE}</style>\n</head>\n<body>\n<main>\n"
    ));
    intro(spec, title, &mut out);
    let ops = operations(spec);
    let groups = group_by_tag(spec, &ops);
    toc(&groups, &mut out);
    for group in &groups {
        out.push_str(&format!(
            "<h2 id=\"{}\">{}</h2>\n",
            esc(&anchor("tag", &group.name)),
            esc(&group.name)
        ));
        if let Some(d) = group.description {
            out.push_str(&prose(d));
        }
        for op in &group.ops {
            operation(spec, op, &mut out);
        }
    }
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

/// One operation of the document, with where it sits.
struct Op<'a> {
    path: &'a str,
    method: &'a str,
    item: &'a Value,
    op: &'a Value,
}

struct Group<'a> {
    name: String,
    description: Option<&'a str>,
    ops: Vec<&'a Op<'a>>,
}

fn operations(spec: &Value) -> Vec<Op<'_>> {
    let mut ops = Vec::new();
    let Some(paths) = spec.get("paths").and_then(Value::as_object) else {
        return ops;
    };
    for (path, item) in paths {
        let (item, _) = resolve(spec, item);
        for method in METHODS {
            if let Some(op) = item.get(method).filter(|o| o.is_object()) {
                ops.push(Op {
                    path,
                    method,
                    item,
                    op,
                });
            }
        }
    }
    ops
}

/// The declared tags in their order, then tags only operations name, then "Other" for
/// untagged operations. An operation is listed under its first tag.
fn group_by_tag<'a>(spec: &'a Value, ops: &'a [Op<'a>]) -> Vec<Group<'a>> {
    let mut groups: Vec<Group<'a>> = Vec::new();
    if let Some(tags) = spec.get("tags").and_then(Value::as_array) {
        for t in tags {
            if let Some(name) = str_at(t, "/name") {
                groups.push(Group {
                    name: name.to_string(),
                    description: str_at(t, "/description"),
                    ops: Vec::new(),
                });
            }
        }
    }
    for op in ops {
        let tag = str_at(op.op, "/tags/0").unwrap_or("Other");
        match groups.iter_mut().find(|g| g.name == tag) {
            Some(g) => g.ops.push(op),
            None => groups.push(Group {
                name: tag.to_string(),
                description: None,
                ops: vec![op],
            }),
        }
    }
    groups.retain(|g| !g.ops.is_empty());
    groups
}

fn intro(spec: &Value, title: &str, out: &mut String) {
    out.push_str(&format!("<h1>{}</h1>\n", esc(title)));
    if let Some(v) = str_at(spec, "/info/version") {
        out.push_str(&format!(
            "<div class=\"version\">Version {} · OpenAPI {}</div>\n",
            esc(v),
            esc(str_at(spec, "/openapi").unwrap_or("3"))
        ));
    }
    if let Some(d) = str_at(spec, "/info/description") {
        out.push_str(&prose(d));
    }
    if let Some(c) = spec.pointer("/info/contact") {
        let name = str_at(c, "/name").unwrap_or("");
        let email = str_at(c, "/email").unwrap_or("");
        if !name.is_empty() || !email.is_empty() {
            out.push_str(&format!(
                "<p class=\"meta\">Contact: {} {}</p>\n",
                esc(name),
                esc(email)
            ));
        }
    }
    out.push_str("<h4>Servers</h4>\n<ul>\n");
    for s in list(spec.get("servers")) {
        out.push_str(&format!("<li>{}</li>\n", server_label(s)));
    }
    out.push_str("</ul>\n");
    out.push_str("<h4>Authentication</h4>\n");
    let schemes = spec
        .pointer("/components/securitySchemes")
        .and_then(Value::as_object);
    match schemes {
        Some(schemes) if !schemes.is_empty() => {
            out.push_str("<ul>\n");
            for (name, scheme) in schemes {
                let (scheme, _) = resolve(spec, scheme);
                out.push_str(&format!(
                    "<li><strong>{}</strong>: {}",
                    esc(name),
                    scheme_label(scheme)
                ));
                if let Some(d) = str_at(scheme, "/description") {
                    out.push_str(&prose(d));
                }
                out.push_str("</li>\n");
            }
            out.push_str("</ul>\n");
        }
        _ => out.push_str("<p>No authentication is described.</p>\n"),
    }
    out.push_str(&format!(
        "<p>By default every operation needs: {}. Operations marked “No key needed” \
         override this.</p>\n",
        security_label(spec, spec.get("security"))
    ));
}

fn toc(groups: &[Group<'_>], out: &mut String) {
    out.push_str("<nav class=\"toc\">\n<h4>Operations</h4>\n");
    for g in groups {
        out.push_str(&format!(
            "<div><a href=\"#{}\"><strong>{}</strong></a></div>\n<ul>\n",
            esc(&anchor("tag", &g.name)),
            esc(&g.name)
        ));
        for op in &g.ops {
            out.push_str(&format!(
                "<li><a href=\"#{}\"><span class=\"method m-{}\">{}</span> <code>{}</code></a> {}</li>\n",
                esc(&op_anchor(op)),
                op.method,
                op.method.to_ascii_uppercase(),
                esc(op.path),
                esc(str_at(op.op, "/summary").unwrap_or(""))
            ));
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</nav>\n");
}

fn operation(spec: &Value, op: &Op<'_>, out: &mut String) {
    out.push_str(&format!(
        "<section class=\"op\" id=\"{}\">\n<div class=\"op-head\"><span class=\"method m-{}\">{}</span> <span class=\"path\">{}</span>",
        esc(&op_anchor(op)),
        op.method,
        op.method.to_ascii_uppercase(),
        esc(op.path)
    ));
    if let Some(s) = str_at(op.op, "/summary") {
        out.push_str(&format!(" <h3>{}</h3>", esc(s)));
    }
    out.push_str("</div>\n");

    // Where it is served and what it needs.
    let servers_value = op
        .op
        .get("servers")
        .or_else(|| op.item.get("servers"))
        .or_else(|| spec.get("servers"));
    let full: Vec<String> = list(servers_value)
        .iter()
        .filter_map(|s| str_at(s, "/url"))
        .map(|base| format!("<code>{}</code>", esc(&join_url(base, op.path))))
        .collect();
    let mut meta = Vec::new();
    if !full.is_empty() {
        meta.push(format!("URL: {}", full.join(", ")));
    }
    let security = op.op.get("security").or_else(|| spec.get("security"));
    meta.push(format!("Auth: {}", security_label(spec, security)));
    if let Some(id) = str_at(op.op, "/operationId") {
        meta.push(format!("Operation ID: <code>{}</code>", esc(id)));
    }
    if op.op.get("deprecated").and_then(Value::as_bool) == Some(true) {
        meta.push("<strong>Deprecated</strong>".to_string());
    }
    out.push_str(&format!("<p class=\"meta\">{}</p>\n", meta.join(" · ")));
    if let Some(d) = str_at(op.op, "/description") {
        out.push_str(&prose(d));
    }

    parameters(spec, op, out);
    if let Some(body) = op.op.get("requestBody") {
        request_body(spec, body, out);
    }
    responses(spec, op.op.get("responses"), out);
    out.push_str("</section>\n");
}

fn parameters(spec: &Value, op: &Op<'_>, out: &mut String) {
    // Path-level parameters apply unless the operation redefines the same name and place.
    let mut params: Vec<&Value> = Vec::new();
    let own: Vec<&Value> = list(op.op.get("parameters"))
        .iter()
        .map(|p| resolve(spec, p).0)
        .collect();
    for p in list(op.item.get("parameters")) {
        let (p, _) = resolve(spec, p);
        let same = |q: &&Value| q.get("name") == p.get("name") && q.get("in") == p.get("in");
        if !own.iter().any(same) {
            params.push(p);
        }
    }
    params.extend(own);
    if params.is_empty() {
        return;
    }
    out.push_str("<h4>Parameters</h4>\n<table>\n<tr><th>Name</th><th>In</th><th>Type</th><th>Required</th><th>Constraints</th><th>Description</th></tr>\n");
    for p in params {
        let schema = p.get("schema").unwrap_or(&Value::Null);
        let required = p.get("required").and_then(Value::as_bool) == Some(true);
        out.push_str(&format!(
            "<tr><td class=\"name\"><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            esc(str_at(p, "/name").unwrap_or("")),
            esc(str_at(p, "/in").unwrap_or("")),
            type_label(spec, schema, 0),
            required_label(required),
            constraints(spec, schema).join("<br>"),
            str_at(p, "/description").map(inline).unwrap_or_default()
        ));
    }
    out.push_str("</table>\n");
}

fn request_body(spec: &Value, body: &Value, out: &mut String) {
    let (body, _) = resolve(spec, body);
    let required = body.get("required").and_then(Value::as_bool) == Some(true);
    out.push_str(&format!(
        "<h4>Request body{}</h4>\n",
        if required { "" } else { " (optional)" }
    ));
    if let Some(d) = str_at(body, "/description") {
        out.push_str(&prose(d));
    }
    for (media, content) in object(body.get("content")) {
        out.push_str(&format!("<p><code>{}</code></p>\n", esc(media)));
        if let Some(schema) = content.get("schema") {
            schema_block(spec, schema, out);
        }
        for (field, enc) in object(content.get("encoding")) {
            if let Some(ct) = str_at(enc, "/contentType") {
                out.push_str(&format!(
                    "<p class=\"meta\">Part <code>{}</code> content types: {}</p>\n",
                    esc(field),
                    esc(ct)
                ));
            }
        }
        if let Some(example) = content.get("example") {
            example_block(example, out);
        }
    }
}

fn responses(spec: &Value, responses: Option<&Value>, out: &mut String) {
    let responses = object(responses);
    if responses.is_empty() {
        return;
    }
    out.push_str("<h4>Responses</h4>\n");
    for (code, response) in responses {
        let (response, _) = resolve(spec, response);
        let class = match code.as_bytes().first() {
            Some(b'2') | Some(b'3') => "c2",
            Some(b'4') => "c4",
            _ => "c5",
        };
        out.push_str(&format!(
            "<div class=\"response\"><span class=\"code {class}\">{}</span> {}",
            esc(code),
            str_at(response, "/description")
                .map(inline)
                .unwrap_or_default()
        ));
        let headers = object(response.get("headers"));
        if !headers.is_empty() {
            let success = class == "c2";
            let labels: Vec<String> = headers
                .iter()
                .map(|(name, h)| {
                    let (h, _) = resolve(spec, h);
                    let req = if h.get("required").and_then(Value::as_bool) == Some(true) {
                        ""
                    } else {
                        " (optional)"
                    };
                    // Success answers explain their headers; errors just name them.
                    match str_at(h, "/description").filter(|_| success) {
                        Some(d) => format!("<code>{}</code>{req}: {}", esc(name), inline(d)),
                        None => format!("<code>{}</code>{req}", esc(name)),
                    }
                })
                .collect();
            if success {
                out.push_str(&format!(
                    "<ul class=\"notes\"><li>Header {}</li></ul>",
                    labels.join("</li><li>Header ")
                ));
            } else {
                out.push_str(&format!(
                    "<div class=\"meta\">Headers: {}</div>",
                    labels.join(", ")
                ));
            }
        }
        for (media, content) in object(response.get("content")) {
            let Some(schema) = content.get("schema") else {
                out.push_str(&format!(
                    "<p class=\"meta\"><code>{}</code></p>",
                    esc(media)
                ));
                continue;
            };
            let open = if class == "c2" { " open" } else { "" };
            out.push_str(&format!(
                "<details{open}><summary><code>{}</code>: {}</summary>\n",
                esc(media),
                type_label(spec, schema, 0)
            ));
            schema_block(spec, schema, out);
            out.push_str("</details>\n");
        }
        out.push_str("</div>\n");
    }
}

/// A schema as a description, notes on whole-object rules, and a table of its fields.
fn schema_block(spec: &Value, schema: &Value, out: &mut String) {
    let (resolved, _) = resolve(spec, schema);
    if let Some(d) = str_at(resolved, "/description") {
        out.push_str(&prose(d));
    }
    let notes = object_notes(spec, resolved);
    if !notes.is_empty() {
        out.push_str(&format!(
            "<ul class=\"notes\"><li>{}</li></ul>\n",
            notes.join("</li><li>")
        ));
    }
    let mut rows = Vec::new();
    let mut stack = Vec::new();
    field_rows(spec, schema, "", 0, &mut stack, &mut rows);
    if rows.is_empty() {
        let c = constraints(spec, resolved);
        out.push_str(&format!(
            "<p>Type: {}{}</p>\n",
            type_label(spec, schema, 0),
            if c.is_empty() {
                String::new()
            } else {
                format!("; {}", c.join("; "))
            }
        ));
        return;
    }
    out.push_str("<table>\n<tr><th>Field</th><th>Type</th><th>Required</th><th>Constraints</th><th>Description</th></tr>\n");
    for row in rows {
        out.push_str(&row);
    }
    out.push_str("</table>\n");
}

/// One table row per property, nested objects and arrays of objects expanded as
/// `parent.child` and `parent[].child`. `stack` holds the `$ref`s being expanded, so a
/// schema that contains itself is shown once, not forever.
fn field_rows(
    spec: &Value,
    schema: &Value,
    prefix: &str,
    depth: usize,
    stack: &mut Vec<String>,
    rows: &mut Vec<String>,
) {
    if depth > MAX_DEPTH {
        return;
    }
    let reference = schema.get("$ref").and_then(Value::as_str).map(String::from);
    if let Some(r) = &reference {
        if stack.contains(r) {
            return;
        }
        stack.push(r.clone());
    }
    let (s, _) = resolve(spec, schema);
    for part in list(s.get("allOf")) {
        field_rows(spec, part, prefix, depth + 1, stack, rows);
    }
    let required: Vec<&str> = list(s.get("required"))
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    for (name, prop) in object(s.get("properties")) {
        let (p, _) = resolve(spec, prop);
        let full = format!("{prefix}{name}");
        let description = str_at(p, "/description")
            .or_else(|| str_at(prop, "/description"))
            .map(inline)
            .unwrap_or_default();
        rows.push(format!(
            "<tr><td class=\"name\"><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            esc(&full),
            type_label(spec, prop, 0),
            required_label(required.contains(&name.as_str())),
            constraints(spec, p).join("<br>"),
            description
        ));
        if has_fields(spec, p) {
            field_rows(spec, prop, &format!("{full}."), depth + 1, stack, rows);
        } else if let Some(items) = p.get("items").filter(|i| has_fields(spec, i)) {
            field_rows(spec, items, &format!("{full}[]."), depth + 1, stack, rows);
        }
    }
    if prefix.is_empty() && s.get("properties").is_none() {
        // A top-level array of objects: list the item fields.
        if let Some(items) = s.get("items").filter(|i| has_fields(spec, i)) {
            field_rows(spec, items, "[].", depth + 1, stack, rows);
        }
    }
    if reference.is_some() {
        stack.pop();
    }
}

fn has_fields(spec: &Value, schema: &Value) -> bool {
    let (s, _) = resolve(spec, schema);
    s.get("properties")
        .and_then(Value::as_object)
        .is_some_and(|p| !p.is_empty())
        || s.get("allOf").is_some()
}

/// Rules about the object as a whole: at least one of some fields, a minimum number of
/// fields, what happens to unknown fields.
fn object_notes(spec: &Value, s: &Value) -> Vec<String> {
    let mut notes = Vec::new();
    for (keyword, words) in [("anyOf", "at least one"), ("oneOf", "exactly one")] {
        let alternatives = list(s.get(keyword));
        if alternatives.is_empty() {
            continue;
        }
        let only_required: Option<Vec<String>> = alternatives
            .iter()
            .map(|a| {
                let keys = a.as_object()?;
                let req = keys.get("required")?.as_array()?;
                (keys.len() == 1 && req.len() == 1)
                    .then(|| req[0].as_str().map(|f| format!("<code>{}</code>", esc(f))))
                    .flatten()
            })
            .collect();
        match only_required {
            Some(fields) => notes.push(format!("Send {words} of: {}.", fields.join(", "))),
            None => {
                let kinds: Vec<String> = alternatives
                    .iter()
                    .map(|a| type_label(spec, a, 0))
                    .collect();
                notes.push(format!("Must match {words} of: {}.", kinds.join("; ")));
            }
        }
    }
    if let Some(n) = s.get("minProperties").and_then(Value::as_u64) {
        notes.push(format!("At least {n} field(s)."));
    }
    match s.get("additionalProperties") {
        Some(Value::Bool(false)) => notes.push("No other fields are allowed.".to_string()),
        Some(v) if v.is_object() && s.get("properties").is_some() => {
            notes.push(format!("Other fields: {}.", type_label(spec, v, 0)))
        }
        _ => {}
    }
    notes
}

/// A short, escaped type description: `string (date-time)`, `array of Lead`, `number or null`.
fn type_label(spec: &Value, schema: &Value, depth: usize) -> String {
    if depth > MAX_DEPTH {
        return "…".to_string();
    }
    let (s, reference) = resolve(spec, schema);
    let named = reference.map(ref_name);
    if let Some(not) = s.get("not") {
        if not.as_object().is_some_and(Map::is_empty) {
            return "never allowed".to_string();
        }
    }
    let base = match s.get("type").and_then(Value::as_str) {
        Some("array") => {
            let items = s.get("items").unwrap_or(&Value::Null);
            format!("array of {}", type_label(spec, items, depth + 1))
        }
        Some("object") | None if s.get("properties").is_some() || s.get("allOf").is_some() => {
            match &named {
                Some(n) => format!("object <em>{}</em>", esc(n)),
                None => "object".to_string(),
            }
        }
        Some("object") => match s.get("additionalProperties") {
            Some(v) if v.is_object() => {
                format!("map of string → {}", type_label(spec, v, depth + 1))
            }
            _ => "object".to_string(),
        },
        Some(t) => match str_at(s, "/format") {
            Some(f) => format!("{} ({})", esc(t), esc(f)),
            None => esc(t),
        },
        None => {
            let alternatives = list(s.get("anyOf"))
                .iter()
                .chain(list(s.get("oneOf")))
                .map(|a| type_label(spec, a, depth + 1))
                .collect::<Vec<_>>();
            if alternatives.is_empty() {
                "any".to_string()
            } else {
                alternatives.join(" or ")
            }
        }
    };
    if s.get("nullable").and_then(Value::as_bool) == Some(true) {
        format!("{base} or null")
    } else {
        base
    }
}

/// The constraints of a schema, each an escaped HTML fragment.
fn constraints(spec: &Value, schema: &Value) -> Vec<String> {
    let (s, _) = resolve(spec, schema);
    let mut c = Vec::new();
    if let Some(values) = s.get("enum").and_then(Value::as_array) {
        let shown: Vec<String> = values
            .iter()
            .map(|v| format!("<code>{}</code>", esc(&value_text(v))))
            .collect();
        c.push(format!("one of: {}", shown.join(", ")));
    }
    match (
        s.get("minLength").and_then(Value::as_u64),
        s.get("maxLength").and_then(Value::as_u64),
    ) {
        (Some(a), Some(b)) => c.push(format!("{a}–{b} characters")),
        (Some(a), None) => c.push(format!("at least {a} character(s)")),
        (None, Some(b)) => c.push(format!("at most {b} characters")),
        (None, None) => {}
    }
    if let Some(p) = str_at(s, "/pattern") {
        c.push(format!("pattern <code>{}</code>", esc(p)));
    }
    for (keyword, exclusive, op_inclusive, op_exclusive) in [
        ("minimum", "exclusiveMinimum", "≥", ">"),
        ("maximum", "exclusiveMaximum", "≤", "<"),
    ] {
        match (s.get(keyword), s.get(exclusive)) {
            (Some(v), Some(Value::Bool(true))) => {
                c.push(format!("{op_exclusive} {}", esc(&value_text(v))))
            }
            (Some(v), _) => c.push(format!("{op_inclusive} {}", esc(&value_text(v)))),
            // OpenAPI 3.1 / JSON Schema 2019+: the exclusive bound is a number of its own.
            (None, Some(v)) if v.is_number() => {
                c.push(format!("{op_exclusive} {}", esc(&value_text(v))))
            }
            _ => {}
        }
    }
    if let Some(m) = s.get("multipleOf") {
        c.push(format!("multiple of {}", esc(&value_text(m))));
    }
    match (
        s.get("minItems").and_then(Value::as_u64),
        s.get("maxItems").and_then(Value::as_u64),
    ) {
        (Some(a), Some(b)) => c.push(format!("{a}–{b} items")),
        (Some(a), None) => c.push(format!("at least {a} item(s)")),
        (None, Some(b)) => c.push(format!("at most {b} items")),
        (None, None) => {}
    }
    if s.get("uniqueItems").and_then(Value::as_bool) == Some(true) {
        c.push("unique items".to_string());
    }
    if let Some(items) = s.get("items") {
        let inner: Vec<String> = constraints(spec, items)
            .into_iter()
            .filter(|c| !c.starts_with("e.g. "))
            .collect();
        if !inner.is_empty() {
            c.push(format!("each item: {}", inner.join("; ")));
        }
    }
    if let Some(d) = s.get("default") {
        c.push(format!("default <code>{}</code>", esc(&value_text(d))));
    }
    if let Some(e) = s.get("example") {
        c.push(format!("e.g. <code>{}</code>", esc(&value_text(e))));
    }
    c
}

fn example_block(example: &Value, out: &mut String) {
    let text = serde_json::to_string_pretty(example).unwrap_or_default();
    out.push_str(&format!(
        "<details><summary>Example</summary><pre>{}</pre></details>\n",
        esc(&text)
    ));
}

fn required_label(required: bool) -> &'static str {
    if required {
        "<span class=\"req\">required</span>"
    } else {
        "optional"
    }
}

fn server_label(s: &Value) -> String {
    let url = str_at(s, "/url").unwrap_or("/");
    match str_at(s, "/description") {
        Some(d) => format!("<code>{}</code> — {}", esc(url), esc(d)),
        None => format!("<code>{}</code>", esc(url)),
    }
}

/// A server URL and an operation path as one URL, without a doubled slash.
fn join_url(base: &str, path: &str) -> String {
    format!("{}{}", base.trim_end_matches('/'), path)
}

fn scheme_label(scheme: &Value) -> String {
    match str_at(scheme, "/type") {
        Some("apiKey") => format!(
            "API key in the {} <code>{}</code>",
            esc(str_at(scheme, "/in").unwrap_or("header")),
            esc(str_at(scheme, "/name").unwrap_or(""))
        ),
        Some("http") => format!(
            "HTTP {} authentication",
            esc(str_at(scheme, "/scheme").unwrap_or(""))
        ),
        Some(other) => esc(other),
        None => "unspecified".to_string(),
    }
}

/// What a `security` requirement list asks for, in words.
fn security_label(spec: &Value, security: Option<&Value>) -> String {
    let Some(requirements) = security.and_then(Value::as_array) else {
        return "No key needed".to_string();
    };
    let alternatives: Vec<String> = requirements
        .iter()
        .filter_map(Value::as_object)
        .map(|req| {
            if req.is_empty() {
                return "No key needed".to_string();
            }
            let parts: Vec<String> = req
                .keys()
                .map(|name| {
                    let scheme = spec
                        .pointer(&format!(
                            "/components/securitySchemes/{}",
                            pointer_escape(name)
                        ))
                        .map(|s| resolve(spec, s).0);
                    match scheme {
                        Some(s) if str_at(s, "/type") == Some("apiKey") => format!(
                            "<code>{}</code> {}",
                            esc(str_at(s, "/name").unwrap_or(name)),
                            esc(str_at(s, "/in").unwrap_or("header"))
                        ),
                        _ => esc(name),
                    }
                })
                .collect();
            parts.join(" and ")
        })
        .collect();
    if alternatives.is_empty() {
        "No key needed".to_string()
    } else {
        alternatives.join(" or ")
    }
}

/// Follows `$ref`s (local JSON pointers only). Returns the target and the last reference
/// followed, if any; an unresolvable reference yields the reference object itself.
fn resolve<'a>(spec: &'a Value, v: &'a Value) -> (&'a Value, Option<&'a str>) {
    let mut current = v;
    let mut last = None;
    for _ in 0..MAX_REF_HOPS {
        let Some(r) = current.get("$ref").and_then(Value::as_str) else {
            break;
        };
        match r.strip_prefix('#').and_then(|p| spec.pointer(p)) {
            Some(target) => {
                current = target;
                last = Some(r);
            }
            None => break,
        }
    }
    (current, last)
}

/// `#/components/schemas/DocumentResponse/properties/data` → `DocumentResponse.data`.
fn ref_name(r: &str) -> String {
    let tail = r.rsplit_once("/components/").map_or(r, |(_, t)| t);
    let tail = tail.split_once('/').map_or(tail, |(_, t)| t);
    tail.replace("/properties/", ".")
        .replace("/items", "[]")
        .replace("~1", "/")
        .replace("~0", "~")
}

fn pointer_escape(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

fn op_anchor(op: &Op<'_>) -> String {
    match str_at(op.op, "/operationId") {
        Some(id) => anchor("op", id),
        None => anchor("op", &format!("{}-{}", op.method, op.path)),
    }
}

/// An `id` made of ASCII letters, digits and `-`.
fn anchor(kind: &str, text: &str) -> String {
    let mut id = format!("{kind}-");
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            id.push(c.to_ascii_lowercase());
        } else if !id.ends_with('-') {
            id.push('-');
        }
    }
    id.trim_end_matches('-').to_string()
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

fn list(v: Option<&Value>) -> &[Value] {
    v.and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

fn object(v: Option<&Value>) -> Vec<(&String, &Value)> {
    v.and_then(Value::as_object)
        .map(|m| m.iter().collect())
        .unwrap_or_default()
}

/// A JSON value as short text: strings bare, everything else as compact JSON.
fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Escapes text for HTML element content and quoted attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One line of description text: escaped, with `code` spans.
fn inline(text: &str) -> String {
    let escaped = esc(text);
    let parts: Vec<&str> = escaped.split('`').collect();
    let mut out = String::with_capacity(escaped.len() + 16);
    for (i, part) in parts.iter().enumerate() {
        let is_code = i % 2 == 1;
        if is_code && i == parts.len() - 1 {
            // An unmatched backtick stays as it was.
            out.push('`');
            out.push_str(part);
        } else if is_code {
            out.push_str(&format!("<code>{part}</code>"));
        } else {
            out.push_str(part);
        }
    }
    out
}

/// Description text as HTML: blank lines separate paragraphs, lines starting with `- ` are
/// list items, and `code` spans are kept. Everything is escaped.
fn prose(text: &str) -> String {
    let mut out = String::new();
    for block in text.split("\n\n") {
        let mut paragraph: Vec<&str> = Vec::new();
        let mut items: Vec<&str> = Vec::new();
        for line in block.lines() {
            match line.trim_start().strip_prefix("- ") {
                Some(item) => {
                    if !paragraph.is_empty() {
                        out.push_str(&format!("<p>{}</p>\n", inline(&paragraph.join(" "))));
                        paragraph.clear();
                    }
                    items.push(item);
                }
                None => {
                    if !items.is_empty() {
                        list_html(&items, &mut out);
                        items.clear();
                    }
                    if !line.trim().is_empty() {
                        paragraph.push(line.trim());
                    }
                }
            }
        }
        if !paragraph.is_empty() {
            out.push_str(&format!("<p>{}</p>\n", inline(&paragraph.join(" "))));
        }
        if !items.is_empty() {
            list_html(&items, &mut out);
        }
    }
    out
}

fn list_html(items: &[&str], out: &mut String) {
    out.push_str("<ul>\n");
    for item in items {
        out.push_str(&format!("<li>{}</li>\n", inline(item)));
    }
    out.push_str("</ul>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn real_spec() -> Value {
        serde_json::from_str(include_str!("openapi.json")).expect("openapi.json is valid JSON")
    }

    #[test]
    fn renders_every_operation_of_the_real_document() {
        let spec = real_spec();
        let html = render(&spec);
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.ends_with("</html>\n"));
        let paths = spec["paths"].as_object().expect("paths");
        assert!(paths.len() >= 20);
        for (path, item) in paths {
            assert!(
                html.contains(&format!("<span class=\"path\">{}</span>", esc(path))),
                "{path} missing"
            );
            for method in METHODS {
                if let Some(id) = item.get(method).and_then(|o| o["operationId"].as_str()) {
                    assert!(
                        html.contains(&format!("id=\"{}\"", anchor("op", id))),
                        "{id}"
                    );
                }
            }
        }
        // $refs into components are resolved into field tables.
        assert!(html.contains("<code>data.lead_id</code>"));
        assert!(html.contains("<code>customer_name</code>"));
        assert!(html.contains("<code>Idempotency-Key</code>"));
        assert!(html.contains("Send at least one of: <code>customer_name</code>"));
        // No scripts and no external assets.
        assert!(!html.contains("<script"));
        assert!(!html.contains("src=\"http"));
        assert!(!html.contains("<link"));
    }

    #[test]
    fn escapes_every_string_from_the_document() {
        let evil = "<script>alert('x')</script>";
        let spec = json!({
            "openapi": "3.0.3",
            "info": {"title": evil, "version": evil, "description": evil},
            "servers": [{"url": evil, "description": evil}],
            "tags": [{"name": evil, "description": evil}],
            "paths": {
                format!("/x/{evil}"): {
                    "get": {
                        "tags": [evil],
                        "summary": evil,
                        "operationId": evil,
                        "description": format!("`{evil}`"),
                        "parameters": [{"name": evil, "in": "query", "description": evil,
                                        "schema": {"type": "string", "enum": [evil], "pattern": evil}}],
                        "responses": {"200": {"description": evil, "content": {"application/json": {
                            "schema": {"type": "object", "properties": {evil: {"type": "string", "description": evil, "example": evil}}}
                        }}}}
                    }
                }
            }
        });
        let html = render(&spec);
        assert!(!html.contains("<script"), "unescaped: {html}");
        assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
    }

    #[test]
    fn a_schema_that_refers_to_itself_terminates() {
        let spec = json!({
            "openapi": "3.0.3",
            "info": {"title": "t", "version": "1"},
            "paths": {"/n": {"get": {"responses": {"200": {"description": "ok", "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/Node"}}}}}}}},
            "components": {"schemas": {
                "Node": {"type": "object", "properties": {
                    "name": {"type": "string"},
                    "child": {"$ref": "#/components/schemas/Node"},
                    "loop": {"$ref": "#/components/schemas/Loop"}
                }},
                "Loop": {"$ref": "#/components/schemas/Loop"}
            }}
        });
        let html = render(&spec);
        // The field that repeats its parent is listed, not expanded again.
        assert!(html.contains("<code>child</code>"));
        assert!(html.contains("object <em>Node</em>"));
        assert!(!html.contains("child.name"));
        assert!(html.contains("<code>loop</code>"));
    }

    #[test]
    fn prose_keeps_paragraphs_lists_and_code() {
        assert_eq!(
            prose("One `a<b`.\n- x\n- `y`\n\nTwo"),
            "<p>One <code>a&lt;b</code>.</p>\n<ul>\n<li>x</li>\n<li><code>y</code></li>\n</ul>\n<p>Two</p>\n"
        );
        assert_eq!(inline("a ` b"), "a ` b");
        assert_eq!(
            ref_name("#/components/schemas/DocumentResponse/properties/data"),
            "DocumentResponse.data"
        );
        assert_eq!(join_url("/", "/healthz"), "/healthz");
        assert_eq!(join_url("/api/v1", "/leads"), "/api/v1/leads");
    }
}
