//! Reads for dashboards: an integrator's batches newest first, keyset-paged, each with its calls
//! counted by status (so a list shows live progress without one request per batch); a batch's
//! calls searched and sorted; a call's attempts.

use crate::dialer::BatchProgress;
use sqlx::{Database, Encode, QueryBuilder, Type};

use crate::model::{BatchRow, CallFilter, CallSort, CallStatus};
use crate::{Result, StoreError};

/// Where a page of batches starts: strictly older than this batch (keyset, stable while new
/// batches arrive, unlike an offset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchCursor {
    /// `created_at` of the last batch of the previous page.
    pub created_at: i64,
    /// Its id (breaks ties between batches created in the same microsecond).
    pub id: String,
}

/// Which batches to list.
#[derive(Debug, Clone)]
pub struct BatchListFilter {
    /// Only batches after this one in newest-first order.
    pub before: Option<BatchCursor>,
    /// At most this many.
    pub limit: u32,
}

/// A batch with its calls counted by status.
#[derive(Debug, Clone)]
pub struct BatchSummary {
    /// The stored batch.
    pub batch: BatchRow,
    /// Its calls by status, read in the same round as the page.
    pub progress: BatchProgress,
    /// When its earliest queued call is due (first attempt, retry, window or schedule).
    pub next_attempt_at: Option<i64>,
}

impl BatchSummary {
    /// The cursor that continues after this batch.
    pub fn cursor(&self) -> BatchCursor {
        BatchCursor { created_at: self.batch.created_at, id: self.batch.id.clone() }
    }
}

/// Adds `n` calls of a stored status name to `p` (shared by both backends).
pub(crate) fn count_status(p: &mut BatchProgress, status: &str, n: i64) -> Result<()> {
    let n = u64::try_from(n).unwrap_or(0);
    p.total += n;
    match CallStatus::parse(status) {
        Some(CallStatus::Queued) => p.queued += n,
        Some(CallStatus::Dialing) => p.dialing += n,
        Some(CallStatus::Completed) => p.completed += n,
        Some(CallStatus::Timeout) => p.timeout += n,
        Some(CallStatus::Failed) => p.failed += n,
        Some(CallStatus::Cancelled) => p.cancelled += n,
        None => return Err(StoreError::Corrupt { table: "calls", detail: format!("status {status}") }),
    }
    Ok(())
}

/// Joins a page of batches with `(batch_id, status, count, earliest next_attempt_at)` rows.
pub(crate) fn summaries(
    batches: Vec<BatchRow>,
    counts: Vec<(String, String, i64, Option<i64>)>,
) -> Result<Vec<BatchSummary>> {
    let mut out: Vec<BatchSummary> = batches
        .into_iter()
        .map(|batch| BatchSummary { batch, progress: BatchProgress::default(), next_attempt_at: None })
        .collect();
    for (batch_id, status, n, next) in counts {
        if let Some(s) = out.iter_mut().find(|s| s.batch.id == batch_id) {
            count_status(&mut s.progress, &status, n)?;
            if CallStatus::parse(&status) == Some(CallStatus::Queued) {
                s.next_attempt_at = next;
            }
        }
    }
    Ok(out)
}

/// The `LIKE` pattern matching text that contains `search`, with `%`, `_` and `\\` escaped
/// (both backends are told `ESCAPE '\\'`), lower-cased for a case-insensitive match.
pub(crate) fn contains_pattern(search: &str) -> String {
    let mut p = String::with_capacity(search.len() + 2);
    p.push('%');
    for c in search.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// Appends a batch's call filter, order and page to `SELECT * FROM calls WHERE batch_id = ?`, for
/// either backend; `variable` pushes the backend's expression for one variable's text.
pub(crate) fn push_call_filter<DB: Database>(
    q: &mut QueryBuilder<DB>,
    f: &CallFilter,
    variable: impl FnOnce(&mut QueryBuilder<DB>, &str),
) where
    for<'t> String: Encode<'t, DB> + Type<DB>,
    for<'t> i64: Encode<'t, DB> + Type<DB>,
{
    if let Some(status) = f.status {
        q.push(" AND status = ").push_bind(status.as_str().to_string());
    }
    if let Some(after) = f.after_seq {
        q.push(" AND seq > ").push_bind(after);
    }
    if let Some(search) = f.search.as_deref().filter(|s| !s.is_empty()) {
        let pattern = contains_pattern(search);
        q.push(" AND (");
        for (i, column) in ["phone_number", "workflow_variables", "user_tag_identifiers"].iter().enumerate() {
            if i > 0 {
                q.push(" OR ");
            }
            q.push(format!("lower({column}) LIKE ")).push_bind(pattern.clone()).push(" ESCAPE '\\'");
        }
        q.push(")");
    }
    let direction = if f.descending { " DESC" } else { "" };
    q.push(" ORDER BY ");
    match &f.sort {
        CallSort::Row => q.push("seq"),
        CallSort::Phone => q.push("phone_number"),
        CallSort::Status => q.push("status"),
        CallSort::Attempts => q.push("attempts"),
        CallSort::Duration => q.push("duration_seconds"),
        CallSort::Updated => q.push("updated_at"),
        CallSort::Variable(name) => {
            q.push("lower(");
            variable(q, name);
            q.push(")")
        }
    };
    q.push(direction);
    if f.sort != CallSort::Row {
        q.push(", seq").push(direction);
    }
    if f.limit.is_some() || f.offset.is_some() {
        q.push(" LIMIT ").push_bind(f.limit.map_or(i64::MAX, i64::from));
    }
    if let Some(offset) = f.offset {
        q.push(" OFFSET ").push_bind(i64::from(offset));
    }
}

/// `played` as stored (a JSON array of strings; NULL or damaged reads as nothing played).
pub(crate) fn played_from(text: Option<String>) -> Vec<String> {
    text.and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default()
}

/// `played` to store: NULL when nothing was played.
pub(crate) fn played_to(played: &[String]) -> Option<String> {
    (!played.is_empty()).then(|| serde_json::to_string(played).unwrap_or_else(|_| "[]".into()))
}

#[cfg(test)]
mod tests {
    use super::contains_pattern;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(contains_pattern("Ada"), "%ada%");
        assert_eq!(contains_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }
}
