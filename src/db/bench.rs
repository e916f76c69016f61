//! What `dhanita bench` needs from SQLite directly: the raw commit rate of the disk (the
//! limit every durable write is measured against), and a bulk generator of realistic leads
//! for the scale runs. Neither is used by the server.

use super::{configure, Synchronous};
use crate::error::{Error, Result};
use crate::model::{local_day, Status};
use chrono::FixedOffset;
use rusqlite::{params, Connection};
use std::path::Path;
use std::time::{Duration, Instant};

/// Commits one-row transactions on a fresh WAL database at `path` (created, then removed
/// with its `-wal`/`-shm`) for `duration`, as the server's writer would with no batching.
/// Calls `on_commit` with each commit's latency; returns (commits, seconds elapsed).
pub fn commit_rate(
    path: &Path,
    sync: Synchronous,
    duration: Duration,
    on_commit: &mut dyn FnMut(Duration),
) -> Result<(u64, f64)> {
    let result = commit_loop(path, sync, duration, on_commit);
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
    result
}

fn commit_loop(
    path: &Path,
    sync: Synchronous,
    duration: Duration,
    on_commit: &mut dyn FnMut(Duration),
) -> Result<(u64, f64)> {
    let conn = Connection::open(path)?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Error::internal(format!("refused WAL mode ({mode})")));
    }
    configure(&conn, sync)?;
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS commits (id INTEGER PRIMARY KEY, at INTEGER NOT NULL, note TEXT NOT NULL)",
    )?;
    let mut insert = conn.prepare("INSERT INTO commits (at, note) VALUES (?1, ?2)")?;
    let started = Instant::now();
    let mut commits = 0u64;
    while started.elapsed() < duration {
        let t = Instant::now();
        conn.execute_batch("BEGIN IMMEDIATE")?;
        insert.execute(params![commits as i64, "one row, one commit"])?;
        conn.execute_batch("COMMIT")?;
        on_commit(t.elapsed());
        commits += 1;
    }
    Ok((commits, started.elapsed().as_secs_f64()))
}

/// What `generate_leads` made.
#[derive(Debug, Clone)]
pub struct Generated {
    pub leads: u64,
    pub journey: u64,
    pub audit: u64,
    /// Lead IDs owned by the key's partner, spread evenly over the whole range.
    pub sample: Vec<String>,
}

