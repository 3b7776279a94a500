//! Helpers shared by the integration tests: a UAC endpoint, a virtual phone, a prompt, and a call driven to
//! its end with a generous overall timeout (the machine may be loaded).

#![allow(dead_code)]

pub mod baresip;
pub mod sipp;

use std::f32::consts::TAU;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use voicebot_telephony::{
    CallEvent, CallHandle, CallRequest, Digit, DigitSource, EndReason, Outcome, Telephony, TelephonyConfig,
    TrunkConfig, new_call_id,
};

/// Generous per-call limit: nothing here should take more than a few seconds.
pub const CALL_LIMIT: Duration = Duration::from_secs(30);

pub async fn uac() -> Telephony {
    Telephony::start(TelephonyConfig::default()).await.expect("start UAC endpoint")
}

pub fn trunk(addr: SocketAddr) -> TrunkConfig {
    TrunkConfig::new(addr, "+2341000000000")
}

/// `secs` of a 440 Hz sine at peak 8000.
pub fn tone(secs: f32) -> Arc<[i16]> {
    let n = (secs * 8000.0) as usize;
    (0..n).map(|i| (8000.0 * (TAU * 440.0 * i as f32 / 8000.0).sin()) as i16).collect::<Vec<_>>().into()
}

pub async fn place(tel: &Telephony, trunk: TrunkConfig, number: &str) -> CallHandle {
    tel.place_call(CallRequest::new(new_call_id(), number, trunk)).await.expect("place call")
}

/// Reads events until `Ended` (or the limit), returning them all.
pub async fn collect(
    call: &mut CallHandle,
    mut on_event: impl FnMut(&CallHandle, &CallEvent),
) -> Vec<CallEvent> {
    let mut events = Vec::new();
    let run = async {
        while let Some(ev) = call.next_event().await {
            on_event(call, &ev);
            events.push(ev);
        }
    };
    let finished = tokio::time::timeout(CALL_LIMIT, run).await.is_ok();
    assert!(finished, "call did not end within {CALL_LIMIT:?}; events so far: {events:?}");
    events
}

/// The `Ended` event's fields.
pub fn ended(events: &[CallEvent]) -> (Outcome, u16, EndReason) {
    match events.last() {
        Some(CallEvent::Ended { outcome, sip_code, reason, .. }) => (*outcome, *sip_code, *reason),
        other => panic!("last event is not Ended: {other:?} in {events:?}"),
    }
}

/// Plays 1.5 s of tone, hangs up once the prompt finished and a digit arrived; returns the digits heard.
pub async fn play_until_digit(mut call: CallHandle) -> (Vec<(Digit, DigitSource)>, String) {
    let (mut finished, mut digits) = (false, Vec::new());
    let events = collect(&mut call, |call, ev| match ev {
        CallEvent::Answered { .. } => call.play(tone(1.5)),
        CallEvent::PlaybackFinished => {
            finished = true;
            if !digits.is_empty() {
                call.hangup();
            }
        }
        CallEvent::Digit { digit, source } => {
            digits.push((*digit, *source));
            if finished {
                call.hangup();
            }
        }
        _ => {}
    })
    .await;
    assert_eq!(ended(&events), (Outcome::Answered, 200, EndReason::LocalHangup), "{events:?}");
    (digits, call.call_id().to_string())
}
