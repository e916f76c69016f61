//! Document upload: the file arrives already streamed into a staged temp blob (see
//! `blobs`); this judges it, puts the blob durably in place, and only then commits the row.

use super::idempotency::{fingerprint, idempotent, Created, IdemRequest, StoreAnswer};
use super::leads::{audit, settle_documents, terminal_conflict, visible_lead};
use super::{now_ms, App};
use crate::blobs::Staged;
use crate::db;
use crate::error::{Error, FieldErrors, Result};
use crate::model::{sanitize_filename, AuditEntry, Caller, Document, FileKind};

/// What a multipart upload carried.
pub struct UploadInput {
    pub document_type: Option<String>,
    pub file: Option<Staged>,
    pub filename: Option<String>,
    /// Parts named `file` beyond the first.
    pub extra_files: usize,
}

pub fn upload_document(
    app: &App,
    caller: &Caller,
    lead_id: &str,
    input: UploadInput,
    idem: Option<IdemRequest<Document>>,
) -> Result<Created<Document>> {
    idempotent(app, caller, idem, |store| {
        upload_once(app, caller, lead_id, input, store)
    })
}

/// What makes two uploads "the same request" for an idempotency key.
pub fn upload_fingerprint(lead_id: &str, input: &UploadInput) -> String {
    let doc_type = input
        .document_type
        .as_deref()
        .unwrap_or("")
        .trim()
        .to_ascii_uppercase();
    let sha = input.file.as_ref().map_or("", |f| f.sha256.as_str());
    fingerprint(
        "upload",
        lead_id,
        &serde_json::json!({ "document_type": doc_type, "sha256": sha }),
    )
}

/// An upload's parts judged field by field: every problem, its document type and the kind
/// of its file.
fn check_upload(
    app: &App,
    input: &UploadInput,
) -> Result<(FieldErrors, Option<String>, Option<FileKind>)> {
    let mut errs = FieldErrors::new();
    let document_type = match input.document_type.as_deref().map(str::trim) {
        None | Some("") => {
            errs.add("document_type", "is required");
            None
        }
        Some(t) => {
            let found = app.db.read(|c| db::masters::find_document_type(c, t))?;
            if found.is_none() {
                errs.add(
                    "document_type",
                    "must be one of the document types (see GET /api/v1/document-types)",
                );
            }
            found
        }
    };
    let mut kind = None;
    match &input.file {
        None => errs.add("file", "is required"),
        Some(_) if input.extra_files > 0 => errs.add("file", "must be exactly one file"),
        Some(f) if f.size == 0 => errs.add("file", "must not be empty"),
        Some(f) => match FileKind::sniff(&f.head) {
            Some(k) => kind = Some(k),
            None => errs.add(
                "file",
                "must be a PDF, JPEG or PNG file (judged by its content)",
            ),
        },
    }
    Ok((errs, document_type, kind))
}

/// The field errors of an upload, storing nothing (to report them together with a
/// malformed `Idempotency-Key`).
pub fn upload_field_errors(app: &App, input: &UploadInput) -> Result<FieldErrors> {
    Ok(check_upload(app, input)?.0)
}

fn upload_once(
    app: &App,
    caller: &Caller,
    lead_id: &str,
    input: UploadInput,
    store: Option<StoreAnswer<Document>>,
) -> Result<Document> {
    let lead = app.db.read(|c| visible_lead(c, caller, lead_id))?;
    let (errs, document_type, kind) = check_upload(app, &input)?;
    errs.into_result()?;
    let (Some(document_type), Some(file), Some(kind)) = (document_type, input.file, kind) else {
        return Err(Error::internal("validated upload without its parts"));
    };
    if lead.status.is_terminal() {
        return Err(terminal_conflict(lead.status));
    }
    let sha256 = file.sha256.clone();
    let size = file.size as i64;
    let filename = sanitize_filename(input.filename.as_deref(), kind);
    // The blob is durable before the row that points to it commits.
    app.blobs.persist(file)?;
    let caller = caller.clone();
    let lead_id = lead_id.to_string();
    app.db.write(move |c| {
        let mut lead = visible_lead(c, &caller, &lead_id)?;
        if lead.status.is_terminal() {
            return Err(terminal_conflict(lead.status));
        }
        let now = now_ms();
        let number = db::masters::next_counter(c, "document")?;
        let document_id = format!("DOC{number}");
        let row = db::leads::insert_document(
            c,
            &db::leads::NewDocument {
                document_id: &document_id,
                lead_row: lead.row,
                document_type: &document_type,
                sha256: &sha256,
                size,
                content_type: kind.content_type(),
                filename: &filename,
                key_id: caller.key_id,
                now,
            },
        )?;
        let entry = AuditEntry {
            action: "document_upload".into(),
            field: Some("document_type".into()),
            new_value: Some(serde_json::Value::String(document_type.clone()).to_string()),
            detail: Some(document_id.clone()),
            ..Default::default()
        };
        audit(c, lead.row, Some(caller.key_id), now, entry)?;
        db::leads::remove_pending(c, lead.row, &document_type)?;
        settle_documents(c, &mut lead, caller.key_id, now)?;
        db::leads::touch(c, lead.row, now)?;
        let doc = Document {
            row,
            document_id,
            lead_row: lead.row,
            document_type,
            status: "uploaded".into(),
            sha256,
            size,
            content_type: kind.content_type().into(),
            filename,
            created_at: now,
            updated_at: now,
        };
        if let Some(store) = store {
            store(c, &doc)?;
        }
        Ok(doc)
    })
}