const FIRST: &[&str] = &[
    "Aarav",
    "Vivaan",
    "Aditya",
    "Vihaan",
    "Arjun",
    "Sai",
    "Reyansh",
    "Ayaan",
    "Krishna",
    "Ishaan",
    "Ananya",
    "Diya",
    "Aadhya",
    "Saanvi",
    "Pari",
    "Anika",
    "Navya",
    "Myra",
    "Sara",
    "Meera",
    "Rohit",
    "Priya",
    "Sunita",
    "Ramesh",
    "Lakshmi",
    "Farhan",
    "Zoya",
    "Gurpreet",
    "Harleen",
    "Joseph",
    "Mary",
    "Venkatesh",
    "Kavitha",
    "Suresh",
    "Deepa",
    "Imran",
    "Nisha",
    "Rahul",
    "Pooja",
    "Arun",
];
const LAST: &[&str] = &[
    "Sharma",
    "Verma",
    "Patel",
    "Reddy",
    "Iyer",
    "Nair",
    "Gupta",
    "Singh",
    "Kumar",
    "Das",
    "Banerjee",
    "Chatterjee",
    "Mukherjee",
    "Joshi",
    "Kulkarni",
    "Deshpande",
    "Pillai",
    "Menon",
    "Rao",
    "Naidu",
    "Khan",
    "Qureshi",
    "Fernandes",
    "D'Souza",
    "Gill",
    "Sandhu",
    "Chauhan",
    "Yadav",
    "Mishra",
    "Tiwari",
    "Pandey",
    "Agarwal",
    "Bhat",
    "Shetty",
    "Hegde",
    "Kapoor",
    "Malhotra",
    "Saxena",
    "Bose",
    "Ghosh",
];
/// A few names in their own scripts, as an office would have.
const NATIVE: &[&str] = &[
    "अनन्या शर्मा",
    "राहुल वर्मा",
    "கார்த்திக் சுப்பிரமணியன்",
    "ప్రియ రెడ్డి",
    "অর্ক বন্দ্যোপাধ্যায়",
];
const CITIES: &[&str] = &[
    "Mumbai",
    "Delhi",
    "Bengaluru",
    "Hyderabad",
    "Chennai",
    "Kolkata",
    "Pune",
    "Ahmedabad",
    "Jaipur",
    "Lucknow",
    "Kochi",
    "Indore",
    "Nagpur",
    "Surat",
    "Bhopal",
    "Patna",
];
/// (code, required documents) of the seeded products.
const PRODUCTS: &[(&str, &[&str])] = &[
    ("INSTANT_LOAN", &["PAN", "AADHAAR"]),
    ("KYC_LOAN", &["PAN", "AADHAAR"]),
    ("PERSONAL_LOAN", &["PAN", "AADHAAR"]),
    ("BUSINESS_LOAN", &["PAN", "AADHAAR"]),
    ("HOME_LOAN", &["PAN", "AADHAAR"]),
    ("CAR_LOAN", &["PAN", "AADHAAR"]),
    ("CREDIT_CARD", &["PAN"]),
    ("SAVING_ACCOUNT", &["PAN", "AADHAAR"]),
    ("DEMAT_ACCOUNT", &["PAN", "AADHAAR"]),
    ("INSURANCE_SERVICES", &[]),
];
/// Partners the generated leads are spread over, besides the key's own.
const OTHER_PARTNERS: usize = 9;
/// Leads per transaction.
const BATCH: u64 = 50_000;
/// Leads per generated day: a busy office's volume.
const PER_DAY: u64 = 3_000;

