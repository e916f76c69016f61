//! What the machine and this process look like: memory, filesystems, CPU.

use std::path::Path;

/// One KiB field of /proc/self/status.
pub(super) fn status_kib(name: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<u64>().ok())
}

/// (VmRSS, VmHWM) of this process in KiB.
pub(super) fn rss_kib() -> Option<(u64, u64)> {
    Some((status_kib("VmRSS:")?, status_kib("VmHWM:")?))
}

/// Resets the process's peak RSS to its current RSS (Linux ≥ 4.0); false if it cannot.
pub(super) fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The file system type and device holding `path`, from /proc/self/mountinfo.
pub(super) fn filesystem_of(path: &Path) -> Option<(String, String)> {
    let path = path.canonicalize().ok()?;
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let mut best: Option<(usize, String, String)> = None;
    for line in info.lines() {
        let (left, right) = line.split_once(" - ")?;
        let mount = left.split(' ').nth(4)?.replace("\\040", " ");
        let mut r = right.split(' ');
        let (fstype, source) = (r.next()?.to_string(), r.next().unwrap_or("").to_string());
        if path.starts_with(&mount) && best.as_ref().is_none_or(|b| mount.len() >= b.0) {
            best = Some((mount.len(), fstype, source));
        }
    }
    best.map(|(_, t, s)| (t, s))
}

pub(super) fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}
