//! Server CPU accounting for the benchmark (Linux procfs, proc(5)): a process's user +
//! system time from `/proc/PID/stat` fields 14 and 15 (in clock ticks, `getconf CLK_TCK`),
//! and finding processes by their `/proc/PID/comm` name.

use std::path::Path;
use std::time::Duration;

/// The tick rate Linux exposes to user space on every mainstream architecture (USER_HZ),
/// used when `getconf CLK_TCK` cannot be run.
pub const DEFAULT_CLK_TCK: u64 = 100;

/// Longest process name the kernel keeps in `comm` (TASK_COMM_LEN - 1, proc(5)).
pub const COMM_MAX_LEN: usize = 15;

/// Reading a process's CPU time failed.
#[derive(Debug, thiserror::Error)]
pub enum CpuError {
    /// `/proc/PID/stat` could not be read (the process may have exited).
    #[error("cannot read /proc/{pid}/stat: {source}")]
    Read {
        /// The process.
        pid: u32,
        /// The I/O error.
        source: std::io::Error,
    },
    /// `/proc/PID/stat` does not have the expected layout.
    #[error("/proc/{0}/stat has an unexpected format")]
    Format(u32),
    /// No process has the given name.
    #[error("no process named {0:?} in /proc")]
    NoSuchProcess(String),
}

/// The kernel's clock tick rate for `/proc` times, from `getconf CLK_TCK`.
pub fn clock_ticks_per_second() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<u64>().ok())
        .filter(|&t| t > 0)
        .unwrap_or(DEFAULT_CLK_TCK)
}

/// utime + stime of `pid`, in clock ticks.
pub fn process_cpu_ticks(pid: u32) -> Result<u64, CpuError> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|source| CpuError::Read { pid, source })?;
    parse_stat_cpu_ticks(&text).ok_or(CpuError::Format(pid))
}

/// Sum of utime + stime over `pids`, converted to a duration.
pub fn total_cpu(pids: &[u32], ticks_per_second: u64) -> Result<Duration, CpuError> {
    let mut ticks = 0u64;
    for &p in pids {
        ticks += process_cpu_ticks(p)?;
    }
    Ok(Duration::from_secs_f64(
        ticks as f64 / ticks_per_second.max(1) as f64,
    ))
}

/// Parses utime (field 14) + stime (field 15) out of a `/proc/PID/stat` line. The command
/// name (field 2) may contain spaces and parentheses, so fields are counted after the last ')'.
pub fn parse_stat_cpu_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_ascii_whitespace().collect();
    // fields[0] is field 3 (state), so field N is fields[N - 3].
    let utime: u64 = fields.get(14 - 3)?.parse().ok()?;
    let stime: u64 = fields.get(15 - 3)?.parse().ok()?;
    Some(utime + stime)
}

/// Pids whose `comm` equals `name` (or its first 15 bytes, as the kernel truncates it).
pub fn find_pids_by_name(name: &str) -> Result<Vec<u32>, CpuError> {
    find_pids_in(Path::new("/proc"), name)
}

fn find_pids_in(proc_root: &Path, name: &str) -> Result<Vec<u32>, CpuError> {
    let want = truncate_comm(name);
    let mut out = Vec::new();
    let entries =
        std::fs::read_dir(proc_root).map_err(|source| CpuError::Read { pid: 0, source })?;
    for e in entries.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if let Ok(comm) = std::fs::read_to_string(e.path().join("comm"))
            && comm.trim_end_matches('\n') == want
        {
            out.push(pid);
        }
    }
    if out.is_empty() {
        return Err(CpuError::NoSuchProcess(name.to_string()));
    }
    out.sort_unstable();
    Ok(out)
}

fn truncate_comm(name: &str) -> &str {
    let mut end = name.len().min(COMM_MAX_LEN);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_odd_comm() {
        let line =
            "4242 (we ird) (x)) S 1 4242 4242 0 -1 4194560 1000 0 0 0 37 12 0 0 20 0 8 0 99 0 0";
        assert_eq!(parse_stat_cpu_ticks(line), Some(49));
        assert_eq!(parse_stat_cpu_ticks("1 (x) S 1 2"), None);
        assert_eq!(parse_stat_cpu_ticks("no paren"), None);
    }

    #[test]
    fn own_process_is_found_and_measured() {
        let me = std::process::id();
        assert!(process_cpu_ticks(me).is_ok());
        let comm = std::fs::read_to_string(format!("/proc/{me}/comm")).unwrap();
        let pids = find_pids_by_name(comm.trim_end()).unwrap();
        assert!(pids.contains(&me));
        assert!(matches!(
            find_pids_by_name("no-such-process-name-xyz"),
            Err(CpuError::NoSuchProcess(_))
        ));
        assert!(clock_ticks_per_second() >= 1);
    }

    #[test]
    fn comm_truncation() {
        assert_eq!(truncate_comm("pebble-challtestsrv"), "pebble-challtes");
        assert_eq!(truncate_comm("pebble"), "pebble");
    }
}
