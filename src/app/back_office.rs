//! Back-office use cases (admin keys only; `http` refuses partner keys with 403 before the
//! body is read): lifecycle moves, RM and lender assignment, disbursement, the audit trail.

use super::leads::{
    audit, audit_changes, field_change, move_status, reload, terminal_conflict, visible_lead,
};
use super::{now_ms, App};
use crate::db::{self, Conn};
use crate::error::{Error, FieldErrors, Result};
use crate::model::{AuditEntry, Caller, Lead, Money, Rm, Status};
use serde_json::{Map, Value};

pub const LENDER_STATUSES: [&str; 5] = [
    "submitted",
    "under_review",
    "approved",
    "rejected",
    "disbursed",
];
pub const DISBURSEMENT_STATUSES: [&str; 4] = ["not_started", "pending", "disbursed", "cancelled"];

/// 409 for a move the lifecycle does not allow, naming the current status and the moves
/// that are.
fn refused_move(from: Status, to: Status) -> Error {
    let next: Vec<&str> = from.allowed_next().iter().map(|s| s.as_str()).collect();
    let allowed = if next.is_empty() {
        "none (final status)".to_string()
    } else {
        next.join(", ")
    };
    Error::Conflict(
        format!(
            "The lead is {}; it cannot move to {}.",
            from.as_str(),
            to.as_str()
        ),
        FieldErrors::single(
            "status",
            format!(
                "current status is {}; allowed next: {allowed}",
                from.as_str()
            ),
        ),
    )
}

/// 409 for a disbursement status that needs an approved lead, on one that is not.
fn not_approved(current: Status, asked: &str) -> Error {
    let how = if current.can_move_to(Status::Approved) {
        "send approved_amount to approve it first"
    } else {
        "it must reach under_review and be approved first"
    };
    Error::Conflict(
        format!(
            "The lead is {}; a disbursement can be {asked} only on an approved lead.",
            current.as_str()
        ),
        FieldErrors::single(
            "disbursement_status",
            format!("current status is {}; {how}", current.as_str()),
        ),
    )
}

fn optional_note(body: &Map<String, Value>, errs: &mut FieldErrors) -> Option<String> {
    match body.get("note") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().chars().count() > 2000 => {
            errs.add("note", "must be at most 2000 characters");
            None
        }
        // The same rule as a note's: it shows in the journey partners read.
        Some(Value::String(s)) if crate::model::note_has_control(s.trim()) => {
            errs.add("note", crate::model::NOTE_CONTROL);
            None
        }
        Some(Value::String(s)) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Some(_) => {
            errs.add("note", "must be a string");
            None
        }
    }
}

/// Sets the disbursement columns when a lead is moved to `disbursed` by a status move, and
/// records their change in the audit as `PUT disbursement` does.
fn mark_disbursed(
    c: &Conn,
    lead: &Lead,
    offset: chrono::FixedOffset,
    key: Option<i64>,
    now: i64,
) -> Result<()> {
    let date = lead
        .disbursement_date
        .clone()
        .unwrap_or_else(|| crate::model::local_date(now, offset));
    db::leads::set_disbursement(
        c,
        lead.row,
        lead.approved_amount,
        "disbursed",
        Some(&date),
        now,
    )?;
    let text = |t: Option<&str>| t.map_or(Value::Null, |s| Value::String(s.into()));
    let changes = vec![
        (
            "disbursement_status",
            Value::String(lead.disbursement_status.clone()),
            Value::String("disbursed".into()),
        ),
        (
            "disbursement_date",
            text(lead.disbursement_date.as_deref()),
            text(Some(&date)),
        ),
    ];
    audit_changes(c, lead.row, key, now, "disbursement", changes)
}

