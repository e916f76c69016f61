//! Domain types and the validation rules of DESIGN.md, as pure functions: no I/O, no HTTP,
//! no SQL. Everything below `http` takes these validated types, never raw input.

use crate::error::FieldErrors;
use serde_json::{Map, Value};

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Partner,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Partner => "partner",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "partner" => Some(Role::Partner),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// The authenticated caller of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub key_id: i64,
    pub partner_id: i64,
    pub role: Role,
    pub dsa_code: Option<String>,
}

impl Caller {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Whether this caller may see a lead owned by `partner_id`.
    pub fn may_see(&self, partner_id: i64) -> bool {
        self.is_admin() || self.partner_id == partner_id
    }
}

/// The lead lifecycle, in lifecycle order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    New,
    DocumentPending,
    UnderReview,
    Approved,
    Rejected,
    Disbursed,
}

impl Status {
    pub const ALL: [Status; 6] = [
        Status::New,
        Status::DocumentPending,
        Status::UnderReview,
        Status::Approved,
        Status::Rejected,
        Status::Disbursed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::DocumentPending => "document_pending",
            Status::UnderReview => "under_review",
            Status::Approved => "approved",
            Status::Rejected => "rejected",
            Status::Disbursed => "disbursed",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_str() == s)
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, Status::Rejected | Status::Disbursed)
    }

    /// The moves DESIGN.md allows from this status.
    pub fn allowed_next(self) -> &'static [Status] {
        match self {
            Status::New => &[
                Status::DocumentPending,
                Status::UnderReview,
                Status::Rejected,
            ],
            Status::DocumentPending => &[Status::UnderReview, Status::Rejected],
            Status::UnderReview => &[Status::Approved, Status::DocumentPending, Status::Rejected],
            Status::Approved => &[Status::Disbursed, Status::Rejected],
            Status::Rejected | Status::Disbursed => &[],
        }
    }

    pub fn can_move_to(self, to: Status) -> bool {
        self.allowed_next().contains(&to)
    }
}

/// A customer's mobile number: exactly ten ASCII digits, the first 6–9.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mobile(String);

impl Mobile {
    /// Accepts the formats people type: spaces and hyphens anywhere, and a `+91`, `91`
    /// (12 digits in all) or `0` (11 digits in all) prefix.
    pub fn parse(raw: &str) -> Result<Mobile, &'static str> {
        let cleaned: String = raw
            .trim()
            .chars()
            .filter(|c| *c != ' ' && *c != '-')
            .collect();
        let digits = if let Some(rest) = cleaned.strip_prefix("+91") {
            rest
        } else if cleaned.len() == 12 && cleaned.starts_with("91") {
            &cleaned[2..]
        } else if cleaned.len() == 11 && cleaned.starts_with('0') {
            &cleaned[1..]
        } else {
            &cleaned
        };
        let ok = digits.len() == 10
            && digits.bytes().all(|b| b.is_ascii_digit())
            && matches!(digits.as_bytes()[0], b'6'..=b'9');
        if ok {
            Ok(Mobile(digits.to_string()))
        } else {
            Err("must be a 10-digit Indian mobile number starting with 6, 7, 8 or 9 (an optional +91, 91 or 0 prefix is allowed)")
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Rupees held as integer paise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Money(i64);

/// The largest loan amount accepted: ₹1,000,000,000.
pub const MAX_AMOUNT_PAISE: i64 = 1_000_000_000 * 100;

impl Money {
    pub fn from_paise(p: i64) -> Money {
        Money(p)
    }

    pub fn paise(self) -> i64 {
        self.0
    }

    /// Parses a JSON number as written (not through a float): at most two decimals, more
    /// than zero and at most ₹1,000,000,000.
    pub fn parse_json(v: &Value) -> Result<Money, &'static str> {
        let Value::Number(n) = v else {
            return Err("must be a number");
        };
        let paise = decimal_to_paise(&n.to_string()).ok_or("must have at most 2 decimal places")?;
        if paise <= 0 {
            return Err("must be greater than 0");
        }
        if paise > MAX_AMOUNT_PAISE as i128 {
            return Err("must be at most 1000000000");
        }
        Ok(Money(paise as i64))
    }

    /// A JSON number: an integer when whole, else rupees with the decimals it has.
    pub fn to_json(self) -> Value {
        if self.0 % 100 == 0 {
            Value::from(self.0 / 100)
        } else {
            // x/100 for |x| < 2^53 prints as its two-decimal literal (shortest round trip).
            Value::from(self.0 as f64 / 100.0)
        }
    }
}

/// Exact decimal → paise. `None` when the number has a non-zero digit past the second
/// decimal. Saturates far out-of-range values so the caller's range check refuses them.
fn decimal_to_paise(s: &str) -> Option<i128> {
    let (neg, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (mantissa, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], s[i + 1..].parse::<i64>().ok()?),
        None => (s, 0),
    };
    let (int, frac) = match mantissa.find('.') {
        Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
        None => (mantissa, ""),
    };
    let mut digits: String = format!("{int}{frac}");
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // value = digits × 10^(exp - frac.len()); paise = digits × 10^(exp - frac.len() + 2).
    let mut shift = exp.checked_sub(frac.len() as i64)?.checked_add(2)?;
    while shift < 0 {
        if !digits.ends_with('0') {
            return if digits.bytes().all(|b| b == b'0') {
                Some(0)
            } else {
                None
            };
        }
        digits.pop();
        shift += 1;
    }
    let trimmed = digits.trim_start_matches('0');
    if trimmed.is_empty() {
        return Some(0);
    }
    if trimmed.len() as i64 + shift > 30 {
        return Some(if neg { -i128::MAX } else { i128::MAX });
    }
    let mut value: i128 = trimmed.parse().ok()?;
    for _ in 0..shift {
        value *= 10;
    }
    Some(if neg { -value } else { value })
}

