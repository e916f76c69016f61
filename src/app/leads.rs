//! Lead use cases: create, view, update, journey, status, disbursement, RM, notes, and
//! document review. Visibility: a partner key sees only its partner's leads; any other lead
//! is a 404 exactly like a missing one.

use super::idempotency::{idempotent, Created, IdemRequest};
use super::{now_ms, App};
use crate::db::{self, Conn};
use crate::error::{Error, FieldErrors, Result};
use crate::model::{
    parse_lead_update, parse_new_lead, parse_new_note, AuditEntry, Caller, Change, Document,
    JourneyEntry, Lead, Money, NewLead, Note, Product, Status,
};
use serde_json::{Map, Value};

pub const LEAD_NOT_FOUND: &str = "Lead not found.";

/// The lead `lead_id` if the caller may see it.
pub fn visible_lead(c: &Conn, caller: &Caller, lead_id: &str) -> Result<Lead> {
    match db::leads::find(c, lead_id)? {
        Some(lead) if caller.may_see(lead.partner_id) => Ok(lead),
        _ => Err(Error::NotFound(LEAD_NOT_FOUND.into())),
    }
}

/// "Documents required: PAN, AADHAAR."
fn documents_required_note(types: &[String]) -> String {
    format!("Documents required: {}.", types.join(", "))
}

/// Appends one line to the lead's audit trail.
pub(super) fn audit(
    c: &Conn,
    row: i64,
    key_id: Option<i64>,
    now: i64,
    entry: AuditEntry,
) -> Result<()> {
    db::audit::insert(
        c,
        row,
        &AuditEntry {
            key_id,
            at: now,
            ..entry
        },
    )
}

/// An audit line for a field change, old and new as JSON text.
pub(super) fn field_change(action: &str, field: &str, old: Value, new: Value) -> AuditEntry {
    AuditEntry {
        action: action.into(),
        field: Some(field.into()),
        old_value: Some(old.to_string()),
        new_value: Some(new.to_string()),
        ..Default::default()
    }
}

/// Appends an audit line for each (field, old, new) whose value changed.
pub(super) fn audit_changes(
    c: &Conn,
    row: i64,
    key_id: Option<i64>,
    now: i64,
    action: &str,
    changes: Vec<(&str, Value, Value)>,
) -> Result<()> {
    for (field, old, new) in changes {
        if old != new {
            audit(c, row, key_id, now, field_change(action, field, old, new))?;
        }
    }
    Ok(())
}

/// The lead as it now stands inside the current write.
pub(super) fn reload(c: &Conn, lead_id: &str) -> Result<Lead> {
    db::leads::find(c, lead_id)?.ok_or_else(|| Error::internal("lead vanished"))
}

/// Moves the lead and appends the journey entry and audit line; the caller has checked the
/// move.
pub(super) fn move_status(
    c: &Conn,
    lead: &mut Lead,
    to: Status,
    note: &str,
    key_id: Option<i64>,
    now: i64,
) -> Result<()> {
    db::leads::set_status(c, lead.row, to, now)?;
    db::leads::add_journey(c, lead.row, Some(lead.status), to, note, key_id, now)?;
    let mut entry = field_change(
        "status",
        "status",
        lead.status.as_str().into(),
        to.as_str().into(),
    );
    entry.detail = Some(note.to_string());
    audit(c, lead.row, key_id, now, entry)?;
    lead.status = to;
    lead.updated_at = now;
    Ok(())
}

/// Puts the lead where its pending document set says: `document_pending` while types are
/// awaited (from `new` or `under_review`), `under_review` once none are.
pub(super) fn settle_documents(c: &Conn, lead: &mut Lead, key_id: i64, now: i64) -> Result<()> {
    let pending = db::leads::pending_documents(c, lead.row)?;
    match lead.status {
        Status::DocumentPending if pending.is_empty() => move_status(
            c,
            lead,
            Status::UnderReview,
            "All required documents received.",
            Some(key_id),
            now,
        ),
        Status::New | Status::UnderReview if !pending.is_empty() => {
            let note = documents_required_note(&pending);
            move_status(c, lead, Status::DocumentPending, &note, Some(key_id), now)
        }
        _ => Ok(()),
    }
}

