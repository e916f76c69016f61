//! One handler per route, each linear: read the input, call one `app` function, serialise
//! the result.

use super::body::json_object;
use super::multipart::read_upload;
use super::router::Route;
use super::views::*;
use super::{created, list, ok, Ctx};
use crate::app;
use crate::error::{Error, Result};
use crate::model::{Caller, Document, Lead, Note};
use chrono::FixedOffset;
use rouille::{Request, Response};
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::io::Read;

/// The `Idempotency-Key` header, checked, if sent.
fn idempotency_key(req: &Request) -> Result<Option<String>> {
    req.header("Idempotency-Key")
        .map(app::parse_idempotency_key)
        .transpose()
}

/// A create under a lead with an `Idempotency-Key`: the lead is looked up first, so that a
/// lead that does not exist (or is another partner's) is a 404 whatever the key, before a
/// malformed or reused key is a 422, as the order of checks says.
fn lead_before_key(req: &Request, a: &app::App, caller: &Caller, lead_id: &str) -> Result<()> {
    if req.header("Idempotency-Key").is_some() {
        app::get_lead(a, caller, lead_id)?;
    }
    Ok(())
}

/// A malformed `Idempotency-Key` is one more field error: reported together with those of
/// the body (`body_errors`, which creates nothing), all at once as 422s are.
fn with_body_errors<T>(
    idem: Result<Option<T>>,
    body_errors: impl FnOnce() -> Result<crate::error::FieldErrors>,
) -> Result<Option<T>> {
    match idem {
        Err(Error::Validation(mut errs)) => {
            errs.merge(body_errors()?);
            Err(Error::Validation(errs))
        }
        other => other,
    }
}

/// The idempotency request of a JSON create, if the client sent a key.
fn idempotency<T: 'static>(
    req: &Request,
    operation: &str,
    path: &str,
    body: &Map<String, Value>,
    render: impl Fn(&T) -> (u16, Vec<u8>) + Send + 'static,
) -> Result<Option<app::IdemRequest<T>>> {
    Ok(idempotency_key(req)?.map(|key| app::IdemRequest {
        key,
        fingerprint: app::fingerprint(operation, path, &Value::Object(body.clone())),
        render: Box::new(render),
    }))
}

/// `{"success": true, "data": …}` as bytes, for stored idempotent answers.
fn envelope_bytes<T: Serialize>(data: &T) -> Vec<u8> {
    serde_json::to_vec(&json!({ "success": true, "data": data })).unwrap_or_default()
}

fn note_body(n: &Note, lead_id: &str, tz: FixedOffset) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "success": true,
        "message": "Note added successfully.",
        "data": NoteJson::from(n, lead_id, tz),
    }))
    .unwrap_or_default()
}

/// Whether an `If-None-Match` header names `etag` (a document's bytes never change under
/// one ETag, so a match means the client's copy is current). Weak tags compare by their
/// opaque part, as RFC 9110 says `If-None-Match` does.
fn not_modified(header: Option<&str>, etag: &str) -> bool {
    header.is_some_and(|h| {
        h.split(',')
            .map(|t| t.trim())
            .any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == etag)
    })
}

/// A fresh create's response, or the first answer replayed byte for byte.
fn answered<T>(answer: app::Created<T>, fresh: impl FnOnce(&T) -> Response) -> Response {
    match answer {
        app::Created::Fresh(v) => fresh(&v),
        app::Created::Replay(status, body) => Response::from_data("application/json", body)
            .with_status_code(status)
            .with_unique_header("Idempotent-Replayed", "true"),
    }
}

