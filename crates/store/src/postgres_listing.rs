//! PostgreSQL queries of [`crate::listing`]: a page of batches, then one grouped count of their calls;
//! a batch's calls filtered, searched and sorted; a call's attempts.

use sqlx::postgres::PgRow;
use sqlx::{Postgres, QueryBuilder, Row};

use crate::Result;
use crate::listing::{BatchListFilter, BatchSummary, played_from, push_call_filter, summaries};
use crate::model::{AttemptRow, CallFilter, CallRow};
use crate::postgres::{PgStore, batch_from, call_from};

impl PgStore {
    /// The integrator's batches, newest first (`batches_integrator` index).
    pub(crate) async fn listing_batches(
        &self,
        integrator_id: &str,
        f: &BatchListFilter,
    ) -> Result<Vec<BatchSummary>> {
        let mut q: QueryBuilder<Postgres> = QueryBuilder::new("SELECT * FROM batches WHERE integrator_id = ");
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
        self.summarise(rows).await
    }

    /// One batch of the integrator with its calls counted.
    pub(crate) async fn listing_batch(&self, integrator_id: &str, id: &str) -> Result<Option<BatchSummary>> {
        let rows = sqlx::query("SELECT * FROM batches WHERE id = $1 AND integrator_id = $2")
            .bind(id)
            .bind(integrator_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(self.summarise(rows).await?.pop())
    }

    async fn summarise(&self, rows: Vec<PgRow>) -> Result<Vec<BatchSummary>> {
        let batches = rows.iter().map(batch_from).collect::<Result<Vec<_>>>()?;
        if batches.is_empty() {
            return Ok(vec![]);
        }
        let mut q: QueryBuilder<Postgres> = QueryBuilder::new(
            "SELECT batch_id, status, COUNT(*), MIN(next_attempt_at) FROM calls WHERE batch_id IN (",
        );
        let mut ids = q.separated(", ");
        for b in &batches {
            ids.push_bind(b.id.as_str());
        }
        q.push(") GROUP BY batch_id, status");
        let counts: Vec<(String, String, i64, Option<i64>)> =
            q.build_query_as().fetch_all(&self.pool).await?;
        summaries(batches, counts)
    }

    /// Calls of a batch: filtered by status and text, in the asked order, paged.
    pub(crate) async fn listing_calls(&self, batch_id: &str, f: &CallFilter) -> Result<Vec<CallRow>> {
        let mut q: QueryBuilder<Postgres> = QueryBuilder::new("SELECT * FROM calls WHERE batch_id = ");
        q.push_bind(batch_id);
        push_call_filter(&mut q, f, |q, name| {
            q.push("(workflow_variables::jsonb ->> ").push_bind(name.to_string()).push(")");
        });
        let rows = q.build().fetch_all(&self.pool).await?;
        rows.iter().map(call_from).collect()
    }

    /// The attempts of one of the integrator's calls, first first.
    pub(crate) async fn listing_attempts(
        &self,
        integrator_id: &str,
        call_id: &str,
    ) -> Result<Vec<AttemptRow>> {
        let rows = sqlx::query(
            "SELECT a.* FROM attempts a JOIN calls c ON c.id = a.call_id
             WHERE a.call_id = $1 AND c.integrator_id = $2 ORDER BY a.attempt_no",
        )
        .bind(call_id)
        .bind(integrator_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(attempt_from).collect()
    }
}

fn attempt_from(row: &PgRow) -> Result<AttemptRow> {
    Ok(AttemptRow {
        attempt_no: row.try_get::<i64, _>("attempt_no")?.try_into().unwrap_or(0),
        trunk: row.try_get("trunk")?,
        state: row.try_get("state")?,
        outcome: row.try_get("outcome")?,
        sip_code: row.try_get::<Option<i64>, _>("sip_code")?.and_then(|c| c.try_into().ok()),
        started_at: row.try_get("started_at")?,
        answered_at: row.try_get("answered_at")?,
        ended_at: row.try_get("ended_at")?,
        digits: row.try_get::<Option<String>, _>("digits")?.unwrap_or_default(),
        played: played_from(row.try_get("played")?),
    })
}