/// Unicode's formatting characters (Cf): invisible, and able to make a name read as
/// something else on a back-office screen (bidirectional overrides), or pass a length rule
/// with nothing to see (zero-width spaces). The zero-width joiner and non-joiner are not
/// among them: Indic scripts need them.
pub(crate) fn is_invisible_format(c: char) -> bool {
    use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
    c.general_category() == GeneralCategory::Format && !matches!(c, '\u{200C}' | '\u{200D}')
}

fn has_control(s: &str) -> bool {
    s.chars().any(|c| c.is_control() || is_invisible_format(c))
}

/// 2–100 characters of any script after trimming; no control or invisible formatting
/// characters; at least one letter.
pub fn parse_customer_name(v: &Value) -> Result<String, &'static str> {
    let Value::String(s) = v else {
        return Err("must be a string");
    };
    let name = s.trim();
    let n = name.chars().count();
    if n < 2 {
        return Err("must be at least 2 characters");
    }
    if n > 100 {
        return Err("must be at most 100 characters");
    }
    if has_control(name) {
        return Err("must not contain control or invisible formatting characters");
    }
    if !name.chars().any(char::is_alphabetic) {
        return Err("must contain letters, not only digits or punctuation");
    }
    Ok(name.to_string())
}

/// An email address in the form the contract's `format: email` means (RFC 5321, ASCII): a
/// dot-atom local part of at most 64 characters, one `@`, and a host name of at least two
/// dot-separated labels (letters, digits and inner hyphens, 1-63 characters each; no
/// `ab--` label other than `xn--`), at most 254 characters in all. Surrounding whitespace is
/// trimmed first. The domain is lowercased; the local part is kept as given.
pub fn parse_email(v: &Value) -> Result<String, &'static str> {
    let Value::String(s) = v else {
        return Err("must be a string");
    };
    const BAD: &str = "must be a valid email address";
    let s = s.trim();
    if s.chars().count() > 254 {
        return Err("must be at most 254 characters");
    }
    let Some((local, domain)) = s.split_once('@') else {
        return Err(BAD);
    };
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c);
    let local_ok = local.len() <= 64
        && local
            .split('.')
            .all(|a| !a.is_empty() && a.chars().all(atext));
    let label_ok = |l: &str| {
        (1..=63).contains(&l.len())
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
            && (l.get(2..4) != Some("--") || l[..2].eq_ignore_ascii_case("xn"))
    };
    let domain_ok = domain.len() <= 253 && domain.contains('.') && domain.split('.').all(label_ok);
    if !local_ok || !domain_ok {
        return Err(BAD);
    }
    Ok(format!("{local}@{}", domain.to_ascii_lowercase()))
}

