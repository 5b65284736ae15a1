//! The human-readable form of a [`Report`].

use std::fmt::Write as _;

use crate::issue::Report;
use crate::verify;

/// The report as a few aligned lines and a latency table.
pub fn issue_table(report: &Report) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write_table(&mut out, report);
    out
}

fn write_table(out: &mut String, r: &Report) -> std::fmt::Result {
    writeln!(
        out,
        "{}: batch {}, {} wallets ({} broken), {:.1} s",
        r.configuration, r.batch, r.wallets, r.broken_wallets, r.elapsed_seconds
    )?;
    writeln!(
        out,
        "  credentials        {} in {} flows: {:.1} credentials/s",
        r.credentials, r.flows, r.credentials_per_second
    )?;
    writeln!(
        out,
        "  {:<18} {:>8} {:>9} {:>9} {:>9} {:>9}",
        "endpoint", "requests", "mean ms", "p50 ms", "p99 ms", "max ms"
    )?;
    for e in &r.endpoints {
        writeln!(
            out,
            "  {:<18} {:>8} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
            e.endpoint, e.requests, e.mean_ms, e.p50_ms, e.p99_ms, e.max_ms
        )?;
    }
    writeln!(out, "  unexpected errors  {}", r.unexpected_errors)?;
    for (kind, count) in &r.unexpected_by_kind {
        writeln!(out, "    {count:>6}  {kind}")?;
    }
    if !r.expected_errors.is_empty() {
        let expected: Vec<String> = r.expected_errors.iter().map(|(kind, n)| format!("{kind} {n}")).collect();
        writeln!(out, "  expected errors    {}", expected.join(", "))?;
    }
    writeln!(
        out,
        "  /ready             {} polls, {} failed; after the run: {}",
        r.health.checks,
        r.health.failures,
        if r.health.ready_after { "ready" } else { "NOT READY" }
    )?;
    if let Some(s) = &r.server {
        writeln!(
            out,
            "  server pid {:<7} RSS idle {:.1} MiB, after {:.1} MiB, peak (VmHWM) {:.1} MiB",
            s.pid,
            s.idle_rss_kib as f64 / 1024.0,
            s.rss_after_kib as f64 / 1024.0,
            s.peak_rss_kib as f64 / 1024.0
        )?;
        writeln!(
            out,
            "  server CPU         {:.2} s: {:.1} credentials per CPU second (load tool: {:.2} CPU s)",
            s.cpu_seconds, s.credentials_per_cpu_second, r.client_cpu_seconds
        )?;
    }
    writeln!(
        out,
        "  bare ES256         sign {:.1} µs + verify {:.1} µs: bound {:.0} credentials/s per core",
        r.crypto.sign_us, r.crypto.verify_us, r.crypto.bound_per_core
    )?;
    write!(
        out,
        "  ratio to bound     {:.1} % ({:.1} credentials/s per core over {} cores)",
        r.ratio.of_bound_by_cores * 100.0,
        r.ratio.credentials_per_second_per_core,
        r.ratio.server_cores
    )?;
    match r.ratio.of_bound_by_cpu_time {
        Some(by_cpu) => writeln!(out, "; {:.1} % by server CPU time", by_cpu * 100.0),
        None => writeln!(out),
    }
}

/// A verifier run's report as a few aligned lines.
pub fn verify_table(report: &verify::Report) -> String {
    let r = report;
    format!(
        "{}: {} claims disclosed, {} bytes, {} threads, {:.1} s\n  \
         presentations      {} verified: {:.1}/s, {:.1} per CPU second ({:.2} CPU s)\n  \
         one check          {:.1} µs of CPU; bare ES256 verify {:.1} µs × 3 = {:.1} µs\n  \
         ratio              {:.1} % of a check is its bare signature verification\n",
        r.format.name(),
        r.disclosed_claims,
        r.presentation_bytes,
        r.threads,
        r.elapsed_seconds,
        r.presentations,
        r.presentations_per_second,
        r.presentations_per_cpu_second,
        r.cpu_seconds,
        r.check_us,
        r.bare_verify_us,
        r.bare_check_us,
        r.of_bare_cost * 100.0
    )
}
