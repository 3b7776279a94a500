//! `voicebot serve`: the API on `listen`, stopping cleanly on SIGTERM or Ctrl-C.

use std::sync::Arc;

use anyhow::Context;
use tokio::signal::unix::{SignalKind, signal};

use crate::config::Config;

pub async fn run(config: Config) -> anyhow::Result<()> {
    if let Some(dir) = sqlite_parent_dir(&config.database_url) {
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let store = config.open_store().await?;
    let table = config.voice_table()?;
    let audio = voicebot_tts::AudioStore::open(&config.data_dir)
        .with_context(|| format!("opening the audio store in {}", config.data_dir.display()))?;
    let state = voicebot_api::AppState {
        store,
        config: Arc::new(config.api_config()),
        voices: Arc::new(voicebot_api::Voices::from_table(&table)),
        audio: Arc::new(audio),
    };
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "listening");
    axum::serve(listener, voicebot_api::router(state)).with_graceful_shutdown(shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// The directory holding a `sqlite://` database file, so it can be created first.
fn sqlite_parent_dir(url: &str) -> Option<std::path::PathBuf> {
    let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = path.split('?').next()?;
    if path.is_empty() || path.contains(":memory:") {
        return None;
    }
    std::path::Path::new(path).parent().filter(|p| !p.as_os_str().is_empty()).map(|p| p.to_path_buf())
}

async fn shutdown_signal() {
    let term = async {
        match signal(SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = term => {},
        _ = tokio::signal::ctrl_c() => {},
    }
    tracing::info!("shutting down");
}
