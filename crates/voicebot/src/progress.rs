//! A batch's progress on the terminal, shared by `voicebot demo` and `voicebot batch watch`.
//!
//! On a terminal one line is redrawn in place; when stderr is a file or a pipe (CI logs, `tee`),
//! a plain line is written only when the count of final calls changes, so logs stay readable.

use std::io::{IsTerminal, Write};
use std::time::Instant;

use serde_json::Value;

const BAR_WIDTH: usize = 40;

/// Counts of one batch report (`GET /batch/{id}` data).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub total: usize,
    pub queued: usize,
    pub processing: usize,
    pub completed: usize,
    pub timeout: usize,
    pub failed: usize,
    pub cancelled: usize,
}

impl Counts {
    /// Counts calls by status in a batch report.
    pub fn of(report: &Value) -> Counts {
        let mut c = Counts::default();
        for call in report["request_calls"].as_array().map(Vec::as_slice).unwrap_or_default() {
            c.total += 1;
            match call["status"].as_str() {
                Some("COMPLETED") => c.completed += 1,
                Some("TIMEOUT") => c.timeout += 1,
                Some("FAILED") => c.failed += 1,
                Some("CANCELLED") => c.cancelled += 1,
                Some("QUEUED") => c.queued += 1,
                _ => c.processing += 1,
            }
        }
        c
    }

    /// Calls with a final status.
    pub fn done(&self) -> usize {
        self.completed + self.timeout + self.failed + self.cancelled
    }
}

/// Draws progress lines on stderr.
pub struct Progress {
    started: Instant,
    tty: bool,
    last_done: Option<usize>,
}

impl Progress {
    pub fn new() -> Progress {
        Progress { started: Instant::now(), tty: std::io::stderr().is_terminal(), last_done: None }
    }

    /// Shows `c`; call [`Progress::finish`] once the batch is final.
    pub fn update(&mut self, c: &Counts) {
        if !self.tty && self.last_done == Some(c.done()) {
            return;
        }
        self.last_done = Some(c.done());
        let line = render(c, self.started.elapsed().as_secs());
        let mut err = std::io::stderr().lock();
        let _ = if self.tty { write!(err, "\r{line}\x1b[K") } else { writeln!(err, "{line}") };
        let _ = err.flush();
    }

    /// Ends the redrawn line.
    pub fn finish(&self) {
        if self.tty {
            eprintln!();
        }
    }
}

/// `[########....] 120/1000 final (completed 100, timeout 5, failed 15) · 40 live · 12 s`
pub fn render(c: &Counts, elapsed_s: u64) -> String {
    let filled = (c.done() * BAR_WIDTH).checked_div(c.total).unwrap_or(0);
    let bar: String = (0..BAR_WIDTH).map(|i| if i < filled { '#' } else { '.' }).collect();
    format!(
        "[{bar}] {}/{} final (completed {}, timeout {}, failed {}, cancelled {}) · {} live · {elapsed_s} s",
        c.done(),
        c.total,
        c.completed,
        c.timeout,
        c.failed,
        c.cancelled,
        c.processing
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_bar_follow_the_report() {
        let report = serde_json::json!({"request_calls": [
            {"status": "COMPLETED"}, {"status": "FAILED"}, {"status": "PROCESSING"}, {"status": "QUEUED"}
        ]});
        let c = Counts::of(&report);
        assert_eq!((c.total, c.done(), c.processing, c.queued), (4, 2, 1, 1));
        let line = render(&c, 7);
        assert!(line.starts_with(&format!("[{}{}]", "#".repeat(20), ".".repeat(20))), "{line}");
        assert!(line.contains("2/4 final") && line.ends_with("7 s"), "{line}");
        assert_eq!(render(&Counts::default(), 0).matches('#').count(), 0);
    }
}
