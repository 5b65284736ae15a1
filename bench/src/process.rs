//! What Linux tells about a process: resident memory (`VmRSS`) and its peak (`VmHWM`) from
//! `/proc/PID/status`, and CPU time (user + system) from `/proc/PID/stat`. The load tool reads
//! the server's figures when it is given the server's process id, and its own for comparison.

use std::process::Command;

/// A snapshot of one process.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Snapshot {
    /// Resident set size now, KiB.
    pub rss_kib: u64,
    /// Peak resident set size since the process started (`VmHWM`), KiB.
    pub peak_rss_kib: u64,
    /// User plus system CPU time consumed so far, seconds (all threads).
    pub cpu_seconds: f64,
}

/// Reading `/proc` failed: no such process, or a kernel without these files.
#[derive(Debug, thiserror::Error)]
#[error("reading /proc/{pid}: {reason}")]
pub struct ProcError {
    /// The process id asked about (`self` for this process).
    pub pid: String,
    /// What went wrong.
    pub reason: String,
}

/// The snapshot of process `pid`, or of this process when `None`.
pub fn snapshot(pid: Option<u32>, ticks_per_second: f64) -> Result<Snapshot, ProcError> {
    let dir = pid.map_or_else(|| "self".to_owned(), |pid| pid.to_string());
    let fail = |reason: String| ProcError { pid: dir.clone(), reason };
    let status =
        std::fs::read_to_string(format!("/proc/{dir}/status")).map_err(|error| fail(error.to_string()))?;
    let stat =
        std::fs::read_to_string(format!("/proc/{dir}/stat")).map_err(|error| fail(error.to_string()))?;
    let rss_kib = status_kib(&status, "VmRSS:").ok_or_else(|| fail("no VmRSS in status".into()))?;
    let peak_rss_kib = status_kib(&status, "VmHWM:").ok_or_else(|| fail("no VmHWM in status".into()))?;
    let ticks = cpu_ticks(&stat).ok_or_else(|| fail("unreadable stat".into()))?;
    Ok(Snapshot { rss_kib, peak_rss_kib, cpu_seconds: ticks as f64 / ticks_per_second })
}

/// CPU time (user + system) the calling thread has used so far, seconds, from
/// `/proc/thread-self/stat`: a measurement on one thread that other processes cannot inflate by
/// taking the core away (wall-clock time would count their share too). `None` without that file.
pub fn thread_cpu_seconds(ticks_per_second: f64) -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    cpu_ticks(&stat).map(|ticks| ticks as f64 / ticks_per_second)
}

/// The kernel's clock ticks per second for `/proc/PID/stat` times (`getconf CLK_TCK`; 100, the
/// value on every common Linux, when `getconf` is missing).
pub fn ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .and_then(|text| text.trim().parse::<f64>().ok())
        .filter(|ticks| *ticks > 0.0)
        .unwrap_or(100.0)
}

/// A `Name:   1234 kB` line of `/proc/PID/status`, in KiB.
fn status_kib(status: &str, name: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(name))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|number| number.parse().ok())
}

/// `utime + stime` (fields 14 and 15) of a `/proc/PID/stat` line. The command name (field 2) is
/// in parentheses and may hold spaces, so fields are counted after its closing parenthesis.
fn cpu_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parses_status_and_stat() {
        let status = "Name:\tsegl\nVmHWM:\t   20480 kB\nVmRSS:\t   10240 kB\n";
        assert_eq!(status_kib(status, "VmHWM:"), Some(20480));
        assert_eq!(status_kib(status, "VmRSS:"), Some(10240));
        assert_eq!(status_kib(status, "VmSwap:"), None);
        let stat = "42 (segl serve) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0";
        assert_eq!(cpu_ticks(stat), Some(300));
        assert_eq!(cpu_ticks("garbage"), None);
    }

    #[test]
    fn reads_this_process() {
        let own = snapshot(None, ticks_per_second()).unwrap();
        assert!(own.rss_kib > 0 && own.peak_rss_kib >= own.rss_kib);
    }

    #[test]
    fn reads_this_thread() {
        let ticks = ticks_per_second();
        let before = thread_cpu_seconds(ticks).unwrap();
        let mut x = 0u64;
        for i in 0..5_000_000u64 {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
        }
        assert!(thread_cpu_seconds(ticks).unwrap() >= before, "{x}");
    }

    #[test]
    fn rejects_a_missing_process() {
        assert!(snapshot(Some(u32::MAX), 100.0).is_err());
    }
}
