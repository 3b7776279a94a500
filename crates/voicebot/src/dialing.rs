//! Wiring of the dialer to the real telephony driver and TTS renderer.
//!
//! The dialer crate defines small seams ([`CallPlacer`], [`CallSession`], [`PromptRenderer`]);
//! this module implements them over `voicebot-telephony` and `voicebot-tts`, and turns the
//! `[dialing]` and `[[trunks]]` config into a running [`Dialer`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use serde::Deserialize;
use voicebot_dialer::{
    Audio, CallEvent, CallPlacer, CallSession, CallingWindow, Dialer, DialerConfig, Outcome, PlaceError,
    PlaceRequest, PromptRenderer, RenderError, RetryDelays, SystemClock, Voice,
};
use voicebot_telephony as tel;
use voicebot_workflow::Prompt;

use crate::config::Config;

/// `[dialing]` (CONTRACT.md §8); `max_attempts` lives in `[api]` because intake stores it.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DialingSection {
    /// Lease owner name; stable per box so a restart recovers its own attempts at once.
    pub node: String,
    /// Retry delay after busy.
    pub retry_busy_seconds: u64,
    /// Retry delay after no answer.
    pub retry_no_answer_seconds: u64,
    /// Retry delay after a failure or an interrupted attempt.
    pub retry_failed_seconds: u64,
    /// Calling window start, recipient's local time.
    pub window_start: String,
    /// Calling window end (exclusive).
    pub window_end: String,
    /// Hang up answered calls after this long.
    pub max_call_seconds: u64,
    /// How often to look for due calls when idle.
    pub poll_interval_ms: u64,
    /// How often this node writes its heartbeat and looks for dead nodes.
    pub heartbeat_seconds: f64,
    /// A node silent this long is dead: its open attempts are `INTERRUPTED` (and retried),
    /// its claimed calls requeued. At least three heartbeats.
    pub dead_after_seconds: f64,
}

impl Default for DialingSection {
    fn default() -> Self {
        DialingSection {
            node: "node-1".into(),
            retry_busy_seconds: 300,
            retry_no_answer_seconds: 900,
            retry_failed_seconds: 300,
            window_start: "08:00".into(),
            window_end: "20:00".into(),
            max_call_seconds: 600,
            poll_interval_ms: 500,
            heartbeat_seconds: 2.0,
            dead_after_seconds: 20.0,
        }
    }
}

impl DialingSection {
    /// Heartbeat interval and `dead_after`, checked: a node must be able to miss a couple of
    /// heartbeats (a slow commit, a pause) before others take its calls.
    pub fn heartbeats(&self) -> anyhow::Result<(Duration, Duration)> {
        let seconds = |v: f64, name: &str| {
            Duration::try_from_secs_f64(v)
                .map_err(|_| anyhow::anyhow!("[dialing] {name} = {v}: not a duration"))
        };
        let beat = seconds(self.heartbeat_seconds, "heartbeat_seconds")?;
        let dead = seconds(self.dead_after_seconds, "dead_after_seconds")?;
        if beat.is_zero() || dead < beat * 3 {
            anyhow::bail!("[dialing] dead_after_seconds must be at least 3 × heartbeat_seconds (> 0)");
        }
        Ok((beat, dead))
    }
}

/// Places calls through the telephony endpoint.
struct TelephonyPlacer {
    telephony: Arc<tel::Telephony>,
    trunks: HashMap<String, tel::TrunkConfig>,
}

#[async_trait]
impl CallPlacer for TelephonyPlacer {
    async fn place(&self, req: PlaceRequest) -> Result<Box<dyn CallSession>, PlaceError> {
        let mut trunk = self
            .trunks
            .get(&req.trunk)
            .cloned()
            .ok_or_else(|| PlaceError::UnknownTrunk(req.trunk.clone()))?;
        trunk.ring_timeout = req.ring_timeout;
        if let Some(caller) = req.caller_id {
            trunk.caller_id = caller;
        }
        let handle = self
            .telephony
            .place_call(tel::CallRequest::new(req.sip_call_id, req.phone_number, trunk))
            .await
            .map_err(|e| PlaceError::Transport(Box::new(e)))?;
        Ok(Box::new(TelephonySession(handle)))
    }
}

