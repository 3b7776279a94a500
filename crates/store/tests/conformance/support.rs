//! Backends under test, seed rows, and the `conformance!` macro that instantiates each test
//! function once per backend (`<module>::sqlite::<test>`, `<module>::postgres::<test>`).

use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use voicebot_store::*;

/// One second in µs.
pub const S: i64 = 1_000_000;

/// The store handed to every test.
pub type Db = Arc<dyn Store>;

/// Which backend a test instance runs on.
#[derive(Debug, Clone, Copy)]
pub enum Backend {
    /// Temp-file SQLite.
    Sqlite,
    /// A fresh schema on `VOICEBOT_TEST_POSTGRES_URL`.
    Postgres,
}

/// Instantiates each listed `async fn name(db: Db)` as a test on both backends.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::support::run($crate::support::Backend::Sqlite, super::$name).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::support::run($crate::support::Backend::Postgres, super::$name).await;
                }
            )*
        }
    };
}

fn postgres_url() -> String {
    std::env::var("VOICEBOT_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// Runs `test` on a freshly migrated, seeded store of `backend`, then removes the database
/// (temp dir or schema) whether the test passed or panicked.
pub async fn run<F, Fut>(backend: Backend, test: F)
where
    F: FnOnce(Db) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("t.db").display());
            let store = SqliteStore::open(&url).await.unwrap();
            store.migrate().await.unwrap();
            let db: Db = Arc::new(store);
            seed(&db).await;
            finish(tokio::spawn(test(db)).await);
        }
        Backend::Postgres => {
            let (url, schema) = fresh_schema().await;
            let options =
                PgConnectOptions::from_str(&url).unwrap().options([("search_path", schema.as_str())]);
            let store = PgStore::open_with(options, 4).await.unwrap();
            store.migrate().await.unwrap();
            let db: Db = Arc::new(store.clone());
            seed(&db).await;
            let outcome = tokio::spawn(test(db)).await;
            store.close().await;
            drop_schema(&url, &schema).await;
            finish(outcome);
        }
    }
}

async fn admin(url: &str) -> PgConnection {
    tokio::time::timeout(Duration::from_secs(10), PgConnection::connect(url))
        .await
        .unwrap_or_else(|_| panic!("PostgreSQL at {url} did not answer within 10 s"))
        .unwrap_or_else(|e| {
            panic!(
                "PostgreSQL unreachable at {url}: {e}. Start it (scripts/test.sh does) or set \
                 VOICEBOT_TEST_POSTGRES_URL"
            )
        })
}

/// Creates an empty schema `t_<random>` on the test server: (server URL, schema name).
pub async fn fresh_schema() -> (String, String) {
    let url = postgres_url();
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let mut conn = admin(&url).await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}"))).execute(&mut conn).await.unwrap();
    conn.close().await.unwrap();
    (url, schema)
}

/// Drops a schema made by [`fresh_schema`] with everything in it.
pub async fn drop_schema(url: &str, schema: &str) {
    let mut conn = admin(url).await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
}

fn finish(outcome: Result<(), tokio::task::JoinError>) {
    if let Err(e) = outcome {
        match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("test task failed: {e}"),
        }
    }
}

/// Two integrators, `int-1` (key hash `hash-int-1`) and `int-2`.
async fn seed(db: &Db) {
    for id in ["int-1", "int-2"] {
        let i = Integrator {
            id: id.into(),
            name: "Clinic".into(),
            callback_url: None,
            signing_secret: "whsec_x".into(),
            previous_signing_secret: None,
            previous_secret_expires_at: None,
            created_at: 0,
            default_country: None,
        };
        db.create_integrator(&i, &format!("hash-{id}")).await.unwrap();
    }
}

/// A batch of `int-1` with one call per phone (`{id}-c{n}`), created at 0.
pub fn new_batch(id: &str, phones: &[&str], max_attempts: u32, not_after: Option<i64>) -> NewBatch {
    let calls = phones
        .iter()
        .enumerate()
        .map(|(n, p)| NewCall {
            id: format!("{id}-c{n}"),
            phone_number: p.to_string(),
            user_tag_identifiers: "{}".into(),
            workflow_variables: "{}".into(),
        })
        .collect();
    NewBatch {
        id: id.into(),
        integrator_id: "int-1".into(),
        workflow_id: "wf".into(),
        workflow: "{}".into(),
        tts_voice_accent: "english".into(),
        tts_voice_gender: "female".into(),
        callback_url: None,
        caller_id: None,
        not_before: None,
        not_after,
        max_attempts,
        backoff_seconds: None,
        created_at: 0,
        idempotency: None,
        calls,
        name: None,
    }
}

/// Stores [`new_batch`].
pub async fn batch(db: &Db, id: &str, phones: &[&str], max_attempts: u32, not_after: Option<i64>) {
    let b = new_batch(id, phones, max_attempts, not_after);
    assert_eq!(db.create_batch(&b).await.unwrap(), BatchCreated::Created(id.into()));
}

/// `n` distinct phone numbers.
pub fn phones(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("+23480{i:08}")).collect()
}
