//! One call's task: from a claimed row to its committed result.
//!
//! Order matters and is the crash-safety argument of ARCHITECTURE.md "A call's life":
//! 1. checks that need no attempt — workflow snapshot, do-not-call list, calling window,
//!    variables, every prompt rendered (a TTS failure fails the call, never a silent call);
//! 2. the trunk's fleet-wide send slot (its `cps`, `fleet.rs`), waited for uncommitted;
//! 3. `begin_attempt` commits the attempt row with a fresh SIP Call-ID, if the trunk has a
//!    place for it under its fleet-wide `max_concurrent` — only then, at the slot,
//! 4. the INVITE leaves (`CallPlacer::place`), the workflow runner drives the answered call,
//! 5. `finish_attempt` writes outcome, duration, selection, opt-out and the retry or final
//!    status in one transaction.
//!
//! A crash between 3 and 5 leaves the attempt `DIALING`; recovery counts it as `INTERRUPTED`.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::time::Instant;
use voicebot_store::{AttemptResult, CallNext, CallStatus, ClaimedCall, NewAttempt, mask_phone};
use voicebot_workflow::{Action, Prompt, Runner, Variables, Workflow, variables_from_json};

use crate::dialer::{Shared, Slot, micros};
use crate::outcome::{Decision, Outcome, RetryPolicy};
use crate::session::{Audio, CallEvent, CallSession, PlaceError, PlaceRequest, Voice};
use crate::{fleet, metrics};

/// Reasons stored on calls that end without (another) attempt.
pub mod reason {
    /// The number is on the integrator's do-not-call list.
    pub const DO_NOT_CALL: &str = "do_not_call";
    /// A prompt could not be rendered.
    pub const TTS_FAILED: &str = "tts_failed";
    /// The batch's workflow snapshot or variables cannot be read.
    pub const BAD_WORKFLOW: &str = "workflow_invalid";
}

/// Runs one claimed call to a committed result. Errors are logged: an uncommitted result
/// leaves the lease to expire and recovery to count the attempt.
pub(crate) async fn run(shared: Arc<Shared>, claimed: ClaimedCall, slot: Slot) {
    let call_id = claimed.call.id.clone();
    if let Err(e) = run_inner(&shared, claimed, &slot).await {
        tracing::error!(call_id = %call_id, error = %e, "call left to lease recovery");
    }
    drop(slot);
}

/// A prompt rendered before dialing, with the name the attempt's record gives it once played.
struct Rendered {
    audio: Audio,
    played_ref: Option<String>,
}

/// Prompts of one call, rendered before dialing.
type Prompts = HashMap<Prompt, Rendered>;

/// Digits and played prompts kept per attempt: more is a far end flooding us, not a patient.
const MAX_RECORDED: usize = 64;