struct TelephonySession(tel::CallHandle);

fn outcome(o: tel::Outcome) -> Outcome {
    match o {
        tel::Outcome::Answered => Outcome::Answered,
        tel::Outcome::Busy => Outcome::Busy,
        tel::Outcome::NoAnswer => Outcome::NoAnswer,
        tel::Outcome::InvalidNumber => Outcome::InvalidNumber,
        tel::Outcome::Rejected => Outcome::Rejected,
        // We hung up before an answer: the dialer's own ring guard fired, i.e. nobody answered.
        tel::Outcome::Cancelled => Outcome::NoAnswer,
        _ => Outcome::Failed,
    }
}

#[async_trait]
impl CallSession for TelephonySession {
    async fn next_event(&mut self) -> Option<CallEvent> {
        loop {
            let event = self.0.next_event().await?;
            return Some(match event {
                tel::CallEvent::Ringing => CallEvent::Ringing,
                tel::CallEvent::Answered { .. } => CallEvent::Answered,
                tel::CallEvent::Digit { digit, .. } => CallEvent::Digit(digit.to_char()),
                tel::CallEvent::PlaybackFinished => CallEvent::PlaybackFinished,
                tel::CallEvent::Ended { outcome: o, sip_code, .. } => {
                    CallEvent::Ended { outcome: outcome(o), sip_code: Some(sip_code) }
                }
                #[allow(unreachable_patterns)]
                _ => continue,
            });
        }
    }

    fn play(&mut self, audio: Audio) {
        self.0.play(tel::PromptAudio::Ulaw(audio));
    }

    fn stop_playback(&mut self) {
        self.0.stop_playback();
    }

    fn hangup(&mut self) {
        self.0.hangup();
    }
}

/// Renders prompts with the TTS crate (cached on disk) and loads uploaded recordings.
struct TtsPrompts {
    renderer: voicebot_tts::Renderer,
    audio: voicebot_tts::AudioStore,
}

fn engine_error(e: impl std::error::Error + Send + Sync + 'static) -> RenderError {
    RenderError::Engine(Box::new(e))
}

#[async_trait]
impl PromptRenderer for TtsPrompts {
    async fn render(&self, text: &str, voice: &Voice) -> Result<Audio, RenderError> {
        let gender: voicebot_tts::Gender = voice.gender.parse().map_err(engine_error)?;
        let spec = self.renderer.voice(&voice.accent, gender).map_err(engine_error)?;
        let pcm = self.renderer.render(text, &spec).await.map_err(engine_error)?;
        Ok(ulaw(pcm.samples()))
    }

    async fn audio(&self, id: &str) -> Result<Audio, RenderError> {
        let unknown = || RenderError::UnknownAudio(id.to_string());
        let id: voicebot_tts::AudioId = id.parse().map_err(|_| unknown())?;
        let pcm = self.audio.get(&id).await.map_err(engine_error)?.ok_or_else(unknown)?;
        Ok(ulaw(pcm.samples()))
    }

    /// The render-cache keys of a spoken prompt, or a recording's id (`voicebot_tts::PlayedPrompt`),
    /// so `GET /call/{id}/audio` reads back exactly what was rendered for this call.
    fn played_ref(&self, prompt: &Prompt, voice: &Voice) -> Option<String> {
        let played = match prompt {
            Prompt::Text(text) => {
                let spec = self.renderer.voice(&voice.accent, voice.gender.parse().ok()?).ok()?;
                voicebot_tts::PlayedPrompt::Speech(self.renderer.keys(text, &spec).ok()?)
            }
            Prompt::Audio(id) => voicebot_tts::PlayedPrompt::Recording(id.parse().ok()?),
        };
        Some(played.to_string())
    }
}

/// A rendered prompt as the call will hold it: µ-law, one byte per sample.
fn ulaw(pcm: &[i16]) -> Audio {
    pcm.iter().map(|&s| voicebot_media::g711::linear_to_ulaw(s)).collect()
}

/// Renders every prompt of a new batch into the cache before its first dial, so answered
/// calls start speaking at once (the call path renders again only on a cache miss).
pub struct Prerender {
    renderer: voicebot_tts::Renderer,
}