pub(super) fn route(
    ctx: &Ctx,
    req: &Request,
    body: &mut dyn Read,
    route: Route,
    params: &[String],
    caller: &Caller,
) -> Result<Response> {
    let a = &*ctx.app;
    let tz = a.settings.offset;
    let lead_id = params.first().map(String::as_str).unwrap_or("");
    let json_limit = ctx.settings.max_json_bytes;
    match (route, req.method()) {
        (Route::Products, _) => {
            let products = app::list_products(a)?;
            Ok(list(
                &products.iter().map(ProductJson::from).collect::<Vec<_>>(),
            ))
        }
        (Route::Categories, _) => Ok(list(&app::list_categories(a)?)),
        (Route::LenderMapping, _) => {
            let code = req.get_param("product_code");
            let rows = app::list_lender_mapping(a, code.as_deref())?;
            Ok(list(
                &rows.iter().map(LenderMappingJson::from).collect::<Vec<_>>(),
            ))
        }
        (Route::DocumentTypes, _) => {
            let types = app::list_document_types(a)?;
            let data: Vec<_> = types
                .iter()
                .map(|t| json!({ "code": t.code, "name": t.name }))
                .collect();
            Ok(list(&data))
        }
        (Route::Statuses, _) => {
            let statuses = app::list_statuses(a)?;
            Ok(list(
                &statuses.iter().map(|s| s.code.as_str()).collect::<Vec<_>>(),
            ))
        }
        (Route::Leads, "POST") => {
            let body = json_object(req, body, json_limit)?;
            let idem = idempotency(req, "create_lead", "", &body, move |lead: &Lead| {
                (201, envelope_bytes(&LeadJson::from(lead, tz)))
            });
            let idem = with_body_errors(idem, || app::lead_field_errors(a, caller, &body))?;
            let answer = app::create_lead(a, caller, &body, idem)?;
            let new_id = match &answer {
                app::Created::Fresh(lead) => Some(lead.lead_id.clone()),
                app::Created::Replay(_, body) => serde_json::from_slice::<Value>(body)
                    .ok()
                    .and_then(|v| v.pointer("/data/lead_id")?.as_str().map(str::to_string)),
            };
            let response = answered(answer, |lead| created(&LeadJson::from(lead, tz)));
            Ok(match new_id {
                Some(id) => response.with_unique_header("Location", format!("/api/v1/leads/{id}")),
                None => response,
            })
        }
        (Route::Leads, _) => {
            let page = app::list_leads(a, caller, &|name| req.get_param(name))?;
            let data: Vec<_> = page.leads.iter().map(|l| LeadJson::from(l, tz)).collect();
            Ok(super::json_response(
                200,
                &json!({ "success": true, "data": data, "next_cursor": page.next_cursor }),
            ))
        }
        (Route::Lead, "PATCH") => {
            let body = json_object(req, body, json_limit)?;
            let lead = app::update_lead(a, caller, lead_id, body)?;
            Ok(ok(&LeadJson::from(&lead, tz)))
        }
        (Route::Lead, _) => {
            let lead = app::get_lead(a, caller, lead_id)?;
            Ok(ok(&LeadJson::from(&lead, tz)))
        }
        (Route::Journey, _) => {
            let journey = app::lead_journey(a, caller, lead_id)?;
            Ok(list(
                &journey
                    .iter()
                    .map(|j| {
                        let mut entry = JourneyJson::from(j, tz);
                        // A partner is told which of its own keys made a change, never
                        // the id of an office (admin) key.
                        if !caller.is_admin() && entry.key_id != Some(caller.key_id) {
                            entry.key_id = None;
                        }
                        entry
                    })
                    .collect::<Vec<_>>(),
            ))
        }
        (Route::LeadStatus, "POST") => {
            let body = json_object(req, body, json_limit)?;
            let (lead, message) = app::move_lead_status(a, caller, lead_id, body)?;
            Ok(ok(&LeadStatusJson {
                lead_id: &lead.lead_id,
                status: lead.status.as_str(),
                message: &message,
                updated_at: crate::model::rfc3339(lead.updated_at, tz),
            }))
        }
        (Route::LeadStatus, _) => {
            let (lead, message) = app::lead_status(a, caller, lead_id)?;
            Ok(ok(&LeadStatusJson {
                lead_id: &lead.lead_id,
                status: lead.status.as_str(),
                message: &message,
                updated_at: crate::model::rfc3339(lead.updated_at, tz),
            }))
        }
        (Route::Disbursement, "PUT") => {
            let body = json_object(req, body, json_limit)?;
            let lead = app::record_disbursement(a, caller, lead_id, body)?;
            Ok(ok(&DisbursementJson::from(&lead)))
        }
        (Route::Disbursement, _) => {
            let lead = app::get_lead(a, caller, lead_id)?;
            Ok(ok(&DisbursementJson::from(&lead)))
        }
        (Route::Rm, "PUT") => {
            let body = json_object(req, body, json_limit)?;
            let lead = app::assign_rm(a, caller, lead_id, body)?;
            Ok(ok(&RmLenderJson::from(&lead)))
        }
        (Route::Lender, _) => {
            let body = json_object(req, body, json_limit)?;
            let lead = app::assign_lender(a, caller, lead_id, body)?;
            Ok(ok(&RmLenderJson::from(&lead)))
        }
        (Route::Rms, _) => {
            let rms = app::list_rms(a)?;
            let data: Vec<_> = rms
                .iter()
                .map(|r| json!({ "rm_id": r.id, "name": r.name, "mobile": r.mobile, "email": r.email }))
                .collect();
            Ok(list(&data))
        }
        (Route::Audit, _) => {
            let entries = app::lead_audit(a, caller, lead_id)?;
            Ok(list(
                &entries
                    .iter()
                    .map(|e| AuditJson::from(e, tz))
                    .collect::<Vec<_>>(),
            ))
        }
        (Route::Rm, _) => {
            let lead = app::get_lead(a, caller, lead_id)?;
            Ok(ok(&RmLenderJson::from(&lead)))
        }
        (Route::Documents, "POST") => {
            let input = read_upload(req, body, &a.blobs, ctx.settings.max_file_bytes)?;
            lead_before_key(req, a, caller, lead_id)?;
            let print = app::upload_fingerprint(lead_id, &input);
            let key =
                with_body_errors(idempotency_key(req), || app::upload_field_errors(a, &input))?;
            let idem = key.map(|key| app::IdemRequest {
                key,
                fingerprint: print,
                render: Box::new(move |d: &Document| {
                    (201, envelope_bytes(&DocumentJson::from(d, tz)))
                }),
            });
            let answer = app::upload_document(a, caller, lead_id, input, idem)?;
            Ok(answered(answer, |d| created(&DocumentJson::from(d, tz))))
        }
        (Route::Documents, _) => {
            let docs = app::list_documents(a, caller, lead_id)?;
            Ok(list(
                &docs
                    .iter()
                    .map(|d| DocumentJson::from(d, tz))
                    .collect::<Vec<_>>(),
            ))
        }
        (Route::DocumentFile, _) => {
            let document_id = params.get(1).map(String::as_str).unwrap_or("");
            let (doc, file) = app::document_file(a, caller, lead_id, document_id)?;
            let etag = format!("\"{}\"", doc.sha256);
            if not_modified(req.header("If-None-Match"), &etag) {
                return Ok(Response {
                    status_code: 304,
                    headers: vec![("ETag".into(), etag.into())],
                    data: rouille::ResponseBody::empty(),
                    upgrade: None,
                });
            }
            Ok(Response::from_file(doc.content_type.clone(), file)
                .with_unique_header(
                    "Content-Disposition",
                    crate::model::attachment_disposition(&crate::model::download_name(
                        &doc.filename,
                        &doc.content_type,
                    )),
                )
                .with_unique_header("ETag", etag))
        }
        (Route::Document, "PATCH") => {
            let document_id = params.get(1).map(String::as_str).unwrap_or("");
            let body = json_object(req, body, json_limit)?;
            let doc = app::update_document(a, caller, lead_id, document_id, body)?;
            Ok(ok(&DocumentJson::from(&doc, tz)))
        }
        (Route::Notes, "POST") => {
            let body = json_object(req, body, json_limit)?;
            lead_before_key(req, a, caller, lead_id)?;
            let owned_id = lead_id.to_string();
            let idem = idempotency(req, "add_note", lead_id, &body, move |n: &Note| {
                (201, note_body(n, &owned_id, tz))
            });
            let idem = with_body_errors(idem, || Ok(app::note_field_errors(&body)))?;
            let answer = app::add_note(a, caller, lead_id, body, idem)?;
            Ok(answered(answer, |n| {
                Response::from_data("application/json", note_body(n, lead_id, tz))
                    .with_status_code(201)
            }))
        }
        (Route::Notes, _) => {
            let notes = app::list_notes(a, caller, lead_id)?;
            Ok(list(
                &notes
                    .iter()
                    .map(|n| NoteJson::from(n, lead_id, tz))
                    .collect::<Vec<_>>(),
            ))
        }
        _ => Err(Error::internal(format!(
            "route {route:?} has no handler for {}",
            req.method()
        ))),
    }
}