/// 1–100 characters after trimming, no control or invisible formatting characters.
pub fn parse_city(v: &Value) -> Result<String, &'static str> {
    let Value::String(s) = v else {
        return Err("must be a string");
    };
    let city = s.trim();
    let n = city.chars().count();
    if n == 0 {
        return Err("must not be empty");
    }
    if n > 100 {
        return Err("must be at most 100 characters");
    }
    if has_control(city) {
        return Err("must not contain control or invisible formatting characters");
    }
    Ok(city.to_string())
}

/// 3–32 of `A-Z 0-9 _ -`, uppercased.
pub fn parse_dsa_code(v: &Value) -> Result<String, &'static str> {
    let Value::String(s) = v else {
        return Err("must be a string");
    };
    let code = s.trim().to_ascii_uppercase();
    let ok = (3..=32).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(code)
    } else {
        Err("must be 3-32 characters of A-Z, 0-9, _ or -")
    }
}

pub fn parse_mobile(v: &Value) -> Result<Mobile, &'static str> {
    match v {
        Value::String(s) => Mobile::parse(s),
        _ => Err("must be a string"),
    }
}

/// A create-lead body after the field rules; `product` is still the caller's text, resolved
/// against the product master by `app`.
#[derive(Debug, Clone, PartialEq)]
pub struct NewLead {
    pub product: String,
    pub customer_name: String,
    pub mobile: Mobile,
    pub email: Option<String>,
    pub loan_amount: Option<Money>,
    pub city: Option<String>,
    pub dsa_code: Option<String>,
}

fn required<'a>(
    obj: &'a Map<String, Value>,
    field: &str,
    errs: &mut FieldErrors,
) -> Option<&'a Value> {
    match obj.get(field) {
        None | Some(Value::Null) => {
            errs.add(field, "is required");
            None
        }
        Some(v) => Some(v),
    }
}

fn check<T>(field: &str, r: Result<T, &str>, errs: &mut FieldErrors) -> Option<T> {
    r.map_err(|m| errs.add(field, m)).ok()
}

fn optional<T>(
    obj: &Map<String, Value>,
    field: &str,
    parse: impl Fn(&Value) -> Result<T, &'static str>,
    errs: &mut FieldErrors,
) -> Option<T> {
    match obj.get(field) {
        None | Some(Value::Null) => None,
        Some(v) => check(field, parse(v), errs),
    }
}

/// Applies every create rule; on failure `errs` holds all problems found. Unknown fields are
/// ignored.
pub fn parse_new_lead(obj: &Map<String, Value>, errs: &mut FieldErrors) -> Option<NewLead> {
    let product = required(obj, "product", errs).and_then(|v| match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::String(_) => {
            errs.add("product", "is required");
            None
        }
        _ => {
            errs.add("product", "must be a string");
            None
        }
    });
    let customer_name = required(obj, "customer_name", errs)
        .and_then(|v| check("customer_name", parse_customer_name(v), errs));
    let mobile = required(obj, "mobile", errs).and_then(|v| check("mobile", parse_mobile(v), errs));
    let email = optional(obj, "email", parse_email, errs);
    let loan_amount = optional(obj, "loan_amount", Money::parse_json, errs);
    let city = optional(obj, "city", parse_city, errs);
    let dsa_code = optional(obj, "dsa_code", parse_dsa_code, errs);
    Some(NewLead {
        product: product?,
        customer_name: customer_name?,
        mobile: mobile?,
        email,
        loan_amount,
        city,
        dsa_code,
    })
}

/// A field of a PATCH: absent, set to a value, or (`null`) cleared.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Change<T> {
    #[default]
    Keep,
    Set(T),
    Clear,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct LeadUpdate {
    pub customer_name: Option<String>,
    pub loan_amount: Change<Money>,
    pub city: Change<String>,
    pub email: Change<String>,
}

/// Fields a PATCH may never change; naming one is a 422 on that field.
pub const IMMUTABLE_LEAD_FIELDS: [&str; 6] = [
    "mobile",
    "product",
    "status",
    "lead_id",
    "dsa_code",
    "created_at",
];

