//! One handler per route, each linear: read the input, call one `app` function, serialise
//! the result.

use super::body::json_object;
use super::multipart::read_upload;
use super::router::Route;
use super::views::*;
use super::{created, ok, Ctx};
use crate::app;
use crate::error::{Error, Result};
use crate::model::Caller;
use rouille::{Request, Response};
use serde_json::json;

pub(super) fn route(
    ctx: &Ctx,
    req: &Request,
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
            Ok(ok(&products
                .iter()
                .map(ProductJson::from)
                .collect::<Vec<_>>()))
        }
        (Route::Categories, _) => Ok(ok(&app::list_categories(a)?)),
        (Route::LenderMapping, _) => {
            let code = req.get_param("product_code");
            let rows = app::list_lender_mapping(a, code.as_deref())?;
            Ok(ok(&rows
                .iter()
                .map(LenderMappingJson::from)
                .collect::<Vec<_>>()))
        }
        (Route::DocumentTypes, _) => {
            let types = app::list_document_types(a)?;
            let data: Vec<_> = types
                .iter()
                .map(|t| json!({ "code": t.code, "name": t.name }))
                .collect();
            Ok(ok(&data))
        }
        (Route::Statuses, _) => {
            let statuses = app::list_statuses(a)?;
            Ok(ok(&statuses
                .iter()
                .map(|s| s.code.as_str())
                .collect::<Vec<_>>()))
        }
        (Route::Leads, "POST") => {
            let body = json_object(req, json_limit)?;
            let lead = app::create_lead(a, caller, &body)?;
            Ok(created(&LeadJson::from(&lead, tz)))
        }
        (Route::Lead, "PATCH") => {
            let body = json_object(req, json_limit)?;
            let lead = app::update_lead(a, caller, lead_id, body)?;
            Ok(ok(&LeadJson::from(&lead, tz)))
        }
        (Route::Lead, _) => {
            let lead = app::get_lead(a, caller, lead_id)?;
            Ok(ok(&LeadJson::from(&lead, tz)))
        }
        (Route::Journey, _) => {
            let journey = app::lead_journey(a, caller, lead_id)?;
            Ok(ok(&journey
                .iter()
                .map(|j| JourneyJson::from(j, tz))
                .collect::<Vec<_>>()))
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
        (Route::Disbursement, _) => {
            let lead = app::get_lead(a, caller, lead_id)?;
            Ok(ok(&DisbursementJson::from(&lead)))
        }
        (Route::Rm, _) => {
            let lead = app::get_lead(a, caller, lead_id)?;
            Ok(ok(&RmLenderJson::from(&lead)))
        }
        (Route::Documents, "POST") => {
            let input = read_upload(req, &a.blobs, ctx.settings.max_file_bytes)?;
            let doc = app::upload_document(a, caller, lead_id, input)?;
            Ok(created(&DocumentJson::from(&doc, tz)))
        }
        (Route::Document, "PATCH") => {
            let document_id = params.get(1).map(String::as_str).unwrap_or("");
            let body = json_object(req, json_limit)?;
            let doc = app::update_document(a, caller, lead_id, document_id, body)?;
            Ok(ok(&DocumentJson::from(&doc, tz)))
        }
        (Route::Notes, "POST") => {
            let body = json_object(req, json_limit)?;
            let note = app::add_note(a, caller, lead_id, body)?;
            let response = super::json_response(
                201,
                &json!({
                    "success": true,
                    "message": "Note added successfully.",
                    "data": NoteJson::from(&note, lead_id, tz),
                }),
            );
            Ok(response)
        }
        _ => Err(Error::internal(format!(
            "route {route:?} has no handler for {}",
            req.method()
        ))),
    }
}
