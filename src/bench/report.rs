//! The text report.

use super::*;

fn thousands(n: f64) -> String {
    let s = format!("{:.0}", n.max(0.0));
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn cell_row(out: &mut String, label: &str, c: &Cell) {
    out.push_str(&format!(
        "  {:<16} {:>4} {:>10} {:>9.2} {:>9.2} {:>9.2} {:>9.1} {:>7}\n",
        label,
        c.concurrency,
        thousands(c.per_sec),
        c.p50_ms,
        c.p99_ms,
        c.p999_ms,
        c.max_ms,
        c.errors
    ));
}

const CELL_HEADER: &str =
    "  operation           c      req/s    p50 ms    p99 ms  p99.9 ms    max ms  errors\n";

pub(super) fn render(r: &Report) -> String {
    let mut out = String::new();
    let s = &r.settings;
    out.push_str(&format!(
        "dhanita bench: {} CPUs ({}), {} {}; {}\n",
        r.machine.cpus, r.machine.cpu, r.machine.os, r.machine.kernel, s.target
    ));
    out.push_str(&format!(
        "  synchronous {}, {} request slots, {:.1} s per cell, keep-alive loopback clients, request log {}, kept answers {}\n",
        s.synchronous.to_uppercase(),
        s.workers,
        s.duration_secs,
        if s.request_log { "on" } else { "off (RUST_LOG=info turns it on)" },
        if s.keep_answers { "on (DHANITA_KEEP_ANSWERS=false turns them off)" } else { "off" }
    ));
    out.push_str(&format!(
        "  data in {} ({}), removed afterwards\n",
        s.data_dir, s.filesystem
    ));
    if let Some(d) = &r.dataset {
        out.push_str(&format!(
            "  dataset: {} leads ({} journey, {} audit rows) generated in {:.1} s ({} leads/s); \
             database {:.1} MiB = {:.0} bytes per lead; start-up {:.1} ms\n",
            thousands(d.leads as f64),
            thousands(d.journey_rows as f64),
            thousands(d.audit_rows as f64),
            d.generate_secs,
            thousands(d.leads as f64 / d.generate_secs.max(1e-9)),
            d.database_bytes as f64 / (1 << 20) as f64,
            d.bytes_per_lead,
            d.startup_ms
        ));
    }

    out.push_str("\nLIMITS (measured before and after the operations; the higher is the limit)\n");
    for c in &r.limits.commit {
        out.push_str(&format!(
            "  SQLite one-row commit, WAL, synchronous {}, {:<6} {:>7} commits/s, p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms\n",
            s.synchronous.to_uppercase(),
            c.phase,
            thousands(c.per_sec),
            c.p50_ms,
            c.p99_ms,
            c.p999_ms
        ));
    }
    out.push_str(&format!(
        "  constant JSON from the same server with {} request slots:\n",
        s.workers
    ));
    out.push_str(CELL_HEADER);
    for cell in &r.limits.constant {
        let label = format!("constant {}", cell.phase.unwrap_or(""));
        cell_row(&mut out, &label, cell);
    }

    out.push_str("\nOPERATIONS\n");
    out.push_str(CELL_HEADER);
    let mut errors = Vec::new();
    for op in OPERATIONS {
        for cell in r.operations.iter().filter(|c| c.operation == op.id()) {
            cell_row(&mut out, op.label(), cell);
            if let Some(e) = &cell.first_error {
                errors.push(format!("  {} c={}: {e}", op.label(), cell.concurrency));
            }
        }
    }
    for e in errors {
        out.push_str(&e);
        out.push('\n');
    }

    out.push_str(
        "\nRATIOS (req/s of the operation / its limit: writes / commits/s, reads / constant at the same c)\n",
    );
    out.push_str(&format!("  {:<16} {:<9}", "operation", "limit"));
    for c in &s.concurrency {
        out.push_str(&format!(" {:>8}", format!("c={c}")));
    }
    out.push('\n');
    for op in OPERATIONS {
        let limit = if op.is_write() { "commit" } else { "constant" };
        out.push_str(&format!("  {:<16} {:<9}", op.label(), limit));
        for &c in &s.concurrency {
            let ratio = r
                .operations
                .iter()
                .find(|x| x.operation == op.id() && x.concurrency == c)
                .and_then(|x| x.ratio);
            match ratio {
                Some(v) => out.push_str(&format!(" {:>7.0}%", v * 100.0)),
                None => out.push_str(&format!(" {:>8}", "-")),
            }
        }
        out.push('\n');
    }

    out.push_str("\nMEMORY");
    let m = &r.memory;
    if !m.in_process {
        out.push_str(": not measured (the server is another process)\n");
        return out;
    }
    out.push_str(" (VmRSS/VmHWM of this process: the server plus the bench's client threads)\n");
    if let Some(idle) = m.idle_rss_kib {
        out.push_str(&format!("  idle, before any load: {}\n", mib(idle)));
    }
    if let Some(d) = m.upload_10mib_peak_delta_kib {
        out.push_str(&format!(
            "  one 10 MiB upload raised the peak by {:.2} MiB\n",
            d as f64 / 1024.0
        ));
    }
    if let Some(peak) = m.peak_rss_kib {
        out.push_str(&format!("  peak during the operations: {}\n", mib(peak)));
    }
    let after: Vec<String> = r
        .operations
        .iter()
        .filter(|c| Some(c.concurrency) == s.concurrency.iter().max().copied())
        .filter_map(|c| {
            let file = c.rss_file_kib_after.unwrap_or(0) as f64 / 1024.0;
            c.rss_kib_after.map(|k| {
                format!(
                    "{} {:.1} ({:.1} file)",
                    c.operation,
                    k as f64 / 1024.0,
                    file
                )
            })
        })
        .collect();
    if !after.is_empty() {
        out.push_str(&format!(
            "  RSS after each operation at c={} (MiB; \"file\": mapped database pages, the OS page cache): {}\n",
            s.concurrency.iter().max().copied().unwrap_or(0),
            after.join(", ")
        ));
    }
    out
}