fn change<T>(
    obj: &Map<String, Value>,
    field: &str,
    parse: impl Fn(&Value) -> Result<T, &'static str>,
    errs: &mut FieldErrors,
) -> Change<T> {
    match obj.get(field) {
        None => Change::Keep,
        Some(Value::Null) => Change::Clear,
        Some(v) => check(field, parse(v), errs).map_or(Change::Keep, Change::Set),
    }
}

pub fn parse_lead_update(obj: &Map<String, Value>, errs: &mut FieldErrors) -> LeadUpdate {
    for f in IMMUTABLE_LEAD_FIELDS {
        if obj.contains_key(f) {
            errs.add(f, "cannot be changed");
        }
    }
    let customer_name = match obj.get("customer_name") {
        None => None,
        Some(Value::Null) => {
            errs.add("customer_name", "cannot be cleared");
            None
        }
        Some(v) => check("customer_name", parse_customer_name(v), errs),
    };
    let update = LeadUpdate {
        customer_name,
        loan_amount: change(obj, "loan_amount", Money::parse_json, errs),
        city: change(obj, "city", parse_city, errs),
        email: change(obj, "email", parse_email, errs),
    };
    let named = ["customer_name", "loan_amount", "city", "email"]
        .iter()
        .any(|f| obj.contains_key(*f));
    if !named && errs.is_empty() {
        errs.add(
            "body",
            "must contain at least one of customer_name, loan_amount, city, email",
        );
    }
    update
}

pub const NOTE_TYPES: [&str; 4] = [
    "note",
    "follow_up",
    "customer_conversation",
    "rm_communication",
];

#[derive(Debug, Clone, PartialEq)]
pub struct NewNote {
    pub note: String,
    pub note_type: String,
}

/// Whether a note's text holds a control character other than a line break or a tab, or an
/// invisible formatting character (as names may not).
pub fn note_has_control(t: &str) -> bool {
    t.chars()
        .any(|c| (c.is_control() && c != '\n' && c != '\r' && c != '\t') || is_invisible_format(c))
}

/// The 422 reason for `note_has_control`.
pub const NOTE_CONTROL: &str = "must not contain control or invisible formatting characters";

pub fn parse_new_note(obj: &Map<String, Value>) -> Result<NewNote, FieldErrors> {
    let mut errs = FieldErrors::new();
    let note = required(obj, "note", &mut errs).and_then(|v| match v {
        Value::String(s) => {
            let t = s.trim();
            let n = t.chars().count();
            if n == 0 {
                errs.add("note", "must not be empty");
                None
            } else if n > 2000 {
                errs.add("note", "must be at most 2000 characters");
                None
            } else if note_has_control(t) {
                errs.add("note", NOTE_CONTROL);
                None
            } else {
                Some(t.to_string())
            }
        }
        _ => {
            errs.add("note", "must be a string");
            None
        }
    });
    let note_type = match obj.get("type") {
        None | Some(Value::Null) => Some("note".to_string()),
        Some(Value::String(s)) if NOTE_TYPES.contains(&s.as_str()) => Some(s.clone()),
        Some(_) => {
            errs.add(
                "type",
                "must be one of note, follow_up, customer_conversation, rm_communication",
            );
            None
        }
    };
    match (note, note_type) {
        (Some(note), Some(note_type)) if errs.is_empty() => Ok(NewNote { note, note_type }),
        _ => Err(errs),
    }
}

/// Document statuses; `uploaded` is set on upload, the others by an admin.
pub const DOCUMENT_STATUSES: [&str; 3] = ["uploaded", "verified", "rejected"];

/// The file kinds accepted by default, judged by their first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Pdf,
    Jpeg,
    Png,
}

impl FileKind {
    pub fn sniff(head: &[u8]) -> Option<FileKind> {
        if head.starts_with(b"%PDF-") {
            Some(FileKind::Pdf)
        } else if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(FileKind::Jpeg)
        } else if head.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
            Some(FileKind::Png)
        } else {
            None
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            FileKind::Pdf => "application/pdf",
            FileKind::Jpeg => "image/jpeg",
            FileKind::Png => "image/png",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            FileKind::Pdf => "pdf",
            FileKind::Jpeg => "jpg",
            FileKind::Png => "png",
        }
    }
}