async fn run_inner(s: &Shared, c: ClaimedCall, slot: &Slot) -> Result<(), voicebot_store::StoreError> {
    let node = s.config.node.as_str();
    let now = s.clock.now_micros();
    let (call, batch) = (&c.call, &c.batch);
    let skip = |reason: &'static str| async move {
        tracing::info!(call_id = %call.id, reason, "call not dialed");
        let skipped =
            s.store.skip_call(&call.id, node, CallStatus::Failed, reason, s.clock.now_micros()).await?;
        if skipped {
            metrics::call_finished(CallStatus::Failed);
        }
        Ok(())
    };
    let Some((workflow, vars)) = read_snapshot(&batch.workflow, &call.workflow_variables) else {
        return skip(reason::BAD_WORKFLOW).await;
    };
    if !s
        .store
        .do_not_call_hits(&call.integrator_id, std::slice::from_ref(&call.phone_number))
        .await?
        .is_empty()
    {
        return skip(reason::DO_NOT_CALL).await;
    }
    if let Some(opens) = s.config.windows.next_opening(&call.phone_number, s.clock.now()) {
        tracing::debug!(call_id = %call.id, "outside the calling window");
        s.store.defer_call(&call.id, node, opens.timestamp_micros(), now).await?;
        return Ok(());
    }
    let Ok(mut runner) = Runner::new(&workflow, &vars, &batch.tts_voice_accent) else {
        return skip(reason::BAD_WORKFLOW).await;
    };
    let voice = Voice { accent: batch.tts_voice_accent.clone(), gender: batch.tts_voice_gender.clone() };
    let Some(prompts) = render_all(s, &runner, &voice).await else {
        return skip(reason::TTS_FAILED).await;
    };
    let trunk = &slot.trunk.config;
    let mut attempt = NewAttempt {
        id: uuid::Uuid::new_v4().to_string(),
        call_id: call.id.clone(),
        sip_call_id: uuid::Uuid::new_v4().to_string(),
        trunk: trunk.name.clone(),
        node: node.to_string(),
        started_at: now,
        lease_until: now,
        max_concurrent: Some(trunk.max_concurrent),
    };
    let (attempt_no, slot_at) = match fleet::admit(s, &slot.trunk, &mut attempt).await? {
        fleet::Admission::Started(n, at) => {
            tracing::info!(call_id = %call.id, attempt = n, phone = %mask_phone(&call.phone_number),
                trunk = %trunk.name, "dialing");
            // The SIP Call-ID is half of what a forged in-dialog request needs: never at INFO.
            tracing::debug!(call_id = %call.id, sip_call_id = %attempt.sip_call_id, "dialing: SIP Call-ID");
            (n, at)
        }
        fleet::Admission::Refused(other) => {
            tracing::info!(call_id = %call.id, ?other, "attempt not started");
            return Ok(());
        }
        fleet::Admission::Deferred => {
            s.store.defer_call(&call.id, node, s.clock.now_micros(), s.clock.now_micros()).await?;
            return Ok(());
        }
    };
    let req = PlaceRequest {
        call_id: call.id.clone(),
        attempt_id: attempt.id.clone(),
        sip_call_id: attempt.sip_call_id.clone(),
        phone_number: call.phone_number.clone(),
        trunk: trunk.name.clone(),
        caller_id: batch.caller_id.clone().or_else(|| trunk.caller_id.clone()),
        ring_timeout: trunk.ring_timeout,
    };
    let placed = if fleet::wait_send_slot(s, &slot.trunk, slot_at).await? {
        s.placer.place(req).await
    } else {
        tracing::warn!(call_id = %call.id, "heartbeats failing: INVITE not sent");
        Err(PlaceError::Transport("this node's heartbeat is stale".into()))
    };
    let ended = match placed {
        Ok(mut session) => {
            drive(s, session.as_mut(), &mut runner, &prompts, &attempt.id, trunk.ring_timeout).await
        }
        Err(e) => {
            tracing::warn!(call_id = %call.id, error = %e, "placing failed");
            Ended {
                outcome: Outcome::Failed,
                sip_code: None,
                answered_at: None,
                duration_seconds: 0,
                digits: String::new(),
                played: vec![],
            }
        }
    };
    let policy = RetryPolicy::for_batch(s.config.retry, batch.max_attempts, batch.backoff_seconds);
    let result = attempt_result(s, &policy, &c, attempt.id, attempt_no, &ended, &runner);
    if s.store.finish_attempt(&result).await? {
        tracing::info!(call_id = %call.id, attempt = attempt_no, phone = %mask_phone(&call.phone_number),
            outcome = %result.outcome, sip_code = ?result.sip_code, next = ?result.next, "attempt ended");
        metrics::attempt_finished(&result.outcome, &result.next);
    } else {
        tracing::warn!(call_id = %call.id, "lease lost before the result was written");
    }
    Ok(())
}

/// What to commit for an ended attempt: its outcome and the call's retry or final status.
fn attempt_result(
    s: &Shared,
    policy: &RetryPolicy,
    c: &ClaimedCall,
    attempt_id: String,
    attempt_no: u32,
    ended: &Ended,
    runner: &Runner,
) -> AttemptResult {
    let ended_at = s.clock.now_micros();
    let next = match policy.decide(ended.outcome, attempt_no) {
        Decision::Retry(after) => CallNext::Retry { at: ended_at + micros(after) },
        Decision::Final(status) => CallNext::Final { status, reason: None },
    };
    AttemptResult {
        attempt_id,
        call_id: c.call.id.clone(),
        node: s.config.node.clone(),
        outcome: ended.outcome.as_str().to_string(),
        sip_code: ended.sip_code.map(i32::from),
        answered_at: ended.answered_at,
        ended_at,
        duration_seconds: ended.duration_seconds,
        options_selected: runner.selection().map(str::to_string),
        opted_out: runner.opted_out(),
        next,
        digits: ended.digits.clone(),
        played: ended.played.clone(),
    }
}

/// The batch's workflow snapshot and the recipient's variables (values made text).
fn read_snapshot(workflow: &str, variables: &str) -> Option<(Workflow, Variables)> {
    let workflow: Workflow = serde_json::from_str(workflow).ok()?;
    Some((workflow, variables_from_json(variables).ok()?))
}

/// Renders every prompt of the call; `None` if any fails.
async fn render_all(s: &Shared, runner: &Runner, voice: &Voice) -> Option<Prompts> {
    let mut out = Prompts::new();
    for p in runner.prompts() {
        let pcm = match &p {
            Prompt::Text(text) => s.renderer.render(text, voice).await,
            Prompt::Audio(id) => s.renderer.audio(id).await,
        };
        match pcm {
            Ok(audio) => {
                let played_ref = s.renderer.played_ref(&p, voice);
                out.insert(p, Rendered { audio, played_ref });
            }
            Err(e) => {
                tracing::warn!(error = %e, "prompt rendering failed");
                return None;
            }
        }
    }
    Some(out)
}

/// Tells a stale `PlaybackFinished` (of a prompt stopped by barge-in, already queued when
/// the stop reached the driver) from the finish of the prompt started right after the stop.
/// Only finishes arriving shortly after a stop and well before the new prompt could have
/// played are stale, so a genuine finish is never dropped.
#[derive(Debug, Default)]
struct PlaybackTrack {
    stopped_at: Option<Instant>,
    /// Start and length of the prompt now playing.
    playing: Option<(Instant, std::time::Duration)>,
}

