//! SQLite queries of [`crate::listing`]: one page of batches, then one grouped count of their calls.

use sqlx::{QueryBuilder, Sqlite};

use crate::Result;
use crate::listing::{BatchListFilter, BatchSummary, summaries};
use crate::sqlite::{SqliteStore, batch_from};

impl SqliteStore {
    /// The integrator's batches, newest first (`batches_integrator` index).
    pub(crate) async fn listing_batches(
        &self,
        integrator_id: &str,
        f: &BatchListFilter,
    ) -> Result<Vec<BatchSummary>> {
        let mut q: QueryBuilder<Sqlite> = QueryBuilder::new("SELECT * FROM batches WHERE integrator_id = ");
        q.push_bind(integrator_id);
        if let Some(c) = &f.before {
            q.push(" AND (created_at < ")
                .push_bind(c.created_at)
                .push(" OR (created_at = ")
                .push_bind(c.created_at)
                .push(" AND id < ")
                .push_bind(c.id.as_str())
                .push("))");
        }
        q.push(" ORDER BY created_at DESC, id DESC LIMIT ").push_bind(i64::from(f.limit));
        let rows = q.build().fetch_all(&self.pool).await?;
        let batches = rows.iter().map(batch_from).collect::<Result<Vec<_>>>()?;
        if batches.is_empty() {
            return Ok(vec![]);
        }
        let mut q: QueryBuilder<Sqlite> =
            QueryBuilder::new("SELECT batch_id, status, COUNT(*) FROM calls WHERE batch_id IN (");
        let mut ids = q.separated(", ");
        for b in &batches {
            ids.push_bind(b.id.as_str());
        }
        q.push(") GROUP BY batch_id, status");
        let counts: Vec<(String, String, i64)> = q.build_query_as().fetch_all(&self.pool).await?;
        summaries(batches, counts)
    }
}
