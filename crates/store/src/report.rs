//! The batch report: the seed's completion-callback payload (CONTRACT.md §7), also served by
//! `GET /voicebot/v1/batch/{id}`. Built from rows in one place so the API and the callback
//! can never disagree. Field order is the seed's and is fixed by the struct order.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::value::RawValue;

use crate::model::{BatchRow, CallRow, CallStatus};

/// Formats Unix microseconds as the seed's `2024-06-21T10:00:00.000000` (UTC, no zone).
pub fn format_timestamp(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .unwrap_or_default()
        .naive_utc()
        .format("%Y-%m-%dT%H:%M:%S%.6f")
        .to_string()
}

/// Rounds to two decimals, as the seed's `success_rate`.
fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The callback payload.
#[derive(Debug, Serialize)]
pub struct BatchReport {
    /// The batch id.
    pub request_id: String,
    /// `PENDING`, `IN_PROGRESS`, `COMPLETED` or `CANCELLED`.
    pub status: &'static str,
    /// Owner.
    pub integrator_id: String,
    /// Aggregates.
    pub stats: Stats,
    /// One entry per call, in request order.
    pub request_calls: Vec<ReportCall>,
}

/// `stats` of the payload.
#[derive(Debug, Serialize, PartialEq)]
pub struct Stats {
    /// Rows.
    pub total_calls: u64,
    /// Rows COMPLETED.
    pub completed_calls: u64,
    /// Rows TIMEOUT.
    pub timeout_calls: u64,
    /// Rows with a selection.
    pub replied_calls: u64,
    /// Selections "1".
    pub replied_option_one_count: u64,
    /// Selections "2".
    pub replied_option_two_count: u64,
    /// Mean duration over COMPLETED rows.
    pub avg_duration: f64,
    /// completed / total × 100, two decimals.
    pub success_rate: f64,
    /// Selections per digit (the first gather's options, zero counts included).
    pub response_options_counts: BTreeMap<String, u64>,
}

/// One entry of `request_calls`.
#[derive(Debug, Serialize)]
pub struct ReportCall {
    /// Call id.
    pub id: String,
    /// `COMPLETED`, `TIMEOUT`, `FAILED`, `CANCELLED` (or `QUEUED` / `PROCESSING` while running).
    pub status: &'static str,
    /// E.164.
    pub phone_number: String,
    /// The integrator's object, verbatim.
    pub user_tag_identifiers: Box<RawValue>,
    /// Whole seconds from answer to hang-up.
    pub call_result_duration: i64,
    /// Digit chosen at the first gather.
    pub call_result_options_selected: Option<String>,
    /// UTC, `%Y-%m-%dT%H:%M:%S%.6f`.
    pub created_at: String,
}

/// The status word a call has in reports.
pub fn report_status(status: CallStatus) -> &'static str {
    match status {
        CallStatus::Queued => "QUEUED",
        CallStatus::Dialing => "PROCESSING",
        other => other.as_str(),
    }
}

/// Computes §7's stats.
pub fn stats(calls: &[CallRow], options: &[String]) -> Stats {
    let count = |st: CallStatus| calls.iter().filter(|c| c.status == st).count() as u64;
    let total = calls.len() as u64;
    let completed = count(CallStatus::Completed);
    let selected = |d: &str| calls.iter().filter(|c| c.options_selected.as_deref() == Some(d)).count() as u64;
    let completed_duration: i64 =
        calls.iter().filter(|c| c.status == CallStatus::Completed).map(|c| c.duration_seconds).sum();
    let mut counts: BTreeMap<String, u64> = options.iter().map(|o| (o.clone(), 0)).collect();
    for digit in calls.iter().filter_map(|c| c.options_selected.as_ref()) {
        *counts.entry(digit.clone()).or_default() += 1;
    }
    Stats {
        total_calls: total,
        completed_calls: completed,
        timeout_calls: count(CallStatus::Timeout),
        replied_calls: calls.iter().filter(|c| c.options_selected.is_some()).count() as u64,
        replied_option_one_count: selected("1"),
        replied_option_two_count: selected("2"),
        avg_duration: if completed == 0 { 0.0 } else { round2(completed_duration as f64 / completed as f64) },
        success_rate: if total == 0 { 0.0 } else { round2(completed as f64 * 100.0 / total as f64) },
        response_options_counts: counts,
    }
}

