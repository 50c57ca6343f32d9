//! Runs `wrk` (Debian's) and reads its report.

use std::process::Command;
use std::time::Duration;

use anyhow::{Context as _, bail};
use serde::Serialize;

use super::stats::Spread;

/// One wrk run's figures.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Run {
    /// Requests completed in the run.
    pub requests: u64,
    pub requests_per_sec: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Non-2xx/3xx answers plus socket errors.
    pub errors: u64,
}

/// Repeated runs of one measurement: the medians and ranges of their
/// figures, and their errors added up (should be 0).
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub requests_per_sec: Spread,
    pub p50_ms: Spread,
    pub p99_ms: Spread,
    pub errors: u64,
}

impl Summary {
    pub fn of(runs: &[Run]) -> Self {
        Self {
            requests_per_sec: Spread::of(runs.iter().map(|r| r.requests_per_sec)),
            p50_ms: Spread::of(runs.iter().map(|r| r.p50_ms)),
            p99_ms: Spread::of(runs.iter().map(|r| r.p99_ms)),
            errors: runs.iter().map(|r| r.errors).sum(),
        }
    }
}

/// `wrk` against `url` with `connections` (over at most two threads, one
/// per core here) for `duration`, sending `headers`.
pub fn run(
    url: &str,
    connections: usize,
    duration: Duration,
    headers: &[String],
) -> anyhow::Result<Run> {
    let mut command = Command::new("wrk");
    command
        .arg(format!("-t{}", connections.min(2)))
        .arg(format!("-c{connections}"))
        .arg(format!("-d{}s", duration.as_secs().max(1)))
        .arg("--latency");
    for header in headers {
        command.arg("-H").arg(header);
    }
    let out = command
        .arg(url)
        .output()
        .context("cannot run wrk (install Debian's `wrk`)")?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "wrk {url} failed ({}): {}{text}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    parse(&text).with_context(|| format!("unexpected wrk output:\n{text}"))
}

/// Reads `Requests/sec`, the 50% and 99% latency lines and the error
/// counts out of wrk's `--latency` report.
pub fn parse(text: &str) -> anyhow::Result<Run> {
    let mut run = Run::default();
    let mut seen_rate = false;
    for line in text.lines().map(str::trim) {
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (Some("Requests/sec:"), Some(rate)) => {
                run.requests_per_sec = rate.parse()?;
                seen_rate = true;
            }
            (Some("50%"), Some(latency)) => run.p50_ms = millis(latency)?,
            (Some("99%"), Some(latency)) => run.p99_ms = millis(latency)?,
            _ => {}
        }
        if let Some((count, _)) = line.split_once(" requests in ") {
            run.requests = count.trim().parse()?;
        }
        if let Some(count) = line.strip_prefix("Non-2xx or 3xx responses:") {
            run.errors += count.trim().parse::<u64>()?;
        }
        if let Some(errors) = line.strip_prefix("Socket errors:") {
            // "connect 0, read 0, write 0, timeout 0"
            for part in errors.split(',') {
                if let Some(n) = part.split_whitespace().nth(1) {
                    run.errors += n.parse::<u64>()?;
                }
            }
        }
    }
    if !seen_rate {
        bail!("no Requests/sec line");
    }
    Ok(run)
}

/// `812.00us`, `1.23ms`, `2.01s` → milliseconds.
fn millis(value: &str) -> anyhow::Result<f64> {
    let (number, factor) = if let Some(n) = value.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = value.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = value.strip_suffix('s') {
        (n, 1000.0)
    } else {
        bail!("latency without a unit: {value}")
    };
    Ok(number.parse::<f64>()? * factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "Running 3s test @ http://127.0.0.1:3003/
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.10ms  450.00us   9.80ms   88.00%
    Req/Sec     7.30k   500.00     8.00k    70.00%
  Latency Distribution
     50%  812.00us
     75%    1.20ms
     90%    1.90ms
     99%    2.50ms
  43800 requests in 3.00s, 120.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  14600.12
Transfer/sec:     40.00MB
";

    #[test]
    fn reads_the_report() {
        let run = parse(REPORT).unwrap();
        assert!((run.requests_per_sec - 14600.12).abs() < 1e-9);
        assert!((run.p50_ms - 0.812).abs() < 1e-9);
        assert!((run.p99_ms - 2.5).abs() < 1e-9);
        assert_eq!(run.errors, 7);
        assert_eq!(run.requests, 43800);
        assert!(parse("garbage").is_err());
        assert!((millis("2s").unwrap() - 2000.0).abs() < 1e-9);
    }
}
