//! The only module that touches the document folder. Blobs are content-addressed
//! (`documents/ab/ab12…`, by SHA-256): an upload is streamed into a temp file in the same
//! folder while it is hashed, then fsynced, renamed into place and the folder fsynced, all
//! before the row that points to it is committed. A crash can leave an orphan blob, never a
//! row without its file.

use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

pub struct Blobs {
    dir: PathBuf,
}

/// An upload written to a temp file, not yet in place.
pub struct Staged {
    file: tempfile::NamedTempFile,
    pub sha256: String,
    pub size: u64,
    /// The first bytes, for judging the file's type.
    pub head: Vec<u8>,
}

/// Why streaming an upload stopped.
pub enum StageError {
    /// More than the limit arrived.
    TooLarge,
    /// The body could not be read (client went away, garbled framing).
    Read(io::Error),
    /// Our side could not store it.
    Store(Error),
}

const HEAD_LEN: usize = 16;

impl Blobs {
    pub fn open(dir: &Path) -> Result<Blobs> {
        create_private_dir(dir)?;
        create_private_dir(&dir.join("tmp"))?;
        Ok(Blobs {
            dir: dir.to_path_buf(),
        })
    }

    /// Streams `src` into a temp file, hashing as it goes; stops with `TooLarge` as soon as
    /// more than `limit` bytes arrive.
    pub fn stage(&self, src: &mut dyn Read, limit: u64) -> Result<Staged, StageError> {
        let mut file = tempfile::Builder::new()
            .prefix("upload-")
            .tempfile_in(self.dir.join("tmp"))
            .map_err(|e| StageError::Store(e.into()))?;
        let mut hasher = Sha256::new();
        let mut head = Vec::with_capacity(HEAD_LEN);
        let mut size: u64 = 0;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match src.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(StageError::Read(e)),
            };
            size += n as u64;
            if size > limit {
                return Err(StageError::TooLarge);
            }
            let chunk = &buf[..n];
            if head.len() < HEAD_LEN {
                let take = (HEAD_LEN - head.len()).min(n);
                head.extend_from_slice(&chunk[..take]);
            }
            hasher.update(chunk);
            file.write_all(chunk)
                .map_err(|e| StageError::Store(e.into()))?;
        }
        Ok(Staged {
            file,
            sha256: hex::encode(hasher.finalize()),
            size,
            head,
        })
    }

    fn path_of(&self, sha256: &str) -> Option<PathBuf> {
        let valid = sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_hexdigit());
        valid.then(|| self.dir.join(&sha256[..2]).join(sha256))
    }

    /// Moves a staged upload into place, durably. An identical blob already in place is
    /// kept and the new copy dropped.
    pub fn persist(&self, staged: Staged) -> Result<()> {
        let target = self
            .path_of(&staged.sha256)
            .ok_or_else(|| Error::internal("bad blob hash"))?;
        if target.exists() {
            return Ok(());
        }
        let folder = target
            .parent()
            .ok_or_else(|| Error::internal("blob path has no folder"))?;
        let new_folder = !folder.is_dir();
        create_private_dir(folder)?;
        staged.file.as_file().sync_all()?;
        // KYC documents are readable by the service's user only.
        set_private(staged.file.path())?;
        staged
            .file
            .persist(&target)
            .map_err(|e| Error::from(e.error))?;
        File::open(folder)?.sync_all()?;
        // The documents folder changed only if the shard folder is new.
        if new_folder {
            File::open(&self.dir)?.sync_all()?;
        }
        Ok(())
    }

    pub fn open_blob(&self, sha256: &str) -> Result<File> {
        let path = self
            .path_of(sha256)
            .ok_or_else(|| Error::internal("bad blob hash"))?;
        File::open(path).map_err(|e| Error::internal(format!("blob {sha256}: {e}")))
    }
}

/// Creates `dir` (and its parents) if missing; a folder it creates is readable by the
/// service's user only, since it will hold customers' data.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// A blob found on disk.
pub struct Found {
    pub sha256: String,
    pub path: PathBuf,
    pub age: std::time::Duration,
}

impl Blobs {
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every file in the folder: content-addressed blobs and leftover temp uploads (whose
    /// `sha256` is empty).
    pub fn list(&self) -> Result<Vec<Found>> {
        let mut found = Vec::new();
        for shard in fs::read_dir(&self.dir)? {
            let shard = shard?;
            if !shard.file_type()?.is_dir() {
                continue;
            }
            let is_tmp = shard.file_name() == "tmp";
            for entry in fs::read_dir(shard.path())? {
                let entry = entry?;
                let meta = entry.metadata()?;
                if !meta.is_file() {
                    continue;
                }
                let name = entry.file_name().to_string_lossy().into_owned();
                let age = meta
                    .modified()
                    .ok()
                    .and_then(|m| m.elapsed().ok())
                    .unwrap_or_default();
                let sha256 = if is_tmp || self.path_of(&name).is_none() {
                    String::new()
                } else {
                    name
                };
                found.push(Found {
                    sha256,
                    path: entry.path(),
                    age,
                });
            }
        }
        Ok(found)
    }

    /// The SHA-256 of a stored blob's bytes, or `None` when it is missing.
    pub fn hash_of(&self, sha256: &str) -> Result<Option<String>> {
        let Some(path) = self.path_of(sha256) else {
            return Ok(None);
        };
        let mut file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let mut hasher = Sha256::new();
        io::copy(&mut file, &mut hasher)?;
        Ok(Some(hex::encode(hasher.finalize())))
    }
}

#[cfg(unix)]
fn set_private(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn set_private(_path: &Path) -> io::Result<()> {
    Ok(())
}