pub fn create_lead(
    app: &App,
    caller: &Caller,
    body: &Map<String, Value>,
    idem: Option<IdemRequest<Lead>>,
) -> Result<Created<Lead>> {
    idempotent(app, caller, idem, |store| {
        create_lead_once(app, caller, body, store)
    })
}

/// A new lead's body judged field by field: every problem, and when there is none, what
/// the lead is made of (its input, its product and its DSA code).
type CheckedLead = (FieldErrors, Option<(NewLead, Product, Option<String>)>);

fn check_new_lead(app: &App, caller: &Caller, body: &Map<String, Value>) -> Result<CheckedLead> {
    let mut errs = FieldErrors::new();
    let input = parse_new_lead(body, &mut errs);
    let product_text = match body.get("product") {
        Some(Value::String(p)) if !p.trim().is_empty() => Some(p.trim().to_string()),
        _ => None,
    };
    let product = match &product_text {
        Some(p) => app.db.read(|c| db::masters::find_active_product(c, p))?,
        None => None,
    };
    if product.is_none() && !errs.has("product") {
        errs.add(
            "product",
            "must be the name or code of an active product (see GET /api/v1/products)",
        );
    }
    // Judged on its own, so that a foreign code is reported with any other field errors.
    let mut dsa_code = match body.get("dsa_code") {
        Some(v) if !v.is_null() => crate::model::parse_dsa_code(v).ok(),
        _ => None,
    };
    if let Some(bound) = &caller.dsa_code {
        match &dsa_code {
            Some(given) if given != bound => {
                errs.add("dsa_code", format!("this key is bound to DSA code {bound}"))
            }
            _ => dsa_code = Some(bound.clone()),
        }
    }
    let lead = match (input, product) {
        (Some(input), Some(product)) if errs.is_empty() => Some((input, product, dsa_code)),
        _ => None,
    };
    Ok((errs, lead))
}

/// The field errors of a new lead's body, creating nothing (to report them together with a
/// malformed `Idempotency-Key`).
pub fn lead_field_errors(
    app: &App,
    caller: &Caller,
    body: &Map<String, Value>,
) -> Result<FieldErrors> {
    Ok(check_new_lead(app, caller, body)?.0)
}

/// The field errors of a new note's body.
pub fn note_field_errors(body: &Map<String, Value>) -> FieldErrors {
    parse_new_note(body).err().unwrap_or_default()
}

