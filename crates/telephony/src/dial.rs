//! `dial`: call one number on a trunk, play a WAV once answered, hang up when it has played, and report
//! the outcome — the manual check behind `voicebot dial` (the CLI prints [`DialReport`] as JSON).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::call::{CallEvent, DigitSource};
use crate::config::{CallRequest, TelephonyConfig, TrunkConfig, new_call_id};
use crate::endpoint::Telephony;
use crate::error::TelephonyError;

/// What to dial.
#[derive(Debug, Clone)]
pub struct DialConfig {
    /// The trunk.
    pub trunk: TrunkConfig,
    /// The number (E.164).
    pub number: String,
    /// An 8 kHz 16-bit WAV to play after the answer (`None`: one second of silence).
    pub wav: Option<PathBuf>,
    /// Our SIP bind address.
    pub sip_bind: SocketAddr,
    /// Keep the call up this long after the prompt finished (to hear key presses).
    pub linger: Duration,
}

impl DialConfig {
    /// Dial `number` on `trunk` from 127.0.0.1 (any port), lingering 2 s after the prompt.
    pub fn new(trunk: TrunkConfig, number: impl Into<String>) -> DialConfig {
        DialConfig {
            trunk,
            number: number.into(),
            wav: None,
            sip_bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            linger: Duration::from_secs(2),
        }
    }
}

/// The result of one dial.
#[derive(Debug, Clone, Serialize)]
pub struct DialReport {
    /// The Call-ID used.
    pub call_id: String,
    /// The outcome (`ANSWERED`, `BUSY`, …).
    pub outcome: String,
    /// The SIP status behind it.
    pub sip_code: u16,
    /// Who ended the call.
    pub reason: String,
    /// Digits heard, with how they arrived.
    pub digits: Vec<(char, DigitSource)>,
    /// Milliseconds from INVITE to answer, if answered.
    pub answer_ms: Option<u64>,
}

/// Places the call, plays the WAV, waits for the end, prints the report as one JSON line and returns it.
pub async fn run(config: DialConfig) -> Result<DialReport, TelephonyError> {
    let prompt: Arc<[i16]> = match &config.wav {
        Some(path) => crate::wav::read_wav(path)?.into(),
        None => vec![0i16; 8000].into(),
    };
    let tel =
        Telephony::start(TelephonyConfig { sip_bind: config.sip_bind, ..TelephonyConfig::default() }).await?;
    let call_id = new_call_id();
    let started = Instant::now();
    let mut call = tel.place_call(CallRequest::new(call_id.clone(), config.number, config.trunk)).await?;
    let mut report = DialReport {
        call_id,
        outcome: String::new(),
        sip_code: 0,
        reason: String::new(),
        digits: Vec::new(),
        answer_ms: None,
    };
    let mut hangup_at: Option<tokio::time::Instant> = None;
    loop {
        let ev = match hangup_at {
            Some(at) => match tokio::time::timeout_at(at, call.next_event()).await {
                Ok(ev) => ev,
                Err(_) => {
                    hangup_at = None;
                    call.hangup();
                    continue;
                }
            },
            None => call.next_event().await,
        };
        match ev {
            Some(CallEvent::Answered { .. }) => {
                report.answer_ms = Some(started.elapsed().as_millis() as u64);
                call.play(prompt.clone());
            }
            Some(CallEvent::PlaybackFinished) => {
                hangup_at = Some(tokio::time::Instant::now() + config.linger)
            }
            Some(CallEvent::Digit { digit, source }) => report.digits.push((digit.to_char(), source)),
            Some(CallEvent::Ended { outcome, sip_code, reason, .. }) => {
                report.outcome = outcome_name(outcome).to_string();
                report.sip_code = sip_code;
                report.reason = format!("{reason:?}");
                break;
            }
            Some(_) => {}
            None => break,
        }
    }
    tel.shutdown().await;
    if let Ok(line) = serde_json::to_string(&report) {
        println!("{line}");
    }
    Ok(report)
}

/// The CONTRACT spelling of an outcome (`ANSWERED`, `NO_ANSWER`, …).
pub fn outcome_name(outcome: crate::Outcome) -> &'static str {
    use crate::Outcome as O;
    match outcome {
        O::Answered => "ANSWERED",
        O::Busy => "BUSY",
        O::NoAnswer => "NO_ANSWER",
        O::InvalidNumber => "INVALID_NUMBER",
        O::Rejected => "REJECTED",
        O::Cancelled => "CANCELLED",
        _ => "FAILED",
    }
}
