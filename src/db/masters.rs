//! Reads of the masters: products, categories, document types, statuses, RMs, lenders.

use super::Conn;
use crate::error::Result;
use crate::model::{DocumentType, LenderMapping, Product, Rm, StatusInfo};
use rusqlite::{params, OptionalExtension};

fn required_documents(c: &Conn, code: &str) -> Result<Vec<String>> {
    let mut st = c.0.prepare_cached(
        "SELECT document_type FROM product_documents WHERE product_code = ?1 ORDER BY position",
    )?;
    let rows = st.query_map([code], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn product_row(r: &rusqlite::Row) -> rusqlite::Result<Product> {
    Ok(Product {
        code: r.get(0)?,
        name: r.get(1)?,
        category: r.get(2)?,
        status: r.get(3)?,
        required_documents: Vec::new(),
    })
}

pub fn active_products(c: &Conn) -> Result<Vec<Product>> {
    let mut st = c.0.prepare_cached(
        "SELECT code, name, category, status FROM products WHERE status = 'active' ORDER BY position",
    )?;
    let mut products: Vec<Product> = st.query_map([], product_row)?.collect::<Result<_, _>>()?;
    for p in &mut products {
        p.required_documents = required_documents(c, &p.code)?;
    }
    Ok(products)
}

/// An active product by code or by name, case-insensitively.
pub fn find_active_product(c: &Conn, name_or_code: &str) -> Result<Option<Product>> {
    let mut st = c.0.prepare_cached(
        "SELECT code, name, category, status FROM products
         WHERE status = 'active' AND (code = upper(?1) OR name = ?1 COLLATE NOCASE)",
    )?;
    let Some(mut p) = st.query_row([name_or_code], product_row).optional()? else {
        return Ok(None);
    };
    p.required_documents = required_documents(c, &p.code)?;
    Ok(Some(p))
}

pub fn categories(c: &Conn) -> Result<Vec<String>> {
    let mut st =
        c.0.prepare_cached("SELECT name FROM categories ORDER BY position")?;
    let rows = st.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn lender_mapping(c: &Conn, product_code: Option<&str>) -> Result<Vec<LenderMapping>> {
    let mut st = c.0.prepare_cached(
        "SELECT lp.product_code, l.name, lp.status
         FROM lender_products lp JOIN lenders l ON l.id = lp.lender_id
         JOIN products p ON p.code = lp.product_code
         WHERE ?1 IS NULL OR lp.product_code = ?1
         ORDER BY p.position, l.id",
    )?;
    let rows = st.query_map(params![product_code], |r| {
        Ok(LenderMapping {
            product_code: r.get(0)?,
            lender_name: r.get(1)?,
            status: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn statuses(c: &Conn) -> Result<Vec<StatusInfo>> {
    let mut st =
        c.0.prepare_cached("SELECT code, label, message FROM statuses ORDER BY position")?;
    let rows = st.query_map([], |r| {
        Ok(StatusInfo {
            code: r.get(0)?,
            label: r.get(1)?,
            message: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn status_message(c: &Conn, code: &str) -> Result<String> {
    let mut st =
        c.0.prepare_cached("SELECT message FROM statuses WHERE code = ?1")?;
    Ok(st
        .query_row([code], |r| r.get(0))
        .optional()?
        .unwrap_or_default())
}

pub fn document_types(c: &Conn) -> Result<Vec<DocumentType>> {
    let mut st =
        c.0.prepare_cached("SELECT code, name FROM document_types ORDER BY position")?;
    let rows = st.query_map([], |r| {
        Ok(DocumentType {
            code: r.get(0)?,
            name: r.get(1)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The document type whose code matches, case-insensitively.
pub fn find_document_type(c: &Conn, code: &str) -> Result<Option<String>> {
    let mut st =
        c.0.prepare_cached("SELECT code FROM document_types WHERE code = upper(?1)")?;
    Ok(st.query_row([code.trim()], |r| r.get(0)).optional()?)
}

pub fn active_rms(c: &Conn) -> Result<Vec<Rm>> {
    let mut st =
        c.0.prepare_cached("SELECT id, name, mobile, email FROM rms WHERE active = 1 ORDER BY id")?;
    let rows = st.query_map([], |r| {
        Ok(Rm {
            id: r.get(0)?,
            name: r.get(1)?,
            mobile: r.get(2)?,
            email: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Advances a named counter and returns its new value.
pub fn next_counter(c: &Conn, name: &str) -> Result<i64> {
    let mut st = c.0.prepare_cached(
        "INSERT INTO counters (name, value) VALUES (?1, 1)
         ON CONFLICT(name) DO UPDATE SET value = value + 1 RETURNING value",
    )?;
    Ok(st.query_row([name], |r| r.get(0))?)
}

pub fn find_rm(c: &Conn, id: i64) -> Result<Option<Rm>> {
    let mut st =
        c.0.prepare_cached("SELECT id, name, mobile, email FROM rms WHERE id = ?1 AND active = 1")?;
    Ok(st
        .query_row([id], |r| {
            Ok(Rm {
                id: r.get(0)?,
                name: r.get(1)?,
                mobile: r.get(2)?,
                email: r.get(3)?,
            })
        })
        .optional()?)
}

/// The id and exact name of an active lender mapped to `product_code`, by name
/// (case-insensitive).
pub fn find_mapped_lender(
    c: &Conn,
    name: &str,
    product_code: &str,
) -> Result<Option<(i64, String)>> {
    let mut st = c.0.prepare_cached(
        "SELECT l.id, l.name FROM lenders l JOIN lender_products lp ON lp.lender_id = l.id
         WHERE l.name = ?1 COLLATE NOCASE AND lp.product_code = ?2 AND lp.status = 'active'",
    )?;
    Ok(st
        .query_row(params![name.trim(), product_code], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?)
}
