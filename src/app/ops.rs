//! The operator's commands: online backup, restore into an empty data folder, and the
//! consistency check of database and blobs.

use super::App;
use crate::db;
use crate::error::{Error, Result};
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What a backup wrote.
pub struct BackupReport {
    pub bytes: u64,
    pub blobs: usize,
}

/// Writes a consistent copy of the running store to `file`: a tar archive holding
/// `dhanita.db` (an online snapshot) and `documents/` (every blob; the snapshot's rows only
/// point to blobs that were in place before they committed, so all of them are included).
pub fn backup(app: &App, file: &Path) -> Result<BackupReport> {
    if file.exists() {
        return Err(Error::field(
            "file",
            format!("{} already exists", file.display()),
        ));
    }
    let parent = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let work = tempfile::tempdir_in(&parent)?;
    let snapshot = work.path().join("dhanita.db");
    app.db.backup_into(&snapshot)?;
    let partial = work.path().join("backup.tar");
    let mut archive = tar::Builder::new(File::create(&partial)?);
    archive.append_path_with_name(&snapshot, "dhanita.db")?;
    let mut blobs = 0;
    for found in app.blobs.list()? {
        if found.sha256.is_empty() {
            continue;
        }
        let name = format!("documents/{}/{}", &found.sha256[..2], found.sha256);
        archive.append_path_with_name(&found.path, name)?;
        blobs += 1;
    }
    let out = archive.into_inner()?;
    out.sync_all()?;
    drop(out);
    fs::rename(&partial, file)?;
    File::open(&parent)?.sync_all()?;
    Ok(BackupReport {
        bytes: fs::metadata(file)?.len(),
        blobs,
    })
}

/// Unpacks a backup into `data_dir`, which must not hold a database yet; returns the
/// restored (leads, documents) counts after checking the result.
pub fn restore(
    file: &Path,
    data_dir: &Path,
    settings: super::Settings,
) -> Result<(i64, i64, CheckReport)> {
    if data_dir.join("dhanita.db").exists() {
        return Err(Error::field(
            "data_dir",
            format!(
                "{} already holds a database; restore into an empty folder",
                data_dir.display()
            ),
        ));
    }
    crate::blobs::create_private_dir(data_dir)?;
    let mut archive = tar::Archive::new(File::open(file)?);
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.into_owned();
        let allowed = path == Path::new("dhanita.db") || path.starts_with("documents");
        if !allowed {
            return Err(Error::field(
                "file",
                format!("unexpected entry {} in the backup", path.display()),
            ));
        }
        // `unpack_in` refuses paths that would land outside `data_dir`.
        entry.unpack_in(data_dir)?;
    }
    let app = App::open(data_dir, settings)?;
    let counts = app.db.read(db::ops::counts)?;
    let report = check(&app, false)?;
    app.close();
    Ok((counts.0, counts.1, report))
}

#[derive(Debug, Default)]
pub struct CheckReport {
    /// `PRAGMA integrity_check` lines other than "ok".
    pub integrity: Vec<String>,
    /// Documents whose blob is missing: (document_id, sha256).
    pub missing: Vec<(String, String)>,
    /// Documents whose blob's bytes do not hash to its name.
    pub corrupt: Vec<(String, String)>,
    /// Files no row points to, with their age.
    pub orphans: Vec<(PathBuf, Duration)>,
    /// Orphans removed by `--fix`.
    pub removed: usize,
}

impl CheckReport {
    /// Database sound and every document's blob present and intact (orphans are leftovers
    /// of interrupted uploads, harmless, and do not count).
    pub fn all_well(&self) -> bool {
        self.integrity.is_empty() && self.missing.is_empty() && self.corrupt.is_empty()
    }
}

/// Orphans younger than this may belong to an upload still in progress.
const ORPHAN_MIN_AGE: Duration = Duration::from_secs(3600);

pub fn check(app: &App, fix: bool) -> Result<CheckReport> {
    let mut report = CheckReport::default();
    let (integrity, docs) = app
        .db
        .read(|c| Ok((db::ops::integrity_check(c)?, db::ops::document_blobs(c)?)))?;
    report.integrity = integrity.into_iter().filter(|l| l != "ok").collect();
    let mut seen = std::collections::HashSet::new();
    for (document_id, sha) in docs {
        if !seen.insert(sha.clone()) {
            continue;
        }
        match app.blobs.hash_of(&sha)? {
            None => report.missing.push((document_id, sha)),
            Some(actual) if actual != sha => report.corrupt.push((document_id, sha)),
            Some(_) => {}
        }
    }
    // A blob whose row commits after the rows were read above looks orphaned here, but it
    // is young: `--fix` removes only orphans older than an hour.
    for found in app.blobs.list()? {
        if found.sha256.is_empty() || !seen.contains(&found.sha256) {
            if fix && found.age >= ORPHAN_MIN_AGE {
                fs::remove_file(&found.path)?;
                report.removed += 1;
            }
            report.orphans.push((found.path, found.age));
        }
    }
    Ok(report)
}