/// One call as `request_calls[]` shows it.
pub fn report_call(c: &CallRow) -> ReportCall {
    ReportCall {
        id: c.id.clone(),
        status: report_status(c.status),
        phone_number: c.phone_number.clone(),
        user_tag_identifiers: RawValue::from_string(c.user_tag_identifiers.clone())
            .unwrap_or_else(|_| RawValue::from_string("{}".into()).unwrap_or_default()),
        call_result_duration: c.duration_seconds,
        call_result_options_selected: c.options_selected.clone(),
        created_at: format_timestamp(c.created_at),
    }
}

/// Builds the whole report. `options` are the digits of the workflow's first gather.
pub fn batch_report(batch: &BatchRow, calls: &[CallRow], options: &[String]) -> BatchReport {
    let request_calls = calls.iter().map(report_call).collect();
    BatchReport {
        request_id: batch.id.clone(),
        status: batch.status.as_str(),
        integrator_id: batch.integrator_id.clone(),
        stats: stats(calls, options),
        request_calls,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(status: CallStatus, duration: i64, selected: Option<&str>) -> CallRow {
        CallRow {
            id: "c".into(),
            batch_id: "b".into(),
            integrator_id: "i".into(),
            seq: 0,
            phone_number: "+2348000000001".into(),
            user_tag_identifiers: r#"{"customer_id": "CUST001"}"#.into(),
            workflow_variables: "{}".into(),
            status,
            attempts: 1,
            next_attempt_at: 0,
            outcome: None,
            sip_code: None,
            reason: None,
            duration_seconds: duration,
            options_selected: selected.map(str::to_string),
            created_at: 1_718_964_000_000_000,
            updated_at: 0,
        }
    }

    #[test]
    fn seed_example_stats() {
        let calls = [call(CallStatus::Completed, 32, Some("1")), call(CallStatus::Completed, 28, Some("2"))];
        let s = stats(&calls, &["1".into(), "2".into()]);
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(
            json,
            r#"{"total_calls":2,"completed_calls":2,"timeout_calls":0,"replied_calls":2,"replied_option_one_count":1,"replied_option_two_count":1,"avg_duration":30.0,"success_rate":100.0,"response_options_counts":{"1":1,"2":1}}"#
        );
    }

    #[test]
    fn mixed_stats_round_and_count() {
        let calls = [
            call(CallStatus::Completed, 10, Some("1")),
            call(CallStatus::Completed, 11, None),
            call(CallStatus::Timeout, 0, None),
            call(CallStatus::Failed, 0, None),
            call(CallStatus::Completed, 12, Some("3")),
            call(CallStatus::Cancelled, 0, None),
        ];
        let s = stats(&calls, &["1".into(), "2".into()]);
        assert_eq!((s.completed_calls, s.timeout_calls, s.replied_calls), (3, 1, 2));
        assert_eq!(s.avg_duration, 11.0);
        assert_eq!(s.success_rate, 50.0);
        assert_eq!(s.response_options_counts.get("2"), Some(&0));
        assert_eq!(s.response_options_counts.get("3"), Some(&1));
        let thirds = stats(&calls[..3], &[]);
        assert_eq!(thirds.success_rate, 66.67);
    }

    #[test]
    fn timestamp_format_matches_seed() {
        assert_eq!(format_timestamp(1_718_964_000_000_000), "2024-06-21T10:00:00.000000");
        assert_eq!(format_timestamp(1_718_964_060_123_456), "2024-06-21T10:01:00.123456");
    }

    #[test]
    fn tags_are_echoed_verbatim() {
        let c = call(CallStatus::Completed, 1, None);
        let r = ReportCall {
            id: c.id.clone(),
            status: "COMPLETED",
            phone_number: c.phone_number.clone(),
            user_tag_identifiers: RawValue::from_string(c.user_tag_identifiers.clone()).unwrap(),
            call_result_duration: 1,
            call_result_options_selected: None,
            created_at: String::new(),
        };
        assert!(
            serde_json::to_string(&r)
                .unwrap()
                .contains(r#""user_tag_identifiers":{"customer_id": "CUST001"}"#)
        );
    }
}