impl Prerender {
    pub fn new(renderer: voicebot_tts::Renderer) -> Self {
        Prerender { renderer }
    }
}

impl voicebot_api::BatchHook for Prerender {
    fn batch_created(&self, batch: &voicebot_store::NewBatch) {
        let Ok(workflow) = serde_json::from_str::<voicebot_workflow::Workflow>(&batch.workflow) else {
            return;
        };
        let templates = workflow.templates();
        let texts: Vec<String> = batch
            .calls
            .iter()
            .filter_map(|c| voicebot_workflow::variables_from_json(&c.workflow_variables).ok())
            .flat_map(|vars| templates.iter().filter_map(move |t| t.render(&vars).ok()).collect::<Vec<_>>())
            .collect();
        let Ok(gender) = batch.tts_voice_gender.parse::<voicebot_tts::Gender>() else { return };
        let Ok(voice) = self.renderer.voice(&batch.tts_voice_accent, gender) else { return };
        let (renderer, batch_id) = (self.renderer.clone(), batch.id.clone());
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            let report = renderer.prerender(texts, &voice).await;
            tracing::info!(%batch_id, sentences = report.sentences, rendered = report.rendered,
                failed = report.failures.len(), ms = started.elapsed().as_millis() as u64, "batch prompts pre-rendered");
        });
    }
}

/// The running dialer, the telephony endpoint it owns and the renderer it speaks with.
pub struct Dialing {
    pub dialer: Dialer,
    pub telephony: Arc<tel::Telephony>,
    /// Shared with the batch pre-render hook, so both fill (and count) one cache.
    pub renderer: voicebot_tts::Renderer,
}

/// Builds the dialer from config; `None` when no trunk is configured (API-only node).
pub async fn start(
    config: &Config,
    store: Arc<dyn voicebot_store::Store>,
) -> anyhow::Result<Option<Dialing>> {
    if config.trunks.is_empty() {
        tracing::warn!("no [[trunks]] configured: calls stay queued until a trunk is added");
        return Ok(None);
    }
    let telephony = Arc::new(tel::Telephony::start(config.telephony()?).await.context("starting SIP")?);
    let d = &config.dialing;
    let mut trunks = HashMap::new();
    let mut dialer_trunks = Vec::new();
    for t in &config.trunks {
        trunks.insert(t.name.clone(), t.telephony()?);
        let mut dt = voicebot_dialer::TrunkConfig::new(t.name.clone());
        dt.cps = t.cps;
        dt.cps_margin = t.cps_margin;
        dt.max_concurrent = t.max_concurrent;
        dt.ring_timeout = Duration::from_secs(t.ring_timeout_seconds);
        dt.caller_id = Some(t.caller_id.clone());
        dialer_trunks.push(dt);
    }
    let mut dc = DialerConfig::new(d.node.clone(), dialer_trunks.remove(0));
    dc.trunks.extend(dialer_trunks);
    dc.retry = RetryDelays {
        busy: Duration::from_secs(d.retry_busy_seconds),
        no_answer: Duration::from_secs(d.retry_no_answer_seconds),
        failed: Duration::from_secs(d.retry_failed_seconds),
    };
    dc.windows.default_window = CallingWindow::parse(&d.window_start, &d.window_end)
        .map_err(|e| anyhow::anyhow!("[dialing] window: {e}"))?;
    dc.max_call_duration = Duration::from_secs(d.max_call_seconds);
    dc.poll_interval = Duration::from_millis(d.poll_interval_ms);
    (dc.heartbeat_interval, dc.dead_after) = d.heartbeats()?;
    let renderer = config.renderer().await?;
    let prompts = TtsPrompts {
        renderer: renderer.clone(),
        audio: voicebot_tts::AudioStore::open(&config.data_dir).context("opening the audio store")?,
    };
    let placer = TelephonyPlacer { telephony: telephony.clone(), trunks };
    let prompts = voicebot_dialer::SharedPrompts::new(prompts);
    let dialer = Dialer::new(dc, store, Arc::new(placer), Arc::new(prompts), Arc::new(SystemClock));
    Ok(Some(Dialing { dialer, telephony, renderer }))
}
