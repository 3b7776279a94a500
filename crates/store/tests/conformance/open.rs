//! `voicebot_store::open` picks the backend from the URL and migrates it.

use voicebot_store::*;

#[tokio::test]
async fn open_selects_backend_by_url() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = open(&format!("sqlite://{}", dir.path().join("o.db").display())).await.unwrap();
    sqlite.ping().await.unwrap();
    assert!(sqlite.list_integrators().await.unwrap().is_empty(), "migrated");

    let (url, schema) = crate::support::fresh_schema().await;
    let sep = if url.contains('?') { '&' } else { '?' };
    let pg = open(&format!("{url}{sep}options=-csearch_path%3D{schema}")).await.unwrap();
    pg.ping().await.unwrap();
    assert!(pg.list_integrators().await.unwrap().is_empty(), "migrated");
    drop(pg);
    crate::support::drop_schema(&url, &schema).await;

    assert!(matches!(open("mysql://x").await, Err(StoreError::UnsupportedUrl(s)) if s == "mysql"));
}