/// A client's filename reduced to something safe to show and to put in a header: the last
/// path component, at most 100 characters, in any script. Control characters, formatting
/// characters (Unicode's Cf: among them the bidirectional overrides that make `gpj.exe`
/// read as `exe.jpg`, zero-width spaces and tag characters; only the zero-width joiner and
/// non-joiner, which Indic scripts need, stay), other whitespace than the plain space, and
/// the characters that mean something in a path or a header (`/ \ " : * ? < > |`) become
/// `_`; leading dots and spaces go. A name that keeps nothing else is `document.<ext>`.
pub fn sanitize_filename(raw: Option<&str>, kind: FileKind) -> String {
    let base = raw.unwrap_or("").rsplit(['/', '\\']).next().unwrap_or("");
    let clean: String = base
        .chars()
        .map(|c| if filename_char(c) { c } else { '_' })
        .collect();
    let count = clean.chars().count();
    // Over 100 characters: keep the end, where the extension is; then trim what the cut
    // may have brought to the front.
    let clean: String = clean.chars().skip(count.saturating_sub(100)).collect();
    let clean = clean.trim_start_matches(['.', ' ']).trim_end_matches(' ');
    if clean.trim_matches(['_', ' ', '.']).is_empty() {
        format!("document.{}", kind.extension())
    } else {
        clean.to_string()
    }
}

fn filename_char(c: char) -> bool {
    !(c.is_control()
        || is_invisible_format(c)
        || (c.is_whitespace() && c != ' ')
        || matches!(c, '/' | '\\' | '"' | ':' | '*' | '?' | '<' | '>' | '|'))
}

/// The name a download is saved under: the stored filename, with the extension of the
/// file's detected type added when its own does not name that type (`report.html` holding
/// a PDF is saved as `report.html.pdf`, so no saved file opens as something it is not).
pub fn download_name(filename: &str, content_type: &str) -> String {
    let fits: &[&str] = match content_type {
        "application/pdf" => &["pdf"],
        "image/jpeg" => &["jpg", "jpeg"],
        "image/png" => &["png"],
        _ => return filename.to_string(),
    };
    let ext = filename
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    if fits.contains(&ext.as_str()) {
        filename.to_string()
    } else {
        format!("{filename}.{}", fits[0])
    }
}

