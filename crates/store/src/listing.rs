//! Listing an integrator's batches for dashboards: newest first, keyset-paged, each with its
//! calls counted by status so a list can show live progress without one request per batch.

use crate::dialer::BatchProgress;
use crate::model::{BatchRow, CallStatus};
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

/// Joins a page of batches with `(batch_id, status, count)` rows.
pub(crate) fn summaries(
    batches: Vec<BatchRow>,
    counts: Vec<(String, String, i64)>,
) -> Result<Vec<BatchSummary>> {
    let mut out: Vec<BatchSummary> =
        batches.into_iter().map(|batch| BatchSummary { batch, progress: BatchProgress::default() }).collect();
    for (batch_id, status, n) in counts {
        if let Some(s) = out.iter_mut().find(|s| s.batch.id == batch_id) {
            count_status(&mut s.progress, &status, n)?;
        }
    }
    Ok(out)
}
