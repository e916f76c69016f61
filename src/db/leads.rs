//! Leads and what hangs off them: pending document types, journey, documents, notes.

use super::Conn;
use crate::error::Result;
use crate::model::{Document, JourneyEntry, Lead, Money, Note, Rm, Status};
use rusqlite::{params, OptionalExtension};

/// The columns a new lead row is written with.
pub struct NewRow<'a> {
    pub lead_id: &'a str,
    pub partner_id: i64,
    pub product_code: &'a str,
    pub customer_name: &'a str,
    pub mobile: &'a str,
    pub email: Option<&'a str>,
    pub loan_amount: Option<Money>,
    pub city: Option<&'a str>,
    pub dsa_code: Option<&'a str>,
    pub status: Status,
    pub rm_id: Option<i64>,
    pub key_id: i64,
    pub now: i64,
}

/// Hands out the next lead number of a local day (1, 2, …), never repeating.
pub fn next_number(c: &Conn, day: &str) -> Result<i64> {
    let mut st = c.0.prepare_cached(
        "INSERT INTO lead_days (day, last) VALUES (?1, 1)
         ON CONFLICT(day) DO UPDATE SET last = last + 1 RETURNING last",
    )?;
    Ok(st.query_row([day], |r| r.get(0))?)
}

pub fn insert(c: &Conn, l: &NewRow) -> Result<i64> {
    let mut st = c.0.prepare_cached(
        "INSERT INTO leads (lead_id, partner_id, product_code, customer_name, mobile, email,
            loan_amount, city, dsa_code, status, rm_id, created_by_key, created_at, updated_at,
            name_folded)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13, ?14)",
    )?;
    st.execute(params![
        l.lead_id,
        l.partner_id,
        l.product_code,
        l.customer_name,
        l.mobile,
        l.email,
        l.loan_amount.map(Money::paise),
        l.city,
        l.dsa_code,
        l.status.as_str(),
        l.rm_id,
        l.key_id,
        l.now,
        l.customer_name.to_lowercase()
    ])?;
    Ok(c.0.last_insert_rowid())
}

const LEAD_COLUMNS: &str = "l.id, l.lead_id, l.partner_id, l.product_code, p.name, l.customer_name,
    l.mobile, l.email, l.loan_amount, l.city, l.dsa_code, l.status, r.id, r.name, r.mobile,
    r.email, ln.name, l.lender_status, l.approved_amount, l.disbursement_status,
    l.disbursement_date, l.created_at, l.updated_at
    FROM leads l JOIN products p ON p.code = l.product_code
    LEFT JOIN rms r ON r.id = l.rm_id LEFT JOIN lenders ln ON ln.id = l.lender_id";

fn lead_row(r: &rusqlite::Row) -> rusqlite::Result<Lead> {
    let status: String = r.get(11)?;
    let rm_id: Option<i64> = r.get(12)?;
    let rm = match rm_id {
        Some(id) => Some(Rm {
            id,
            name: r.get(13)?,
            mobile: r.get(14)?,
            email: r.get(15)?,
        }),
        None => None,
    };
    Ok(Lead {
        row: r.get(0)?,
        lead_id: r.get(1)?,
        partner_id: r.get(2)?,
        product_code: r.get(3)?,
        product_name: r.get(4)?,
        customer_name: r.get(5)?,
        mobile: r.get(6)?,
        email: r.get(7)?,
        loan_amount: r.get::<_, Option<i64>>(8)?.map(Money::from_paise),
        city: r.get(9)?,
        dsa_code: r.get(10)?,
        status: Status::parse(&status).unwrap_or(Status::New),
        rm,
        lender_name: r.get(16)?,
        lender_status: r.get(17)?,
        approved_amount: r.get::<_, Option<i64>>(18)?.map(Money::from_paise),
        disbursement_status: r.get(19)?,
        disbursement_date: r.get(20)?,
        created_at: r.get(21)?,
        updated_at: r.get(22)?,
    })
}

