//! CPU time and resident memory of a process, read from `/proc`, and finding the process that
//! listens on a TCP port.

use std::time::Instant;

/// Clock ticks per second of `/proc/<pid>/stat` (USER_HZ; 100 on every Linux this runs on).
const TICKS_PER_S: f64 = 100.0;

/// One reading of a process.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sample {
    pub(crate) at: Instant,
    /// Ticks in user and kernel mode.
    pub(crate) utime: u64,
    pub(crate) stime: u64,
    pub(crate) rss_kb: u64,
}

/// `None` when the process is gone or `/proc` is unreadable.
pub(crate) fn sample(pid: u32) -> Option<Sample> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let (utime, stime) = parse_stat(&stat)?;
    Some(Sample {
        at: Instant::now(),
        utime,
        stime,
        rss_kb: parse_rss_kb(&status).unwrap_or(0),
    })
}

/// The calling thread's CPU time (`rss_kb` 0); `None` when `/proc` is unreadable.
pub(crate) fn sample_thread() -> Option<Sample> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    let (utime, stime) = parse_stat(&stat)?;
    Some(Sample {
        at: Instant::now(),
        utime,
        stime,
        rss_kb: 0,
    })
}

/// utime and stime (fields 14 and 15) of a `/proc/<pid>/stat` line. The command name (field 2)
/// is in parentheses and may itself hold spaces and parentheses, so fields are counted from
/// the last `)`.
pub(crate) fn parse_stat(line: &str) -> Option<(u64, u64)> {
    let rest = &line[line.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    // After the name: state (3), ppid (4), … utime is field 14, i.e. the 12th after the name.
    let utime = fields.nth(11)?.parse().ok()?;
    let stime = fields.next()?.parse().ok()?;
    Some((utime, stime))
}

/// Busy time of every CPU of the machine together, at one moment.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Machine {
    pub(crate) at: Instant,
    /// Ticks not idle (nor waiting for I/O), summed over the CPUs.
    pub(crate) busy: u64,
}

/// `None` when `/proc/stat` is unreadable.
pub(crate) fn machine() -> Option<Machine> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    Some(Machine {
        at: Instant::now(),
        busy: parse_busy(&stat)?,
    })
}

/// Busy ticks of the `cpu` line (all CPUs) of `/proc/stat`: user, nice, system, irq, softirq
/// and steal; not idle and iowait, nor guest time (already counted in user and nice).
pub(crate) fn parse_busy(stat: &str) -> Option<u64> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let f: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    let at = |i: usize| f.get(i).copied().unwrap_or(0);
    Some(at(0) + at(1) + at(2) + at(5) + at(6) + at(7))
}

/// The machine's busy time between two readings, as percent of one core (up to 100 × CPUs).
pub(crate) fn machine_pct(a: &Machine, b: &Machine) -> f64 {
    let wall = b.at.duration_since(a.at).as_secs_f64();
    if wall <= 0.0 {
        return 0.0;
    }
    b.busy.saturating_sub(a.busy) as f64 / TICKS_PER_S / wall * 100.0
}

/// `VmRSS` of a `/proc/<pid>/status`, KiB.
pub(crate) fn parse_rss_kb(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// CPU between two samples, as percent of one core (user, system).
pub(crate) fn cpu_pct(a: &Sample, b: &Sample) -> (f64, f64) {
    let wall = b.at.duration_since(a.at).as_secs_f64();
    if wall <= 0.0 {
        return (0.0, 0.0);
    }
    let pct = |t: u64| t as f64 / TICKS_PER_S / wall * 100.0;
    (
        pct(b.utime.saturating_sub(a.utime)),
        pct(b.stime.saturating_sub(a.stime)),
    )
}

/// CPU (user + system) between two samples, µs.
pub(crate) fn cpu_us(a: &Sample, b: &Sample) -> f64 {
    let ticks = (b.utime + b.stime).saturating_sub(a.utime + a.stime);
    ticks as f64 / TICKS_PER_S * 1e6
}

/// Inodes of sockets listening on `port` in a `/proc/net/tcp{,6}` table.
pub(crate) fn listening_inodes(table: &str, port: u16) -> Vec<u64> {
    let want = format!("{port:04X}");
    table
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let local_port = f.get(1)?.rsplit(':').next()?;
            // State 0A is LISTEN.
            (local_port == want && *f.get(3)? == "0A").then(|| f.get(9)?.parse().ok())?
        })
        .collect()
}

/// The process that holds a socket listening on `port`.
pub(crate) fn find_listener(port: u16) -> Option<u32> {
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        if let Ok(t) = std::fs::read_to_string(table) {
            inodes.extend(listening_inodes(&t, port));
        }
    }
    if inodes.is_empty() {
        return None;
    }
    let wanted: Vec<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if let Ok(target) = std::fs::read_link(fd.path())
                && wanted.iter().any(|w| target.as_os_str() == w.as_str())
            {
                return Some(pid);
            }
        }
    }
    None
}

/// The soft limit on open files of this process (from `/proc/self/limits`).
pub(crate) fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    parse_open_files(&limits)
}

pub(crate) fn parse_open_files(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn stat_fields_are_counted_from_the_last_parenthesis() {
        let line = "4242 (tokio (rt) x) S 1 4242 4242 0 -1 4194560 1000 0 0 0 \
                    1234 567 0 0 20 0 3 0 100 1000000 2500 18446744073709551615";
        assert_eq!(parse_stat(line), Some((1234, 567)));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn rss_and_limits() {
        let status = "Name:\tarbiter\nVmPeak:\t  100 kB\nVmRSS:\t   51200 kB\nThreads:\t3\n";
        assert_eq!(parse_rss_kb(status), Some(51_200));
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max open files            20000                20000                files\n";
        assert_eq!(parse_open_files(limits), Some(20_000));
    }

    #[test]
    fn machine_busy_time() {
        let stat = "cpu  147050 1135 30609 79398 891 0 3070 257 0 0\n\
                    cpu0 74233 0 13735 41693 105 0 1319 133 0 0\n";
        assert_eq!(
            parse_busy(stat),
            Some(147_050 + 1_135 + 30_609 + 3_070 + 257)
        );
        assert_eq!(parse_busy("intr 1 2 3\n"), None);
        let at = Instant::now();
        let a = Machine { at, busy: 1_000 };
        let b = Machine {
            at: at + Duration::from_secs(2),
            busy: 1_300,
        };
        assert_eq!(machine_pct(&a, &b), 150.0);
    }

    #[test]
    fn cpu_between_samples() {
        let at = Instant::now();
        let a = Sample {
            at,
            utime: 100,
            stime: 50,
            rss_kb: 0,
        };
        let b = Sample {
            at: at + Duration::from_secs(2),
            utime: 160,
            stime: 130,
            rss_kb: 0,
        };
        assert_eq!(cpu_pct(&a, &b), (30.0, 40.0));
        assert_eq!(cpu_us(&a, &b), 1_400_000.0);
    }

    #[test]
    fn listening_socket_inodes() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
           0: 0100007F:1EC6 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 777 1 0 100 0 0 10 0\n\
           1: 0100007F:1EC6 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 888 1 0 20 4 30 10 -1\n\
           2: 0100007F:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 999 1 0 100 0 0 10 0\n";
        assert_eq!(listening_inodes(table, 7878), vec![777]);
        assert_eq!(listening_inodes(table, 22), vec![999]);
        assert!(listening_inodes(table, 80).is_empty());
    }
}