/// POST /leads/{id}/status: `{status, note?, document_types?}`.
pub fn move_lead_status(
    app: &App,
    caller: &Caller,
    lead_id: &str,
    body: Map<String, Value>,
) -> Result<(Lead, String)> {
    let caller = caller.clone();
    let lead_id = lead_id.to_string();
    let offset = app.settings.offset;
    app.db.write(move |c| {
        let mut lead = visible_lead(c, &caller, &lead_id)?;
        let mut errs = FieldErrors::new();
        let to = match body.get("status") {
            None | Some(Value::Null) => {
                errs.add("status", "is required");
                None
            }
            Some(Value::String(s)) => match Status::parse(s) {
                Some(st) => Some(st),
                None => {
                    errs.add("status", "must be one of new, document_pending, under_review, approved, rejected, disbursed");
                    None
                }
            },
            Some(_) => {
                errs.add("status", "must be a string");
                None
            }
        };
        let note = optional_note(&body, &mut errs);
        let mut named_types = Vec::new();
        match body.get("document_types") {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                for item in items {
                    let found = match item {
                        Value::String(s) => db::masters::find_document_type(c, s)?,
                        _ => None,
                    };
                    match found {
                        Some(t) => named_types.push(t),
                        None => errs.add("document_types", "must hold document type codes (see GET /api/v1/document-types)"),
                    }
                }
            }
            Some(_) => errs.add("document_types", "must be an array of document type codes"),
        }
        errs.into_result()?;
        let Some(to) = to else {
            return Err(Error::internal("validated move without status"));
        };
        if !lead.status.can_move_to(to) {
            return Err(refused_move(lead.status, to));
        }
        let now = now_ms();
        let note = match to {
            Status::DocumentPending => {
                for t in &named_types {
                    db::leads::add_pending(c, lead.row, t)?;
                }
                let pending = db::leads::pending_documents(c, lead.row)?;
                if pending.is_empty() {
                    return Err(Error::field(
                        "document_types",
                        "name the document types still needed: none are pending",
                    ));
                }
                note.unwrap_or_else(|| format!("Documents required: {}.", pending.join(", ")))
            }
            Status::UnderReview => {
                // The back office accepts the lead's documents as they are.
                for t in db::leads::pending_documents(c, lead.row)? {
                    db::leads::remove_pending(c, lead.row, &t)?;
                }
                note.unwrap_or_else(|| "Application moved to lender review.".into())
            }
            _ => note.unwrap_or_else(|| format!("Status changed to {}.", to.as_str())),
        };
        move_status(c, &mut lead, to, &note, Some(caller.key_id), now)?;
        if to == Status::Disbursed {
            mark_disbursed(c, &lead, offset, Some(caller.key_id), now)?;
        }
        let message = db::masters::status_message(c, to.as_str())?;
        let lead = reload(c, &lead_id)?;
        Ok((lead, message))
    })
}

/// The RM master (active RMs).
pub fn list_rms(app: &App) -> Result<Vec<Rm>> {
    app.db.read(db::masters::active_rms)
}

/// PUT /leads/{id}/rm: `{rm_id}`.
pub fn assign_rm(
    app: &App,
    caller: &Caller,
    lead_id: &str,
    body: Map<String, Value>,
) -> Result<Lead> {
    let caller = caller.clone();
    let lead_id = lead_id.to_string();
    app.db.write(move |c| {
        let lead = visible_lead(c, &caller, &lead_id)?;
        let rm = match body.get("rm_id") {
            None | Some(Value::Null) => return Err(Error::field("rm_id", "is required")),
            // 2.5, 2.0, 1e3 or a number past any id: not an id at all.
            Some(v) => match v.as_i64() {
                Some(id) => db::masters::find_rm(c, id)?,
                None => return Err(Error::field("rm_id", "must be an integer")),
            },
        };
        let rm = rm.ok_or_else(|| {
            Error::field(
                "rm_id",
                "must be the id of an active RM (see GET /api/v1/rms)",
            )
        })?;
        if lead.status.is_terminal() {
            return Err(terminal_conflict(lead.status));
        }
        if lead.rm.as_ref().map(|r| r.id) == Some(rm.id) {
            // Already this RM: nothing changes, nothing to record.
            return Ok(lead);
        }
        let old = lead.rm.as_ref().map_or(Value::Null, |r| r.id.into());
        let now = now_ms();
        db::leads::set_rm(c, lead.row, rm.id, now)?;
        audit(
            c,
            lead.row,
            Some(caller.key_id),
            now,
            field_change("assign_rm", "rm_id", old, rm.id.into()),
        )?;
        reload(c, &lead_id)
    })
}

/// PUT /leads/{id}/lender: `{lender_name, lender_status}`.
pub fn assign_lender(
    app: &App,
    caller: &Caller,
    lead_id: &str,
    body: Map<String, Value>,
) -> Result<Lead> {
    let caller = caller.clone();
    let lead_id = lead_id.to_string();
    app.db.write(move |c| {
        let lead = visible_lead(c, &caller, &lead_id)?;
        let mut errs = FieldErrors::new();
        let lender = match body.get("lender_name") {
            None | Some(Value::Null) => {
                errs.add("lender_name", "is required");
                None
            }
            Some(Value::String(name)) => {
                let found = db::masters::find_mapped_lender(c, name, &lead.product_code)?;
                if found.is_none() {
                    errs.add(
                        "lender_name",
                        format!("must be a lender mapped to {} (see GET /api/v1/products/lender-mapping)", lead.product_code),
                    );
                }
                found
            }
            Some(_) => {
                errs.add("lender_name", "must be a string");
                None
            }
        };
        let status = match body.get("lender_status") {
            Some(Value::String(s)) if LENDER_STATUSES.contains(&s.as_str()) => Some(s.clone()),
            None | Some(Value::Null) => {
                errs.add("lender_status", "is required");
                None
            }
            Some(_) => {
                errs.add("lender_status", "must be one of submitted, under_review, approved, rejected, disbursed");
                None
            }
        };
        errs.into_result()?;
        let (Some((lender_id, lender_name)), Some(status)) = (lender, status) else {
            return Err(Error::internal("validated lender without values"));
        };
        if lead.status.is_terminal() {
            return Err(terminal_conflict(lead.status));
        }
        let now = now_ms();
        db::leads::set_lender(c, lead.row, lender_id, &status, now)?;
        let key = Some(caller.key_id);
        let text = |t: &Option<String>| t.clone().map_or(Value::Null, Value::String);
        let changes = vec![
            ("lender_name", text(&lead.lender_name), lender_name.into()),
            ("lender_status", text(&lead.lender_status), status.into()),
        ];
        audit_changes(c, lead.row, key, now, "assign_lender", changes)?;
        reload(c, &lead_id)
    })
}