pub fn find(c: &Conn, lead_id: &str) -> Result<Option<Lead>> {
    let mut st =
        c.0.prepare_cached(&format!("SELECT {LEAD_COLUMNS} WHERE l.lead_id = ?1"))?;
    Ok(st.query_row([lead_id], lead_row).optional()?)
}

/// Writes the editable fields and `updated_at` of `lead` back.
pub fn update_fields(c: &Conn, lead: &Lead) -> Result<()> {
    let mut st = c.0.prepare_cached(
        "UPDATE leads SET customer_name = ?2, email = ?3, loan_amount = ?4, city = ?5,
            updated_at = ?6, name_folded = ?7 WHERE id = ?1",
    )?;
    st.execute(params![
        lead.row,
        lead.customer_name,
        lead.email,
        lead.loan_amount.map(Money::paise),
        lead.city,
        lead.updated_at,
        lead.customer_name.to_lowercase()
    ])?;
    Ok(())
}

pub fn touch(c: &Conn, row: i64, now: i64) -> Result<()> {
    let mut st =
        c.0.prepare_cached("UPDATE leads SET updated_at = ?2 WHERE id = ?1")?;
    st.execute(params![row, now])?;
    Ok(())
}

pub fn set_status(c: &Conn, row: i64, status: Status, now: i64) -> Result<()> {
    let mut st =
        c.0.prepare_cached("UPDATE leads SET status = ?2, updated_at = ?3 WHERE id = ?1")?;
    st.execute(params![row, status.as_str(), now])?;
    Ok(())
}

pub fn add_journey(
    c: &Conn,
    row: i64,
    from: Option<Status>,
    to: Status,
    note: &str,
    key_id: Option<i64>,
    now: i64,
) -> Result<()> {
    let mut st = c.0.prepare_cached(
        "INSERT INTO journey (lead_id, from_status, status, note, key_id, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    st.execute(params![
        row,
        from.map(Status::as_str),
        to.as_str(),
        note,
        key_id,
        now
    ])?;
    Ok(())
}