/// A cheap, deterministic mix of `i` (splitmix64), so the data looks varied but every run
/// generates the same rows.
fn mix(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Bulk-loads `n` realistic leads into the (migrated, seeded, not otherwise open) database
/// at `path`, in large transactions: lead rows (ID `LD`+day+sequence over past days, ending
/// yesterday in `offset`; a tenth owned by the partner of key `key_id`, the rest by nine
/// generated partners), their journey and audit rows and pending document types, as the
/// server's own create and lifecycle moves would have written them. Mobiles are distinct and
/// start with 7, 8 or 9 (the bench's HTTP creates use 6…). `lead_days` and the RM cursor are
/// advanced so later creates continue the sequences. Uploaded documents are not generated
/// (they would need blobs). `progress` hears the count after each transaction and stops the
/// run by returning false. Ends with the WAL checkpointed and the file synced.
pub fn generate_leads(
    path: &Path,
    n: u64,
    key_id: i64,
    offset: FixedOffset,
    sample_size: usize,
    progress: &mut dyn FnMut(u64) -> bool,
) -> Result<Generated> {
    if n > 3_000_000_000 {
        return Err(Error::internal("at most 3,000,000,000 generated leads"));
    }
    let mut conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = OFF;
         PRAGMA cache_size = -131072; PRAGMA temp_store = MEMORY;",
    )?;
    let own_partner: i64 = conn.query_row(
        "SELECT partner_id FROM api_keys WHERE id = ?1",
        [key_id],
        |r| r.get(0),
    )?;
    let now = crate::app::now_ms();
    let mut partners = vec![own_partner];
    for k in 1..=OTHER_PARTNERS {
        let name = format!("Generated Partner {k:02}");
        conn.execute(
            "INSERT INTO partners (name, created_at) VALUES (?1, ?2) ON CONFLICT(name) DO NOTHING",
            params![name, now],
        )?;
        partners.push(
            conn.query_row("SELECT id FROM partners WHERE name = ?1", [&name], |r| {
                r.get(0)
            })?,
        );
    }
    let day_ms: i64 = 24 * 3600 * 1000;
    let days = n.div_ceil(PER_DAY).max(1) as i64;
    // Local midnight today, then count back.
    let today = chrono::DateTime::from_timestamp_millis(now)
        .map(|t| t.with_timezone(&offset).date_naive())
        .ok_or_else(|| Error::internal("clock out of range"))?;
    let midnight = today
        .and_hms_opt(0, 0, 0)
        .and_then(|t| t.and_local_timezone(offset).single())
        .map(|t| t.timestamp_millis())
        .ok_or_else(|| Error::internal("no local midnight"))?;
    let first_day = midnight - days * day_ms;
    let per_day = n.div_ceil(days as u64).max(1);
    let sample_every = (n / (partners.len() as u64 * sample_size.max(1) as u64)).max(1);
    let mut out = Generated {
        leads: 0,
        journey: 0,
        audit: 0,
        sample: Vec::new(),
    };
    let mut i = 0u64;
    while i < n {
        let end = (i + BATCH).min(n);
        let tx = conn.transaction()?;
        {
            let mut lead_st = tx.prepare_cached(
                "INSERT INTO leads (lead_id, partner_id, product_code, customer_name, mobile,
                    email, loan_amount, city, dsa_code, status, rm_id, lender_id, lender_status,
                    approved_amount, disbursement_status, disbursement_date, created_by_key,
                    created_at, updated_at, name_folded)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                    ?17, ?18, ?19, ?20)",
            )?;
            let mut journey_st = tx.prepare_cached(
                "INSERT INTO journey (lead_id, from_status, status, note, key_id, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            let mut audit_st = tx.prepare_cached(
                "INSERT INTO audit (lead_id, action, field, old_value, new_value, detail, key_id,
                    created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            let mut pending_st = tx.prepare_cached(
                "INSERT INTO lead_pending_documents (lead_id, document_type) VALUES (?1, ?2)",
            )?;
            let mut day_st = tx.prepare_cached(
                "INSERT INTO lead_days (day, last) VALUES (?1, ?2)
                 ON CONFLICT(day) DO UPDATE SET last = max(last, excluded.last)",
            )?;
            for i in i..end {
                let r = mix(i);
                let day_index = (i / per_day) as i64;
                let seq = i % per_day + 1;
                // Spread the day's leads over office hours, 09:00 to 19:00, in order.
                let created =
                    first_day + day_index * day_ms + 9 * 3600 * 1000 + (seq as i64 * 12_000);
                let day = local_day(created, offset);
                let lead_id = format!("LD{day}{seq:04}");
                let partner = partners[(i % partners.len() as u64) as usize];
                let (product, required) = PRODUCTS[(r % PRODUCTS.len() as u64) as usize];
                let name = if r.is_multiple_of(97) {
                    NATIVE[((r >> 8) % NATIVE.len() as u64) as usize].to_string()
                } else {
                    format!(
                        "{} {}",
                        FIRST[((r >> 8) % FIRST.len() as u64) as usize],
                        LAST[((r >> 16) % LAST.len() as u64) as usize]
                    )
                };
                // A bijection of 0..3e9 (1,000,003 is prime to 3e9): distinct mobiles.
                let mobile = 7_000_000_000 + (i * 1_000_003) % 3_000_000_000;
                let email = (!r.is_multiple_of(3)).then(|| {
                    format!(
                        "{}.{}@example.com",
                        FIRST[((r >> 8) % FIRST.len() as u64) as usize].to_lowercase(),
                        mobile % 100_000
                    )
                });
                let loan = (!product.ends_with("ACCOUNT") && product != "CREDIT_CARD")
                    .then(|| ((r >> 24) % 5000 + 10) as i64 * 10_000 * 100);
                let city = (!r.is_multiple_of(5))
                    .then(|| CITIES[((r >> 32) % CITIES.len() as u64) as usize]);
                let dsa = r
                    .is_multiple_of(4)
                    .then(|| format!("DSA{:03}", (r >> 40) % 50));
                let rm = (i % 3 + 1) as i64;
                // Where the lead got to: most wait for documents or review.
                let fate = (r >> 48) % 100;
                let mut path = vec![(None, Status::New, "Lead received.".to_string())];
                let docs_note = format!("Documents required: {}.", required.join(", "));
                if required.is_empty() {
                    path.push((
                        Some(Status::New),
                        Status::UnderReview,
                        "No documents required.".into(),
                    ));
                } else {
                    path.push((Some(Status::New), Status::DocumentPending, docs_note));
                    if fate >= 45 {
                        path.push((
                            Some(Status::DocumentPending),
                            Status::UnderReview,
                            "All required documents received.".into(),
                        ));
                    }
                }
                let last = path.last().map(|p| p.1).unwrap_or(Status::New);
                if last == Status::UnderReview {
                    if (75..90).contains(&fate) {
                        path.push((
                            Some(Status::UnderReview),
                            Status::Approved,
                            "Approved by the lender.".into(),
                        ));
                        if fate >= 82 {
                            path.push((
                                Some(Status::Approved),
                                Status::Disbursed,
                                "Amount disbursed.".into(),
                            ));
                        }
                    } else if fate >= 90 {
                        path.push((
                            Some(Status::UnderReview),
                            Status::Rejected,
                            "Rejected by the lender.".into(),
                        ));
                    }
                }
                let status = path.last().map(|p| p.1).unwrap_or(Status::New);
                let lender = matches!(status, Status::Approved | Status::Disbursed)
                    .then(|| ((r >> 52) % 4 + 1) as i64);
                let disbursed = status == Status::Disbursed;
                let updated = created + (path.len() as i64 - 2).max(0) * day_ms / 4;
                let name_folded = name.to_lowercase();
                lead_st.execute(params![
                    lead_id,
                    partner,
                    product,
                    name,
                    mobile.to_string(),
                    email,
                    loan,
                    city,
                    dsa,
                    status.as_str(),
                    rm,
                    lender,
                    lender.map(|_| "approved"),
                    lender.and(loan),
                    if disbursed {
                        "disbursed"
                    } else {
                        "not_started"
                    },
                    disbursed.then(|| crate::model::local_date(updated, offset)),
                    key_id,
                    created,
                    updated,
                    name_folded
                ])?;
                let row = tx.last_insert_rowid();
                let key = Some(key_id);
                audit_st.execute(params![
                    row,
                    "create",
                    None::<&str>,
                    None::<&str>,
                    None::<&str>,
                    lead_id,
                    key,
                    created
                ])?;
                audit_st.execute(params![
                    row,
                    "assign_rm",
                    "rm_id",
                    "null",
                    rm.to_string(),
                    None::<&str>,
                    key,
                    created
                ])?;
                out.audit += 2;
                for (k, (from, to, note)) in path.iter().enumerate() {
                    let at = if k < 2 {
                        created
                    } else {
                        created + (k as i64 - 1) * day_ms / 4
                    };
                    journey_st.execute(params![
                        row,
                        from.map(Status::as_str),
                        to.as_str(),
                        note,
                        key,
                        at
                    ])?;
                    out.journey += 1;
                    if let Some(from) = from {
                        audit_st.execute(params![
                            row,
                            "status",
                            "status",
                            format!("\"{}\"", from.as_str()),
                            format!("\"{}\"", to.as_str()),
                            note,
                            key,
                            at
                        ])?;
                        out.audit += 1;
                    }
                }
                if status == Status::DocumentPending {
                    for t in required {
                        pending_st.execute(params![row, t])?;
                    }
                }
                if seq == per_day || i + 1 == n {
                    day_st.execute(params![day, seq as i64])?;
                }
                if partner == own_partner
                    && (i / partners.len() as u64).is_multiple_of(sample_every)
                    && out.sample.len() < sample_size
                {
                    out.sample.push(lead_id);
                }
            }
            tx.execute(
                "INSERT INTO counters (name, value) VALUES ('rm_cursor', ?1)
                 ON CONFLICT(name) DO UPDATE SET value = value + ?1",
                [(end - i) as i64],
            )?;
        }
        tx.commit()?;
        out.leads = end;
        i = end;
        if !progress(end) {
            return Err(Error::internal("interrupted"));
        }
    }
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")?;
    drop(conn);
    std::fs::File::open(path)?.sync_all()?;
    Ok(out)
}
