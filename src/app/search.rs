//! GET /leads: filters, newest first, keyset pagination by internal row id (a page never
//! skips or repeats a lead while others are being created: new leads get larger ids).

use super::App;
use crate::db::{self, leads::Search};
use crate::error::{FieldErrors, Result};
use crate::model::{Caller, Lead, Mobile, Status};
use chrono::{DateTime, NaiveDate, TimeZone};

pub struct LeadPage {
    pub leads: Vec<Lead>,
    pub next_cursor: Option<String>,
}

fn day_start(date: NaiveDate, offset: chrono::FixedOffset) -> Option<i64> {
    let midnight = date.and_hms_opt(0, 0, 0)?;
    offset
        .from_local_datetime(&midnight)
        .single()
        .map(|t| t.timestamp_millis())
}

/// `param` gives a query parameter's value by name.
pub fn list_leads(
    app: &App,
    caller: &Caller,
    param: &dyn Fn(&str) -> Option<String>,
) -> Result<LeadPage> {
    let offset = app.settings.offset;
    let mut errs = FieldErrors::new();
    let mut s = Search {
        partner_id: (!caller.is_admin()).then_some(caller.partner_id),
        limit: 20,
        ..Default::default()
    };
    let text = |name: &str| {
        param(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    if let Some(v) = text("status") {
        match Status::parse(&v) {
            Some(st) => s.status = Some(st.as_str().into()),
            None => errs.add(
                "status",
                "must be one of new, document_pending, under_review, approved, rejected, disbursed",
            ),
        }
    }
    if let Some(v) = text("product") {
        let found = app.db.read(|c| db::masters::find_active_product(c, &v))?;
        // An unknown product matches nothing: an empty list, not an error.
        s.product_code = Some(found.map_or(format!("\u{0}{v}"), |p| p.code));
    }
    if let Some(v) = text("dsa_code") {
        s.dsa_code = Some(v.to_ascii_uppercase());
    }
    if let Some(v) = text("mobile") {
        match Mobile::parse(&v) {
            Ok(m) => s.mobile = Some(m.as_str().into()),
            Err(m) => errs.add("mobile", m),
        }
    }
    if let Some(v) = text("q") {
        s.name_contains = Some(v.to_lowercase());
    }
    let date = |name: &str, errs: &mut FieldErrors| -> Option<i64> {
        let v = text(name)?;
        let parsed = NaiveDate::parse_from_str(&v, "%Y-%m-%d")
            .ok()
            .filter(|_| v.len() == 10);
        match parsed.and_then(|d| day_start(d, offset)) {
            Some(ms) => Some(ms),
            None => {
                errs.add(name, "must be a date YYYY-MM-DD");
                None
            }
        }
    };
    s.created_from = date("created_from", &mut errs);
    s.created_before = date("created_to", &mut errs).map(|ms| ms + 24 * 3600 * 1000);
    if let Some(mut v) = text("updated_since") {
        // An offset's + sent unencoded arrives as a space: `…T00:00:00 05:30`.
        let offset_at = v.len().saturating_sub(6);
        if DateTime::parse_from_rfc3339(&v).is_err() && v.get(offset_at..offset_at + 1) == Some(" ")
        {
            v.replace_range(offset_at..offset_at + 1, "+");
        }
        match DateTime::parse_from_rfc3339(&v) {
            Ok(t) => s.updated_since = Some(t.timestamp_millis()),
            Err(_) => errs.add(
                "updated_since",
                "must be an RFC 3339 date-time, e.g. 2026-05-18T10:42:07+05:30",
            ),
        }
    }
    if let Some(v) = param("limit") {
        match v.trim().parse::<i64>() {
            Ok(n) if (1..=100).contains(&n) => s.limit = n,
            _ => errs.add("limit", "must be an integer from 1 to 100"),
        }
    }
    if let Some(v) = param("cursor") {
        match v
            .trim()
            .strip_prefix('r')
            .and_then(|n| n.parse::<i64>().ok())
            .filter(|n| *n > 0)
        {
            Some(row) => s.before_row = Some(row),
            None => errs.add("cursor", "must be a next_cursor value from a previous page"),
        }
    }
    errs.into_result()?;
    let limit = s.limit;
    // One row more than asked tells whether there is a next page.
    s.limit += 1;
    let mut leads = app.db.read(|c| db::leads::search(c, &s))?;
    let next_cursor = if leads.len() as i64 > limit {
        leads.truncate(limit as usize);
        leads.last().map(|l| format!("r{}", l.row))
    } else {
        None
    };
    Ok(LeadPage { leads, next_cursor })
}