/// How long after a stop a queued finish of the stopped prompt may still arrive.
const STALE_WINDOW: std::time::Duration = std::time::Duration::from_millis(100);

impl PlaybackTrack {
    fn started(&mut self, now: Instant, samples: usize) {
        self.playing = Some((now, std::time::Duration::from_micros(samples as u64 * 125)));
    }

    fn stopped(&mut self, now: Instant) {
        self.stopped_at = Some(now);
        self.playing = None;
    }

    fn is_stale(&self, now: Instant) -> bool {
        match (self.stopped_at, self.playing) {
            (Some(stop), Some((start, len))) => {
                now.duration_since(stop) < STALE_WINDOW && start >= stop && now < start + len / 2
            }
            _ => false,
        }
    }
}

/// How an attempt ended, as far as the dialer counts it.
struct Ended {
    outcome: Outcome,
    sip_code: Option<u16>,
    answered_at: Option<i64>,
    duration_seconds: i64,
    /// Keypad digits pressed, in order.
    digits: String,
    /// [`Rendered::played_ref`] of each prompt started, in order.
    played: Vec<String>,
}

/// Drives a placed call: events into the runner, the runner's actions onto the call, ring
/// and call-length guards, until the driver reports the end.
async fn drive(
    s: &Shared,
    session: &mut dyn CallSession,
    runner: &mut Runner,
    prompts: &Prompts,
    attempt_id: &str,
    ring_timeout: std::time::Duration,
) -> Ended {
    // The driver CANCELs at the ring timeout; this guard only covers a driver that does not.
    let invited = Instant::now();
    let mut guard = invited + ring_timeout + s.config.hangup_grace;
    let mut answered: Option<(Instant, i64)> = None;
    let mut we_hung_up = false;
    let mut playback = PlaybackTrack::default();
    let mut guard_fired = false;
    let (mut digits, mut played) = (String::new(), Vec::new());
    let ended = loop {
        let deadline = runner.poll_timeout().map(Instant::from_std).map_or(guard, |d| d.min(guard));
        tokio::select! {
            ev = session.next_event() => {
                let now = Instant::now();
                match ev {
                    None => break (None, None),
                    Some(CallEvent::Ended { outcome, sip_code }) => break (Some(outcome), sip_code),
                    Some(CallEvent::Ringing) => {}
                    Some(CallEvent::Answered) => {
                        let wall = s.clock.now_micros();
                        answered = Some((now, wall));
                        metrics::answered(now.duration_since(invited));
                        guard = now + s.config.max_call_duration;
                        runner.answered(now.into_std());
                        // Off the media path: the first prompt must not wait for a commit.
                        let (store, attempt_id) = (s.store.clone(), attempt_id.to_string());
                        tokio::spawn(async move {
                            if let Err(e) = store.mark_answered(&attempt_id, wall).await {
                                tracing::warn!(error = %e, "recording the answer failed");
                            }
                        });
                    }
                    Some(CallEvent::Digit(d)) => {
                        if digits.len() < MAX_RECORDED {
                            digits.push(d);
                        }
                        runner.digit(now.into_std(), d)
                    }
                    Some(CallEvent::PlaybackFinished) if playback.is_stale(now) => {
                        tracing::debug!("finish of a stopped prompt ignored");
                    }
                    Some(CallEvent::PlaybackFinished) => runner.playback_finished(now.into_std()),
                }
            }
            _ = tokio::time::sleep_until(deadline) => {
                let now = Instant::now();
                if now >= guard {
                    if we_hung_up {
                        break (None, None);
                    }
                    session.hangup();
                    we_hung_up = true;
                    guard_fired = true;
                    guard = now + s.config.hangup_grace;
                } else {
                    runner.handle_timeout(now.into_std());
                }
            }
        }
        while let Some(action) = runner.poll() {
            match action {
                Action::Play(p) => match prompts.get(&p) {
                    Some(r) => {
                        playback.started(Instant::now(), r.audio.len());
                        session.play(r.audio.clone());
                        if let Some(name) = r.played_ref.clone().filter(|_| played.len() < MAX_RECORDED) {
                            played.push(name);
                        }
                    }
                    None => session.hangup(),
                },
                Action::StopPlayback => {
                    playback.stopped(Instant::now());
                    session.stop_playback();
                }
                Action::Hangup if !we_hung_up => {
                    session.hangup();
                    we_hung_up = true;
                    guard = Instant::now() + s.config.hangup_grace;
                }
                Action::Hangup => {}
            }
        }
    };
    runner.ended();
    let (outcome, sip_code) = ended;
    let outcome = match (answered, outcome) {
        (Some(_), _) => Outcome::Answered,
        (None, _) if guard_fired => Outcome::NoAnswer,
        (None, Some(o)) => o,
        (None, None) => Outcome::Failed,
    };
    let duration_seconds = answered.map_or(0, |(at, _)| Instant::now().duration_since(at).as_secs() as i64);
    Ended { outcome, sip_code, answered_at: answered.map(|(_, wall)| wall), duration_seconds, digits, played }
}
