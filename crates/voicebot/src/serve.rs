//! `voicebot serve`: the API on `listen`, stopping cleanly on SIGTERM or Ctrl-C.

use std::sync::Arc;

use anyhow::Context;
use tokio::signal::unix::{SignalKind, signal};

use crate::config::Config;

pub async fn run(config: Config) -> anyhow::Result<()> {
    run_until(config, shutdown_signal(), None).await
}

/// Serves until `shutdown` resolves; sends the bound address on `ready` once listening.
pub async fn run_until(
    config: Config,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ready: Option<tokio::sync::oneshot::Sender<std::net::SocketAddr>>,
) -> anyhow::Result<()> {
    if let Some(dir) = sqlite_parent_dir(&config.database_url) {
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let store = config.open_store().await?;
    let dialing = crate::dialing::start(&config, store.clone()).await?.map(Arc::new);
    let table = config.voice_table()?;
    let audio = voicebot_tts::AudioStore::open(&config.data_dir)
        .with_context(|| format!("opening the audio store in {}", config.data_dir.display()))?;
    let callbacks =
        voicebot_callback::Sender::new(store.clone(), config.callbacks.sender_config(&config.dialing.node))
            .context("starting the callback sender")?;
    // The API speaks with the dialer's own renderer (one cache, one set of TTS metrics); an
    // API-only node tries its own and, without a working engine, serves everything but audio.
    let renderer = match &dialing {
        Some(d) => Some(d.renderer.clone()),
        None => match config.renderer().await {
            Ok(r) => Some(r),
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "no TTS: call audio and voice previews answer 503");
                None
            }
        },
    };
    let state = voicebot_api::AppState {
        store,
        config: Arc::new(config.api_config()),
        voices: Arc::new(voicebot_api::Voices::from_table(&table)),
        audio: Arc::new(audio),
        batch_hook: dialing.as_ref().map(|d| {
            Arc::new(crate::dialing::Prerender::new(d.renderer.clone())) as Arc<dyn voicebot_api::BatchHook>
        }),
        speech: renderer
            .clone()
            .map(|r| Arc::new(crate::speech::RendererSpeech(r)) as Arc<dyn voicebot_api::Speech>),
    };
    // TTS counters of whichever renderer this node speaks with (the API-only node's too).
    let metrics = crate::metrics::Sources { store: state.store.clone(), dialer: dialing.clone(), renderer };
    let app = voicebot_api::router(state)
        .route_layer(axum::middleware::from_fn(crate::metrics::count_requests))
        .merge(crate::metrics::router(metrics));
    let app = crate::http_log::layer(app);
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "listening");
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    if let Some(ready) = ready {
        let _ = ready.send(addr);
    }
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let api = axum::serve(listener, app).with_graceful_shutdown(stopped(stop_rx.clone()));
    // SIGTERM: the API stops taking requests; the dialer stops claiming and lets live calls end.
    let dialer = async {
        match &dialing {
            Some(d) => d.dialer.run(stopped(stop_rx.clone())).await.context("dialer"),
            None => Ok(()),
        }
    };
    // The callback sender stops between rounds; undelivered rows stay in the outbox.
    let sender = std::sync::Arc::new(callbacks).run(stopped(stop_rx.clone()));
    let (api, dialer, ()) = tokio::join!(api, dialer, sender);
    if let Some(d) = &dialing {
        d.telephony.shutdown().await;
    }
    api?;
    dialer?;
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