fn create_lead_once(
    app: &App,
    caller: &Caller,
    body: &Map<String, Value>,
    store: Option<super::idempotency::StoreAnswer<Lead>>,
) -> Result<Lead> {
    let (errs, lead) = check_new_lead(app, caller, body)?;
    errs.into_result()?;
    let Some((input, product, dsa_code)) = lead else {
        return Err(Error::internal("validated lead without input"));
    };
    let caller = caller.clone();
    let offset = app.settings.offset;
    let allow_duplicates = app.settings.allow_duplicates;
    app.db.write(move |c| {
        if !allow_duplicates {
            if let Some((existing, owner)) =
                db::leads::find_open_duplicate(c, input.mobile.as_str(), &product.code)?
            {
                let detail = if caller.may_see(owner) {
                    format!(
                        "an open {} lead already exists for this mobile: {existing}",
                        product.name
                    )
                } else {
                    format!(
                        "an open {} lead already exists for this mobile",
                        product.name
                    )
                };
                return Err(Error::Conflict(
                    "A lead for this customer and product is already open.".into(),
                    FieldErrors::single("mobile", detail),
                ));
            }
        }
        let now = now_ms();
        let day = crate::model::local_day(now, offset);
        let number = db::leads::next_number(c, &day)?;
        let lead_id = format!("LD{day}{number:04}");
        let rms = db::masters::active_rms(c)?;
        let rm = if rms.is_empty() {
            None
        } else {
            let cursor = db::masters::next_counter(c, "rm_cursor")?;
            Some(rms[((cursor - 1).rem_euclid(rms.len() as i64)) as usize].clone())
        };
        let rm_id = rm.as_ref().map(|r| r.id);
        // The lead is written once, already where its documents put it; the journey and the
        // audit trail still show both steps (received as `new`, then moved).
        let (settled, settle_note) = if product.required_documents.is_empty() {
            (Status::UnderReview, "No documents required.".to_string())
        } else {
            (
                Status::DocumentPending,
                documents_required_note(&product.required_documents),
            )
        };
        let row = db::leads::insert(
            c,
            &db::leads::NewRow {
                lead_id: &lead_id,
                partner_id: caller.partner_id,
                product_code: &product.code,
                customer_name: &input.customer_name,
                mobile: input.mobile.as_str(),
                email: input.email.as_deref(),
                loan_amount: input.loan_amount,
                city: input.city.as_deref(),
                dsa_code: dsa_code.as_deref(),
                status: settled,
                rm_id,
                key_id: caller.key_id,
                now,
            },
        )?;
        let key = Some(caller.key_id);
        db::leads::add_journey(c, row, None, Status::New, "Lead received.", key, now)?;
        audit(
            c,
            row,
            key,
            now,
            AuditEntry {
                action: "create".into(),
                detail: Some(lead_id.clone()),
                ..Default::default()
            },
        )?;
        if let Some(rm) = rm_id {
            audit(
                c,
                row,
                key,
                now,
                field_change("assign_rm", "rm_id", Value::Null, rm.into()),
            )?;
        }
        for t in &product.required_documents {
            db::leads::add_pending(c, row, t)?;
        }
        db::leads::add_journey(c, row, Some(Status::New), settled, &settle_note, key, now)?;
        let mut entry = field_change(
            "status",
            "status",
            Status::New.as_str().into(),
            settled.as_str().into(),
        );
        entry.detail = Some(settle_note);
        audit(c, row, key, now, entry)?;
        let lead = Lead {
            row,
            lead_id,
            partner_id: caller.partner_id,
            product_code: product.code,
            product_name: product.name,
            customer_name: input.customer_name,
            mobile: input.mobile.as_str().to_string(),
            email: input.email,
            loan_amount: input.loan_amount,
            city: input.city,
            dsa_code,
            status: settled,
            rm,
            lender_name: None,
            lender_status: None,
            approved_amount: None,
            disbursement_status: "not_started".into(),
            disbursement_date: None,
            created_at: now,
            updated_at: now,
        };
        if let Some(store) = store {
            store(c, &lead)?;
        }
        Ok(lead)
    })
}

pub fn get_lead(app: &App, caller: &Caller, lead_id: &str) -> Result<Lead> {
    app.db.read(|c| visible_lead(c, caller, lead_id))
}

pub fn update_lead(
    app: &App,
    caller: &Caller,
    lead_id: &str,
    body: Map<String, Value>,
) -> Result<Lead> {
    let caller = caller.clone();
    let lead_id = lead_id.to_string();
    app.db.write(move |c| {
        let mut lead = visible_lead(c, &caller, &lead_id)?;
        let mut errs = FieldErrors::new();
        let update = parse_lead_update(&body, &mut errs);
        errs.into_result()?;
        if lead.status.is_terminal() {
            return Err(terminal_conflict(lead.status));
        }
        let before = lead.clone();
        if let Some(name) = update.customer_name {
            lead.customer_name = name;
        }
        apply(&mut lead.loan_amount, update.loan_amount);
        apply(&mut lead.city, update.city);
        apply(&mut lead.email, update.email);
        let now = now_ms();
        lead.updated_at = now;
        db::leads::update_fields(c, &lead)?;
        let money = |m: Option<Money>| m.map_or(Value::Null, Money::to_json);
        let text = |t: &Option<String>| t.clone().map_or(Value::Null, Value::String);
        let changes = [
            (
                "customer_name",
                Value::String(before.customer_name.clone()),
                Value::String(lead.customer_name.clone()),
            ),
            (
                "loan_amount",
                money(before.loan_amount),
                money(lead.loan_amount),
            ),
            ("city", text(&before.city), text(&lead.city)),
            ("email", text(&before.email), text(&lead.email)),
        ];
        audit_changes(
            c,
            lead.row,
            Some(caller.key_id),
            now,
            "update",
            changes.into(),
        )?;
        Ok(lead)
    })
}

