//! Optional statement trace: with `DHANITA_TRACE_SQL=FILE`, every SQL statement the server
//! prepares and runs is appended to FILE (its text as written, with `?` placeholders, never
//! the bound values, so no customer data). A test uses it to check that every query the
//! server runs is served by an index.

use rusqlite::trace::{TraceEvent, TraceEventCodes};
use rusqlite::Connection;
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::{Mutex, OnceLock};

static SINK: OnceLock<Mutex<File>> = OnceLock::new();

/// Starts appending statements to `path` (for this process; called once at start-up).
pub fn enable(path: &Path) -> std::io::Result<()> {
    let file = File::options().create(true).append(true).open(path)?;
    let _ = SINK.set(Mutex::new(file));
    Ok(())
}

fn on_event(event: TraceEvent<'_>) {
    if let (TraceEvent::Stmt(_, sql), Some(sink)) = (event, SINK.get()) {
        if let Ok(mut f) = sink.lock() {
            let _ = write!(f, "{sql}\n-- end\n");
        }
    }
}

pub(super) fn install(conn: &Connection) {
    if SINK.get().is_some() {
        conn.trace_v2(TraceEventCodes::SQLITE_TRACE_STMT, Some(on_event));
    }
}
