//! Store errors: what callers can act on, not how SQL failed.

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database URL names a backend this build does not have.
    #[error("unsupported database URL scheme '{0}'")]
    UnsupportedUrl(String),
    /// A row that should be JSON is not (the database was edited by hand or is corrupt).
    #[error("corrupt row in {table}: {detail}")]
    Corrupt {
        /// Table holding the row.
        table: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Migrations failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}