fn apply<T>(slot: &mut Option<T>, change: Change<T>) {
    match change {
        Change::Keep => {}
        Change::Set(v) => *slot = Some(v),
        Change::Clear => *slot = None,
    }
}

pub(super) fn terminal_conflict(status: Status) -> Error {
    Error::Conflict(
        format!(
            "The lead is {} and can no longer be changed.",
            status.as_str()
        ),
        FieldErrors::single("status", format!("is {}, a final status", status.as_str())),
    )
}

pub fn lead_journey(app: &App, caller: &Caller, lead_id: &str) -> Result<Vec<JourneyEntry>> {
    app.db.read(|c| {
        let lead = visible_lead(c, caller, lead_id)?;
        db::leads::journey(c, lead.row)
    })
}

/// The lead with its status master message.
pub fn lead_status(app: &App, caller: &Caller, lead_id: &str) -> Result<(Lead, String)> {
    app.db.read(|c| {
        let lead = visible_lead(c, caller, lead_id)?;
        let message = db::masters::status_message(c, lead.status.as_str())?;
        Ok((lead, message))
    })
}

pub fn add_note(
    app: &App,
    caller: &Caller,
    lead_id: &str,
    body: Map<String, Value>,
    idem: Option<IdemRequest<Note>>,
) -> Result<Created<Note>> {
    idempotent(app, caller, idem, |store| {
        let caller = caller.clone();
        let lead_id = lead_id.to_string();
        app.db.write(move |c| {
            let lead = visible_lead(c, &caller, &lead_id)?;
            let note = parse_new_note(&body).map_err(Error::Validation)?;
            let now = now_ms();
            let id = db::leads::insert_note(
                c,
                lead.row,
                &note.note_type,
                &note.note,
                caller.key_id,
                now,
            )?;
            db::leads::touch(c, lead.row, now)?;
            let entry = AuditEntry {
                action: "note".into(),
                detail: Some(format!("{} #{id}", note.note_type)),
                ..Default::default()
            };
            audit(c, lead.row, Some(caller.key_id), now, entry)?;
            let note = Note {
                id,
                note_type: note.note_type,
                note: note.note,
                key_id: caller.key_id,
                created_at: now,
            };
            if let Some(store) = store {
                store(c, &note)?;
            }
            Ok(note)
        })
    })
}

pub fn list_notes(app: &App, caller: &Caller, lead_id: &str) -> Result<Vec<Note>> {
    app.db.read(|c| {
        let lead = visible_lead(c, caller, lead_id)?;
        db::leads::notes(c, lead.row)
    })
}

pub fn list_documents(app: &App, caller: &Caller, lead_id: &str) -> Result<Vec<Document>> {
    app.db.read(|c| {
        let lead = visible_lead(c, caller, lead_id)?;
        db::leads::documents(c, lead.row)
    })
}

/// A document's record and its blob, opened for streaming.
pub fn document_file(
    app: &App,
    caller: &Caller,
    lead_id: &str,
    document_id: &str,
) -> Result<(Document, std::fs::File)> {
    let doc = app.db.read(|c| {
        let lead = visible_lead(c, caller, lead_id)?;
        db::leads::find_document(c, lead.row, document_id)?
            .ok_or_else(|| Error::NotFound("Document not found.".into()))
    })?;
    let file = app.blobs.open_blob(&doc.sha256)?;
    Ok((doc, file))
}