pub fn journey(c: &Conn, row: i64) -> Result<Vec<JourneyEntry>> {
    let mut st = c.0.prepare_cached(
        "SELECT from_status, status, note, key_id, created_at FROM journey WHERE lead_id = ?1 ORDER BY id",
    )?;
    let rows = st.query_map([row], |r| {
        Ok(JourneyEntry {
            from_status: r.get(0)?,
            status: r.get(1)?,
            note: r.get(2)?,
            key_id: r.get(3)?,
            created_at: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn pending_documents(c: &Conn, row: i64) -> Result<Vec<String>> {
    let mut st = c.0.prepare_cached(
        "SELECT pd.document_type FROM lead_pending_documents pd
         JOIN document_types t ON t.code = pd.document_type
         WHERE pd.lead_id = ?1 ORDER BY t.position",
    )?;
    let rows = st.query_map([row], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn add_pending(c: &Conn, row: i64, doc_type: &str) -> Result<()> {
    let mut st = c.0.prepare_cached(
        "INSERT INTO lead_pending_documents (lead_id, document_type) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
    )?;
    st.execute(params![row, doc_type])?;
    Ok(())
}

pub fn remove_pending(c: &Conn, row: i64, doc_type: &str) -> Result<()> {
    let mut st = c.0.prepare_cached(
        "DELETE FROM lead_pending_documents WHERE lead_id = ?1 AND document_type = ?2",
    )?;
    st.execute(params![row, doc_type])?;
    Ok(())
}

pub struct NewDocument<'a> {
    pub document_id: &'a str,
    pub lead_row: i64,
    pub document_type: &'a str,
    pub sha256: &'a str,
    pub size: i64,
    pub content_type: &'a str,
    pub filename: &'a str,
    pub key_id: i64,
    pub now: i64,
}

pub fn insert_document(c: &Conn, d: &NewDocument) -> Result<i64> {
    let mut st = c.0.prepare_cached(
        "INSERT INTO documents (document_id, lead_id, document_type, status, sha256, size,
            content_type, filename, key_id, created_at, updated_at)
         VALUES (?1, ?2, ?3, 'uploaded', ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
    )?;
    st.execute(params![
        d.document_id,
        d.lead_row,
        d.document_type,
        d.sha256,
        d.size,
        d.content_type,
        d.filename,
        d.key_id,
        d.now
    ])?;
    Ok(c.0.last_insert_rowid())
}

const DOCUMENT_COLUMNS: &str = "id, document_id, lead_id, document_type, status, sha256, size,
    content_type, filename, created_at, updated_at FROM documents";

fn document_row(r: &rusqlite::Row) -> rusqlite::Result<Document> {
    Ok(Document {
        row: r.get(0)?,
        document_id: r.get(1)?,
        lead_row: r.get(2)?,
        document_type: r.get(3)?,
        status: r.get(4)?,
        sha256: r.get(5)?,
        size: r.get(6)?,
        content_type: r.get(7)?,
        filename: r.get(8)?,
        created_at: r.get(9)?,
        updated_at: r.get(10)?,
    })
}

pub fn find_document(c: &Conn, lead_row: i64, document_id: &str) -> Result<Option<Document>> {
    let mut st = c.0.prepare_cached(&format!(
        "SELECT {DOCUMENT_COLUMNS} WHERE document_id = ?1 AND lead_id = ?2"
    ))?;
    Ok(st
        .query_row(params![document_id, lead_row], document_row)
        .optional()?)
}

pub fn documents(c: &Conn, lead_row: i64) -> Result<Vec<Document>> {
    let mut st = c.0.prepare_cached(&format!(
        "SELECT {DOCUMENT_COLUMNS} WHERE lead_id = ?1 ORDER BY id"
    ))?;
    let rows = st.query_map([lead_row], document_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Whether the lead holds a document of this type that has not been rejected.
pub fn has_live_document(c: &Conn, lead_row: i64, doc_type: &str) -> Result<bool> {
    let mut st = c.0.prepare_cached(
        "SELECT 1 FROM documents WHERE lead_id = ?1 AND document_type = ?2 AND status <> 'rejected' LIMIT 1",
    )?;
    Ok(st
        .query_row(params![lead_row, doc_type], |_| Ok(()))
        .optional()?
        .is_some())
}

pub fn update_document(c: &Conn, d: &Document) -> Result<()> {
    let mut st = c.0.prepare_cached(
        "UPDATE documents SET document_type = ?2, status = ?3, updated_at = ?4 WHERE id = ?1",
    )?;
    st.execute(params![d.row, d.document_type, d.status, d.updated_at])?;
    Ok(())
}

pub fn insert_note(
    c: &Conn,
    lead_row: i64,
    note_type: &str,
    note: &str,
    key_id: i64,
    now: i64,
) -> Result<i64> {
    let mut st = c.0.prepare_cached(
        "INSERT INTO notes (lead_id, note_type, note, key_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    st.execute(params![lead_row, note_type, note, key_id, now])?;
    Ok(c.0.last_insert_rowid())
}

pub fn notes(c: &Conn, lead_row: i64) -> Result<Vec<Note>> {
    let mut st = c.0.prepare_cached(
        "SELECT id, note_type, note, key_id, created_at FROM notes WHERE lead_id = ?1 ORDER BY id",
    )?;
    let rows = st.query_map([lead_row], |r| {
        Ok(Note {
            id: r.get(0)?,
            note_type: r.get(1)?,
            note: r.get(2)?,
            key_id: r.get(3)?,
            created_at: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// An open (non-terminal) lead for the same mobile and product: (lead_id, partner_id).
pub fn find_open_duplicate(
    c: &Conn,
    mobile: &str,
    product_code: &str,
) -> Result<Option<(String, i64)>> {
    let mut st = c.0.prepare_cached(
        "SELECT lead_id, partner_id FROM leads
         WHERE mobile = ?1 AND product_code = ?2 AND status NOT IN ('rejected', 'disbursed')
         ORDER BY id LIMIT 1",
    )?;
    Ok(st
        .query_row(params![mobile, product_code], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?)
}

pub fn set_rm(c: &Conn, row: i64, rm_id: i64, now: i64) -> Result<()> {
    let mut st =
        c.0.prepare_cached("UPDATE leads SET rm_id = ?2, updated_at = ?3 WHERE id = ?1")?;
    st.execute(params![row, rm_id, now])?;
    Ok(())
}

pub fn set_lender(c: &Conn, row: i64, lender_id: i64, lender_status: &str, now: i64) -> Result<()> {
    let mut st = c.0.prepare_cached(
        "UPDATE leads SET lender_id = ?2, lender_status = ?3, updated_at = ?4 WHERE id = ?1",
    )?;
    st.execute(params![row, lender_id, lender_status, now])?;
    Ok(())
}

pub fn set_disbursement(
    c: &Conn,
    row: i64,
    approved: Option<Money>,
    status: &str,
    date: Option<&str>,
    now: i64,
) -> Result<()> {
    let mut st = c.0.prepare_cached(
        "UPDATE leads SET approved_amount = ?2, disbursement_status = ?3, disbursement_date = ?4,
            updated_at = ?5 WHERE id = ?1",
    )?;
    st.execute(params![row, approved.map(Money::paise), status, date, now])?;
    Ok(())
}

/// Filters of a lead search; `None` means "any".
#[derive(Debug, Default, Clone)]
pub struct Search {
    pub partner_id: Option<i64>,
    pub status: Option<String>,
    pub product_code: Option<String>,
    pub dsa_code: Option<String>,
    pub mobile: Option<String>,
    pub name_contains: Option<String>,
    pub created_from: Option<i64>,
    pub created_before: Option<i64>,
    pub updated_since: Option<i64>,
    /// Keyset: only rows with a smaller internal id (the previous page's last).
    pub before_row: Option<i64>,
    pub limit: i64,
}

/// Leads matching `s`, newest first (by internal row id). Only the filters given appear in
/// the SQL, so the planner can use the index of the most selective one.
pub fn search(c: &Conn, s: &Search) -> Result<Vec<Lead>> {
    let mut clauses: Vec<&str> = Vec::new();
    let mut values: Vec<rusqlite::types::Value> = Vec::new();
    let mut add = |clause: &'static str, v: rusqlite::types::Value| {
        clauses.push(clause);
        values.push(v);
    };
    use rusqlite::types::Value as V;
    if let Some(p) = s.partner_id {
        add("l.partner_id = ?", V::Integer(p));
    }
    if let Some(v) = &s.status {
        add("l.status = ?", V::Text(v.clone()));
    }
    if let Some(v) = &s.product_code {
        add("l.product_code = ?", V::Text(v.clone()));
    }
    if let Some(v) = &s.dsa_code {
        add("l.dsa_code = ?", V::Text(v.clone()));
    }
    if let Some(v) = &s.mobile {
        add("l.mobile = ?", V::Text(v.clone()));
    }
    if let Some(v) = &s.name_contains {
        add("instr(l.name_folded, ?) > 0", V::Text(v.clone()));
    }
    if let Some(v) = s.created_from {
        add("l.created_at >= ?", V::Integer(v));
    }
    if let Some(v) = s.created_before {
        add("l.created_at < ?", V::Integer(v));
    }
    if let Some(v) = s.updated_since {
        add("l.updated_at >= ?", V::Integer(v));
    }
    if let Some(v) = s.before_row {
        add("l.id < ?", V::Integer(v));
    }
    let filter = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    values.push(V::Integer(s.limit));
    let sql = format!("SELECT {LEAD_COLUMNS} {filter} ORDER BY l.id DESC LIMIT ?");
    let mut st = c.0.prepare_cached(&sql)?;
    let rows = st.query_map(rusqlite::params_from_iter(values), lead_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}