/// PUT /leads/{id}/disbursement: `{approved_amount?, disbursement_status, disbursement_date?}`.
/// An approved amount moves an `under_review` lead to `approved`; `disbursed` moves an
/// approved lead to `disbursed`; both through the lifecycle rules.
pub fn record_disbursement(
    app: &App,
    caller: &Caller,
    lead_id: &str,
    body: Map<String, Value>,
) -> Result<Lead> {
    let caller = caller.clone();
    let lead_id = lead_id.to_string();
    let offset = app.settings.offset;
    app.db.write(move |c| {
        let mut lead = visible_lead(c, &caller, &lead_id)?;
        let mut errs = FieldErrors::new();
        let amount = match body.get("approved_amount") {
            None | Some(Value::Null) => None,
            Some(v) => Money::parse_json(v)
                .map_err(|m| errs.add("approved_amount", m))
                .ok(),
        };
        let status = match body.get("disbursement_status") {
            Some(Value::String(s)) if DISBURSEMENT_STATUSES.contains(&s.as_str()) => {
                Some(s.clone())
            }
            None | Some(Value::Null) => {
                errs.add("disbursement_status", "is required");
                None
            }
            Some(_) => {
                errs.add(
                    "disbursement_status",
                    "must be one of not_started, pending, disbursed, cancelled",
                );
                None
            }
        };
        let date = match body.get("disbursement_date") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => match chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
                Ok(d) if s.len() == 10 => Some(d.format("%Y-%m-%d").to_string()),
                _ => {
                    errs.add("disbursement_date", "must be a date YYYY-MM-DD");
                    None
                }
            },
            Some(_) => {
                errs.add("disbursement_date", "must be a date YYYY-MM-DD or null");
                None
            }
        };
        let Some(status) = status else {
            return Err(Error::Validation(errs));
        };
        let needs_amount = status == "pending" || status == "disbursed";
        if needs_amount
            && amount.is_none()
            && lead.approved_amount.is_none()
            && !errs.has("approved_amount")
        {
            errs.add(
                "approved_amount",
                format!("is required when disbursement_status is {status}"),
            );
        }
        errs.into_result()?;
        if lead.status.is_terminal() {
            return Err(terminal_conflict(lead.status));
        }
        let now = now_ms();
        let key = Some(caller.key_id);
        if amount.is_some() && lead.status != Status::Approved {
            if !lead.status.can_move_to(Status::Approved) {
                return Err(refused_move(lead.status, Status::Approved));
            }
            move_status(
                c,
                &mut lead,
                Status::Approved,
                "Approved amount recorded.",
                key,
                now,
            )?;
        }
        if status != "not_started" && lead.status != Status::Approved {
            return Err(not_approved(lead.status, &status));
        }
        let approved = amount.or(lead.approved_amount);
        let date = match (&date, status.as_str()) {
            (Some(d), _) => Some(d.clone()),
            (None, "disbursed") => Some(crate::model::local_date(now, offset)),
            (None, _) => None,
        };
        db::leads::set_disbursement(c, lead.row, approved, &status, date.as_deref(), now)?;
        let money = |m: Option<Money>| m.map_or(Value::Null, Money::to_json);
        let text = |t: Option<&str>| t.map_or(Value::Null, |s| Value::String(s.into()));
        let changes = [
            (
                "approved_amount",
                money(lead.approved_amount),
                money(approved),
            ),
            (
                "disbursement_status",
                Value::String(lead.disbursement_status.clone()),
                Value::String(status.clone()),
            ),
            (
                "disbursement_date",
                text(lead.disbursement_date.as_deref()),
                text(date.as_deref()),
            ),
        ];
        audit_changes(c, lead.row, key, now, "disbursement", changes.into())?;
        if status == "disbursed" {
            move_status(
                c,
                &mut lead,
                Status::Disbursed,
                "Loan amount disbursed.",
                key,
                now,
            )?;
        }
        reload(c, &lead_id)
    })
}

pub fn lead_audit(app: &App, caller: &Caller, lead_id: &str) -> Result<Vec<AuditEntry>> {
    app.db.read(|c| {
        let lead = visible_lead(c, caller, lead_id)?;
        db::audit::list(c, lead.row)
    })
}