/// `Content-Disposition: attachment` for a stored filename (RFC 6266): an ASCII `filename`
/// for old clients (other characters, and `%`, which some of them decode, as `_`), and the
/// exact name as UTF-8 in `filename*` when the plain one is not exact.
pub fn attachment_disposition(filename: &str) -> String {
    let ascii: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() && c != '%' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if ascii == filename {
        return format!("attachment; filename=\"{filename}\"");
    }
    let mut encoded = String::new();
    for byte in filename.bytes() {
        // RFC 8187 attr-char; every other byte percent-encoded.
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// A product of the master, with the document types a lead for it needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Product {
    pub code: String,
    pub name: String,
    pub category: String,
    pub status: String,
    pub required_documents: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StatusInfo {
    pub code: String,
    pub label: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LenderMapping {
    pub product_code: String,
    pub lender_name: String,
    pub status: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rm {
    pub id: i64,
    pub name: String,
    pub mobile: String,
    pub email: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DocumentType {
    pub code: String,
    pub name: String,
}

/// A stored lead. Times are milliseconds since the Unix epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct Lead {
    pub row: i64,
    pub lead_id: String,
    pub partner_id: i64,
    pub product_code: String,
    pub product_name: String,
    pub customer_name: String,
    pub mobile: String,
    pub email: Option<String>,
    pub loan_amount: Option<Money>,
    pub city: Option<String>,
    pub dsa_code: Option<String>,
    pub status: Status,
    pub rm: Option<Rm>,
    pub lender_name: Option<String>,
    pub lender_status: Option<String>,
    pub approved_amount: Option<Money>,
    pub disbursement_status: String,
    pub disbursement_date: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct JourneyEntry {
    pub from_status: Option<String>,
    pub status: String,
    pub note: String,
    pub key_id: Option<i64>,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub row: i64,
    pub document_id: String,
    pub lead_row: i64,
    pub document_type: String,
    pub status: String,
    pub sha256: String,
    pub size: i64,
    pub content_type: String,
    pub filename: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Note {
    pub id: i64,
    pub note_type: String,
    pub note: String,
    pub key_id: i64,
    pub created_at: i64,
}

/// An API key as listed to an operator (never the secret).
#[derive(Debug, Clone, PartialEq)]
pub struct KeyInfo {
    pub id: i64,
    pub partner: String,
    pub role: Role,
    pub dsa_code: Option<String>,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

/// One line of a lead's audit trail. `old_value`/`new_value` hold JSON text.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AuditEntry {
    pub action: String,
    pub field: Option<String>,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub detail: Option<String>,
    pub key_id: Option<i64>,
    pub at: i64,
}

/// The local day (`YYYYMMDD`) of an instant in milliseconds, at the office's UTC offset.
pub fn local_day(ms: i64, offset: chrono::FixedOffset) -> String {
    local_time(ms, offset).format("%Y%m%d").to_string()
}

/// The local date (`YYYY-MM-DD`) of an instant, at the office's UTC offset.
pub fn local_date(ms: i64, offset: chrono::FixedOffset) -> String {
    local_time(ms, offset).format("%Y-%m-%d").to_string()
}

/// RFC 3339 with the office's offset, to the second: `2026-05-18T10:42:07+05:30`.
pub fn rfc3339(ms: i64, offset: chrono::FixedOffset) -> String {
    local_time(ms, offset).to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

fn local_time(ms: i64, offset: chrono::FixedOffset) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .with_timezone(&offset)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn mobiles() {
        for (raw, want) in [
            ("9876543210", Some("9876543210")),
            ("+91 98765 43210", Some("9876543210")),
            ("+919876543210", Some("9876543210")),
            ("919876543210", Some("9876543210")),
            ("09876543210", Some("9876543210")),
            ("98765-43210", Some("9876543210")),
            ("9127723529", Some("9127723529")),
            ("5876543210", None),
            ("987654321", None),
            ("98765432101", None),
            ("+9198765432", None),
            ("９８７６５４３２１０", None),
            ("", None),
        ] {
            assert_eq!(
                Mobile::parse(raw).ok().map(|m| m.0),
                want.map(String::from),
                "{raw}"
            );
        }
    }

    #[test]
    fn money() {
        let p = |s: &str| Money::parse_json(&serde_json::from_str::<Value>(s).unwrap());
        assert_eq!(p("500000"), Ok(Money(50_000_000)));
        assert_eq!(p("19.99"), Ok(Money(1999)));
        assert_eq!(p("0.01"), Ok(Money(1)));
        assert_eq!(p("5e5"), Ok(Money(50_000_000)));
        assert_eq!(p("1000000000"), Ok(Money(MAX_AMOUNT_PAISE)));
        assert_eq!(p("10.50"), Ok(Money(1050)));
        assert!(p("1000000000.01").is_err());
        assert!(p("19.999").is_err());
        assert!(p("0").is_err());
        assert!(p("-5").is_err());
        assert!(p("1e400").is_err());
        assert!(p("\"500\"").is_err());
        assert_eq!(Money(1999).to_json(), json!(19.99));
        assert_eq!(Money(50_000_000).to_json().to_string(), "500000");
        assert_eq!(Money(1050).to_json().to_string(), "10.5");
    }

    /// The served contract's patterns for names, cities and notes leave out exactly the characters
    /// the server refuses: every control character and every invisible formatting one (as
    /// this build's Unicode tables say), so that a client checking the pattern is never
    /// told yes where the server says no.
    #[test]
    fn served_name_patterns_exclude_every_invisible_formatting_character() {
        let mut class = String::new();
        let mut runs: Vec<(char, char)> = Vec::new();
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            if !is_invisible_format(c) {
                continue;
            }
            match runs.last_mut() {
                Some((_, end)) if *end as u32 + 1 == c as u32 => *end = c,
                _ => runs.push((c, c)),
            }
        }
        let one = |c: char| {
            if (c as u32) < 0x10000 {
                format!("\\u{:04x}", c as u32)
            } else {
                c.to_string()
            }
        };
        for (a, b) in &runs {
            class.push_str(&one(*a));
            if a != b {
                class.push('-');
                class.push_str(&one(*b));
            }
        }
        assert!(class.starts_with("\\u00ad"), "{class}");
        let spec: Value =
            serde_json::from_str(include_str!("http/openapi.json")).expect("valid JSON");
        let mut checked = 0;
        for (_, schema) in spec["components"]["schemas"].as_object().expect("schemas") {
            for field in ["customer_name", "city", "note"] {
                let Some(pattern) = schema["properties"][field]["pattern"].as_str() else {
                    continue;
                };
                let controls = pattern.matches("\\x7f-\\x9f").count();
                let with_class = pattern.matches(&format!("\\x7f-\\x9f{class}")).count();
                assert!(controls > 0, "{pattern}");
                assert_eq!(with_class, controls, "{field}: {pattern}");
                checked += 1;
            }
        }
        // Names and cities of a create and an update, and a note.
        assert_eq!(checked, 5);
    }

    #[test]
    fn names_and_emails() {
        assert_eq!(
            parse_customer_name(&json!("  प्रिया वर्मा ")),
            Ok("प्रिया वर्मा".into())
        );
        assert!(parse_customer_name(&json!("A")).is_err());
        assert!(parse_customer_name(&json!("12345")).is_err());
        assert!(parse_customer_name(&json!("Ab\u{0007}c")).is_err());
        assert!(parse_customer_name(&json!("\u{202E}evil name")).is_err());
        // Invisible characters do not make up a name's two characters, nor hide in a city.
        assert_eq!(
            parse_customer_name(&json!("\u{200B}\u{200B}A")),
            Err("must not contain control or invisible formatting characters")
        );
        assert!(parse_customer_name(&json!("Ra\u{2060}hul")).is_err());
        assert!(parse_city(&json!("Pu\u{FEFF}ne")).is_err());
        assert_eq!(parse_city(&json!(" Pune ")), Ok("Pune".into()));
        // Notes too (line breaks and tabs stay allowed, and emoji joined by a ZWJ).
        let note =
            |t: &str| parse_new_note(json!({"note": t}).as_object().unwrap()).map(|n| n.note);
        assert!(note("\u{200B}").is_err());
        assert!(note("Call\u{00AD}back").is_err());
        assert!(note("esc\u{1b}[31m").is_err());
        assert_eq!(
            note("Line one\n\tline two 👨\u{200D}👩"),
            Ok("Line one\n\tline two 👨\u{200D}👩".into())
        );
        assert!(
            parse_customer_name(&json!("क्\u{200D}ष")).is_ok(),
            "ZWJ stays allowed"
        );
        assert_eq!(
            parse_email(&json!("A.b+x@Example.COM")),
            Ok("A.b+x@example.com".into())
        );
        assert!(parse_email(&json!("a@b")).is_err());
        assert!(parse_email(&json!("a@@b.com")).is_err());
        assert!(parse_email(&json!("a b@c.com")).is_err());
        assert_eq!(
            parse_email(&json!(" o'neil.k{1}@Mail-1.Example.co.in ")),
            Ok("o'neil.k{1}@mail-1.example.co.in".into())
        );
        assert_eq!(
            parse_email(&json!("a@xn--80ak6aa92e.com")),
            Ok("a@xn--80ak6aa92e.com".into())
        );
        for bad in [
            "\u{de}@\u{b3}\u{e4}.n\u{ed}.70",
            "r\u{e4}hul@example.com",
            "rahul@ex\u{e4}mple.com",
            ".a@b.com",
            "a.@b.com",
            "a..b@c.com",
            "\"a b\"@c.com",
            "a@[1.2.3.4]",
            "a@-b.com",
            "a@b-.com",
            "a@b_c.com",
            "a@ab--cd.com",
            "a@b.com.",
            "a@b..com",
        ] {
            assert!(parse_email(&json!(bad)).is_err(), "{bad}");
        }
        assert!(parse_email(&json!(format!("{}@b.co", "a".repeat(65)))).is_err());
        assert!(parse_email(&json!(format!("a@{}.co", "b".repeat(64)))).is_err());
        assert_eq!(parse_dsa_code(&json!("dsa-12")), Ok("DSA-12".into()));
        assert!(parse_dsa_code(&json!("ab")).is_err());
    }

    #[test]
    fn lifecycle() {
        assert!(Status::New.can_move_to(Status::DocumentPending));
        assert!(Status::UnderReview.can_move_to(Status::DocumentPending));
        assert!(!Status::New.can_move_to(Status::Disbursed));
        assert!(Status::Rejected.allowed_next().is_empty());
    }

    #[test]
    fn filenames() {
        let pdf = |name: &str| sanitize_filename(Some(name), FileKind::Pdf);
        assert_eq!(pdf("../../etc/passwd"), "passwd");
        assert_eq!(pdf("C:\\Users\\asha\\pan.pdf"), "pan.pdf");
        assert_eq!(pdf("my pan\".pdf"), "my pan_.pdf");
        assert_eq!(pdf("पैन कार्ड.pdf"), "पैन कार्ड.pdf");
        assert_eq!(pdf("ஆதார் அட்டை.jpg"), "ஆதார் அட்டை.jpg");
        assert_eq!(pdf("  .hidden.pdf "), "hidden.pdf");
        assert_eq!(pdf("a\tb\nc\r.pdf"), "a_b_c_.pdf");
        assert_eq!(pdf("invoice\u{202E}fdp.exe"), "invoice_fdp.exe");
        assert_eq!(pdf("zero\u{200B}width.pdf"), "zero_width.pdf");
        assert_eq!(pdf("a:b*c?d<e>f|g.pdf"), "a_b_c_d_e_f_g.pdf");
        assert_eq!(
            pdf(&format!("{}.pdf", "क".repeat(150))).chars().count(),
            100
        );
        assert!(pdf(&format!("{}.pdf", "क".repeat(150))).ends_with("क.pdf"));
        // The cut to 100 characters can bring a dot to the front: it goes too.
        let cut = pdf(&format!("{}.{}", "a".repeat(50), "b".repeat(99)));
        assert_eq!(cut, "b".repeat(99));
        // Every formatting character (Cf) goes, tag characters and the rest of U+206x too;
        // the joiners Indic scripts need stay.
        assert_eq!(
            pdf("a\u{E0001}b\u{E0041}c\u{206A}d\u{1D173}e\u{13430}f\u{0600}.pdf"),
            "a_b_c_d_e_f_.pdf"
        );
        assert_eq!(pdf("क्\u{200D}ष\u{200C}.pdf"), "क्\u{200D}ष\u{200C}.pdf");
        for empty in ["", "...", " ", "\u{202E}", "../"] {
            assert_eq!(pdf(empty), "document.pdf", "{empty:?}");
        }
        assert_eq!(sanitize_filename(None, FileKind::Png), "document.png");
    }

    #[test]
    fn downloads_are_named_for_what_they_hold() {
        assert_eq!(download_name("pan.pdf", "application/pdf"), "pan.pdf");
        assert_eq!(download_name("Scan.PDF", "application/pdf"), "Scan.PDF");
        assert_eq!(download_name("a.jpeg", "image/jpeg"), "a.jpeg");
        assert_eq!(download_name("a.JPG", "image/jpeg"), "a.JPG");
        assert_eq!(
            download_name("report.html", "application/pdf"),
            "report.html.pdf"
        );
        assert_eq!(download_name("run.bat", "image/png"), "run.bat.png");
        assert_eq!(
            download_name("a.pdf.lnk", "application/pdf"),
            "a.pdf.lnk.pdf"
        );
        assert_eq!(download_name("scan", "image/jpeg"), "scan.jpg");
    }

    #[test]
    fn attachment_dispositions() {
        assert_eq!(
            attachment_disposition("pan card.pdf"),
            "attachment; filename=\"pan card.pdf\""
        );
        assert_eq!(
            attachment_disposition("पैन.pdf"),
            "attachment; filename=\"___.pdf\"; filename*=UTF-8''%E0%A4%AA%E0%A5%88%E0%A4%A8.pdf"
        );
        assert_eq!(
            attachment_disposition("a b'c.pdf\u{e9}"),
            "attachment; filename=\"a b'c.pdf_\"; filename*=UTF-8''a%20b%27c.pdf%C3%A9"
        );
        // A % that some clients would decode is not sent bare.
        assert_eq!(
            attachment_disposition("a%20b.pdf"),
            "attachment; filename=\"a_20b.pdf\"; filename*=UTF-8''a%2520b.pdf"
        );
    }
}
