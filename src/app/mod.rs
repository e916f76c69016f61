//! One public function per use case. This layer owns the rules that need the store: ID
//! generation, the lead lifecycle, partner visibility, transactions (each write is one
//! closure run by the writer) and the blob-before-row ordering of uploads.

mod back_office;
mod idempotency;
mod keys;
mod leads;
mod ops;
mod search;
mod uploads;

pub use back_office::*;
pub use idempotency::{
    fingerprint, parse_key as parse_idempotency_key, Created, IdemRequest, Render,
};
pub use keys::{
    authenticate, authenticate_hash, create_key, ensure_key, first_run_key, list_keys,
    presented_hash, revoke_key, rotate_key, NewKey,
};
pub use leads::*;
pub use ops::{backup, check, restore, BackupReport, CheckReport};
pub use search::{list_leads, LeadPage};
pub use uploads::{upload_document, upload_field_errors, upload_fingerprint, UploadInput};

use crate::blobs::Blobs;
use crate::db::{self, Db, Synchronous};
use crate::error::Result;
use crate::model::{DocumentType, LenderMapping, Product, StatusInfo};
use chrono::FixedOffset;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// The settings the use cases need.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Local time of the office: lead-ID dates and rendered times use it.
    pub offset: FixedOffset,
    pub synchronous: Synchronous,
    /// Whether a second open lead for the same mobile and product is accepted.
    pub allow_duplicates: bool,
}

pub struct App {
    pub db: Db,
    pub blobs: Blobs,
    pub settings: Settings,
    in_flight: idempotency::InFlight,
}

impl App {
    /// Opens the store in `data_dir`: `dhanita.db` and `documents/`.
    pub fn open(data_dir: &Path, settings: Settings) -> Result<App> {
        crate::blobs::create_private_dir(data_dir)?;
        let blobs = Blobs::open(&data_dir.join("documents"))?;
        let db = Db::open(&data_dir.join("dhanita.db"), settings.synchronous)?;
        Ok(App {
            db,
            blobs,
            settings,
            in_flight: Default::default(),
        })
    }

    pub fn close(&self) {
        self.db.close();
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub fn list_products(app: &App) -> Result<Vec<Product>> {
    app.db.read(db::masters::active_products)
}

pub fn list_categories(app: &App) -> Result<Vec<String>> {
    app.db.read(db::masters::categories)
}

/// The lender mapping, of one product when `product` is given: its code in any case, or its
/// name, as `POST /leads` takes it. A value that matches no product gives an empty list; an
/// empty one (`?product_code=`, as a form with nothing chosen sends it) is no filter, as
/// empty filters of `GET /leads` are.
pub fn list_lender_mapping(app: &App, product: Option<&str>) -> Result<Vec<LenderMapping>> {
    app.db.read(|c| {
        let code = match product.map(str::trim).filter(|p| !p.is_empty()) {
            None => None,
            Some(given) => Some(match db::masters::find_active_product(c, given)? {
                Some(p) => p.code,
                None => given.to_ascii_uppercase(),
            }),
        };
        db::masters::lender_mapping(c, code.as_deref())
    })
}

pub fn list_statuses(app: &App) -> Result<Vec<StatusInfo>> {
    app.db.read(db::masters::statuses)
}

pub fn list_document_types(app: &App) -> Result<Vec<DocumentType>> {
    app.db.read(db::masters::document_types)
}
