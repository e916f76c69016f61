//! Wire views: the JSON shapes of the seed schemas, built from domain records. A value the
//! schema does not mark nullable is left out while unknown, never sent as `null`.

use crate::model::{
    rfc3339, AuditEntry, Document, JourneyEntry, Lead, LenderMapping, Note, Product,
};
use chrono::FixedOffset;
use serde::Serialize;
use serde_json::Value;

#[derive(Serialize)]
pub struct ProductJson<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub category: &'a str,
    pub status: &'a str,
    pub required_documents: &'a [String],
}

impl<'a> ProductJson<'a> {
    pub fn from(p: &'a Product) -> Self {
        ProductJson {
            code: &p.code,
            name: &p.name,
            category: &p.category,
            status: &p.status,
            required_documents: &p.required_documents,
        }
    }
}

#[derive(Serialize)]
pub struct LenderMappingJson<'a> {
    pub product_code: &'a str,
    pub lender_name: &'a str,
    pub status: &'a str,
}

impl<'a> LenderMappingJson<'a> {
    pub fn from(m: &'a LenderMapping) -> Self {
        LenderMappingJson {
            product_code: &m.product_code,
            lender_name: &m.lender_name,
            status: &m.status,
        }
    }
}

#[derive(Serialize)]
pub struct LeadJson<'a> {
    pub lead_id: &'a str,
    pub product: &'a str,
    pub product_code: &'a str,
    pub customer_name: &'a str,
    pub mobile: &'a str,
    pub status: &'a str,
    pub created_at: String,
    pub updated_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loan_amount: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dsa_code: Option<&'a str>,
}

impl<'a> LeadJson<'a> {
    pub fn from(l: &'a Lead, tz: FixedOffset) -> Self {
        LeadJson {
            lead_id: &l.lead_id,
            product: &l.product_name,
            product_code: &l.product_code,
            customer_name: &l.customer_name,
            mobile: &l.mobile,
            status: l.status.as_str(),
            created_at: rfc3339(l.created_at, tz),
            updated_at: rfc3339(l.updated_at, tz),
            email: l.email.as_deref(),
            loan_amount: l.loan_amount.map(|m| m.to_json()),
            city: l.city.as_deref(),
            dsa_code: l.dsa_code.as_deref(),
        }
    }
}

#[derive(Serialize)]
pub struct JourneyJson<'a> {
    pub status: &'a str,
    pub note: &'a str,
    pub updated_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_status: Option<&'a str>,
    /// The API key that made the change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<i64>,
}

impl<'a> JourneyJson<'a> {
    pub fn from(j: &'a JourneyEntry, tz: FixedOffset) -> Self {
        JourneyJson {
            status: &j.status,
            note: &j.note,
            updated_at: rfc3339(j.created_at, tz),
            from_status: j.from_status.as_deref(),
            key_id: j.key_id,
        }
    }
}

#[derive(Serialize)]
pub struct LeadStatusJson<'a> {
    pub lead_id: &'a str,
    pub status: &'a str,
    pub message: &'a str,
    pub updated_at: String,
}

#[derive(Serialize)]
pub struct DisbursementJson<'a> {
    pub lead_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approved_amount: Option<Value>,
    pub disbursement_status: &'a str,
    pub disbursement_date: Option<&'a str>,
}

impl<'a> DisbursementJson<'a> {
    pub fn from(l: &'a Lead) -> Self {
        DisbursementJson {
            lead_id: &l.lead_id,
            approved_amount: l.approved_amount.map(|m| m.to_json()),
            disbursement_status: &l.disbursement_status,
            disbursement_date: l.disbursement_date.as_deref(),
        }
    }
}

#[derive(Serialize)]
pub struct RmLenderJson<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rm_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rm_mobile: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rm_email: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lender_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lender_status: Option<&'a str>,
}

impl<'a> RmLenderJson<'a> {
    pub fn from(l: &'a Lead) -> Self {
        RmLenderJson {
            rm_name: l.rm.as_ref().map(|r| r.name.as_str()),
            rm_mobile: l.rm.as_ref().map(|r| r.mobile.as_str()),
            rm_email: l.rm.as_ref().map(|r| r.email.as_str()),
            lender_name: l.lender_name.as_deref(),
            lender_status: l.lender_status.as_deref(),
        }
    }
}

#[derive(Serialize)]
pub struct DocumentJson<'a> {
    pub document_id: &'a str,
    pub document_type: &'a str,
    pub status: &'a str,
    pub sha256: &'a str,
    pub size: i64,
    pub content_type: &'a str,
    pub filename: &'a str,
    pub uploaded_at: String,
    pub updated_at: String,
}

impl<'a> DocumentJson<'a> {
    pub fn from(d: &'a Document, tz: FixedOffset) -> Self {
        DocumentJson {
            document_id: &d.document_id,
            document_type: &d.document_type,
            status: &d.status,
            sha256: &d.sha256,
            size: d.size,
            content_type: &d.content_type,
            filename: &d.filename,
            uploaded_at: rfc3339(d.created_at, tz),
            updated_at: rfc3339(d.updated_at, tz),
        }
    }
}

#[derive(Serialize)]
pub struct NoteJson<'a> {
    pub note_id: i64,
    pub lead_id: &'a str,
    #[serde(rename = "type")]
    pub note_type: &'a str,
    pub note: &'a str,
    pub created_at: String,
}

impl<'a> NoteJson<'a> {
    pub fn from(n: &'a Note, lead_id: &'a str, tz: FixedOffset) -> Self {
        NoteJson {
            note_id: n.id,
            lead_id,
            note_type: &n.note_type,
            note: &n.note,
            created_at: rfc3339(n.created_at, tz),
        }
    }
}

#[derive(Serialize)]
pub struct AuditJson<'a> {
    pub action: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<&'a str>,
    pub key_id: Option<i64>,
    pub at: String,
}

impl<'a> AuditJson<'a> {
    pub fn from(e: &'a AuditEntry, tz: FixedOffset) -> Self {
        let json = |t: &Option<String>| t.as_deref().and_then(|s| serde_json::from_str(s).ok());
        AuditJson {
            action: &e.action,
            field: e.field.as_deref(),
            old: json(&e.old_value),
            new: json(&e.new_value),
            detail: e.detail.as_deref(),
            key_id: e.key_id,
            at: rfc3339(e.at, tz),
        }
    }
}