/// PATCH of a document: `document_type` by anyone who sees the lead, `status`
/// (`verified`/`rejected`) by admins only.
pub fn update_document(
    app: &App,
    caller: &Caller,
    lead_id: &str,
    document_id: &str,
    body: Map<String, Value>,
) -> Result<Document> {
    if body.contains_key("status") && !caller.is_admin() {
        return Err(Error::Forbidden(
            "Only an admin key may change a document's status.".into(),
        ));
    }
    let caller = caller.clone();
    let lead_id = lead_id.to_string();
    let document_id = document_id.to_string();
    app.db.write(move |c| {
        let mut lead = visible_lead(c, &caller, &lead_id)?;
        let mut doc = db::leads::find_document(c, lead.row, &document_id)?
            .ok_or_else(|| Error::NotFound("Document not found.".into()))?;
        let mut errs = FieldErrors::new();
        let new_type = match body.get("document_type") {
            None => None,
            Some(Value::String(s)) => match db::masters::find_document_type(c, s)? {
                Some(t) => Some(t),
                None => {
                    errs.add(
                        "document_type",
                        "must be one of the document types (see GET /api/v1/document-types)",
                    );
                    None
                }
            },
            Some(_) => {
                errs.add("document_type", "must be a string");
                None
            }
        };
        let new_status = match body.get("status") {
            None => None,
            Some(Value::String(s)) if s == "verified" || s == "rejected" => Some(s.clone()),
            Some(_) => {
                errs.add("status", "must be verified or rejected");
                None
            }
        };
        if !body.contains_key("document_type") && !body.contains_key("status") {
            errs.add("body", "must contain document_type or status");
        }
        errs.into_result()?;
        if lead.status.is_terminal() {
            return Err(terminal_conflict(lead.status));
        }
        let now = now_ms();
        // Only an approved lead is judged on what the change leaves missing.
        let pending_before = if lead.status == Status::Approved {
            db::leads::pending_documents(c, lead.row)?
        } else {
            Vec::new()
        };
        let before = doc.clone();
        let old_type = doc.document_type.clone();
        if let Some(t) = new_type {
            if t != doc.document_type && new_status.is_none() {
                // A review was of the document as the type it had: as another type it is
                // unreviewed again (a partner cannot turn a verified PHOTO into a verified
                // PAN).
                doc.status = "uploaded".into();
            }
            doc.document_type = t;
        }
        if let Some(s) = new_status {
            doc.status = s;
        }
        doc.updated_at = now;
        db::leads::update_document(c, &doc)?;
        for (field, old, new) in [
            ("document_type", &before.document_type, &doc.document_type),
            ("status", &before.status, &doc.status),
        ] {
            if old != new {
                let mut entry =
                    field_change("document", field, old.as_str().into(), new.as_str().into());
                entry.detail = Some(doc.document_id.clone());
                audit(c, lead.row, Some(caller.key_id), now, entry)?;
            }
        }
        // Recompute what is still awaited: the old type may be missing again, the new one
        // is now there (unless this document was rejected).
        let product = db::masters::find_active_product(c, &lead.product_code)?;
        let required = product.map(|p| p.required_documents).unwrap_or_default();
        for t in [&old_type, &doc.document_type] {
            if db::leads::has_live_document(c, lead.row, t)? {
                // Asked for (required, or named by a status move, or a rejected optional
                // one), and now there.
                db::leads::remove_pending(c, lead.row, t)?;
            } else if required.contains(t) {
                db::leads::add_pending(c, lead.row, t)?;
            }
        }
        if doc.status == "rejected"
            && !required.contains(&doc.document_type)
            && !db::leads::has_live_document(c, lead.row, &doc.document_type)?
        {
            // A rejected document the lead did not strictly need is still asked for again.
            db::leads::add_pending(c, lead.row, &doc.document_type)?;
        }
        if lead.status == Status::Approved {
            // An approved lead cannot go back to document_pending (the lifecycle has no such
            // move), so this change may not leave a type the product requires newly missing;
            // it is rolled back. A lead already missing one (left so by an older version) can
            // still have its other documents changed, and an optional document rejected is
            // asked for again as on any lead.
            let now_missing = db::leads::pending_documents(c, lead.row)?;
            let lost: Vec<&String> = now_missing
                .iter()
                .filter(|t| required.contains(*t) && !pending_before.contains(*t))
                .collect();
            if !lost.is_empty() {
                let field = if lost.contains(&&old_type) && old_type != doc.document_type {
                    "document_type"
                } else if body.contains_key("status") {
                    "status"
                } else {
                    "document_type"
                };
                return Err(Error::Conflict(
                    format!(
                        "The lead is approved; this change would leave it without a required {} document.",
                        lost.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                    FieldErrors::single(
                        field,
                        "the lead is approved: reject the lead (POST /api/v1/leads/{id}/status) if this document is not acceptable",
                    ),
                ));
            }
        }
        settle_documents(c, &mut lead, caller.key_id, now)?;
        db::leads::touch(c, lead.row, now)?;
        Ok(doc)
    })
}
