//! Tokio drivers for voicebot's telephony: the UAC endpoint the dialer places calls with, the virtual phone
//! (`voicebot phone`) and a one-shot `dial` for manual checks.
//!
//! The protocol lives in the sans-IO crates `voicebot-sip` (call legs, SDP, digest) and `voicebot-media`
//! (RTP, G.711, RFC 4733, in-band DTMF). This crate only owns sockets, tasks and time:
//!
//! - [`Telephony`] ([`endpoint`]): one SIP UDP socket and one task holding every outbound leg, routed by
//!   Call-ID, with a single heap of deadlines for all SIP timers.
//! - [`clock`]: ONE OS thread runs the RTP of every call, both ways, in 1 ms slots of the 20 ms frame
//!   period: it sends each call's due frame (and measures how late it left, [`ClockStats`]), then drains the
//!   call's socket, decoding RTP and reporting RFC 4733 and in-band digits. No task or timer per packet.
//! - [`rtp`]: one non-blocking RTP socket per call, from a configurable port range; or, with
//!   [`RtpSocket::Shared`], one socket for all calls, written with `sendmmsg`, read with `recvmmsg` and
//!   demultiplexed by the peer's address.
//! - SRTP ([`TrunkConfig::srtp`], [`SrtpPolicy`]): keys offered and agreed in the SDP (`voicebot-sip`),
//!   packets protected and unprotected by the media engines on the clock, in both socket modes;
//!   authentication failures and replays are dropped and counted ([`ClockStats`], [`MediaSummary`]).
//! - [`CallHandle`] ([`call`]): what the dialer holds per call — [`CallEvent`]s out, `play` /
//!   `stop_playback` / `hangup` in.
//! - [`phone`]: the virtual phone (SIP UAS) driven by the CONTRACT §8 script, recording WAVs.
//! - [`dial`]: call one number, play a WAV, report the outcome.
//!
//! ```no_run
//! use std::sync::Arc;
//! use voicebot_telephony::{CallEvent, CallRequest, Telephony, TelephonyConfig, TrunkConfig, new_call_id};
//!
//! # async fn demo() -> Result<(), voicebot_telephony::TelephonyError> {
//! let tel = Telephony::start(TelephonyConfig::default()).await?;
//! let trunk = TrunkConfig::new("127.0.0.1:5070".parse().unwrap(), "+2341000000000");
//! let call_id = new_call_id(); // record it before the INVITE leaves
//! let mut call = tel.place_call(CallRequest::new(call_id, "+2348000000001", trunk)).await?;
//! let prompt: Arc<[i16]> = vec![0i16; 8000].into(); // 1 s of 8 kHz PCM16
//! while let Some(event) = call.next_event().await {
//!     match event {
//!         CallEvent::Answered { .. } => call.play(prompt.clone()),
//!         CallEvent::Digit { .. } => call.stop_playback(), // barge-in
//!         CallEvent::PlaybackFinished => call.hangup(),
//!         CallEvent::Ended { outcome, sip_code, .. } => println!("{outcome:?} ({sip_code})"),
//!         _ => {}
//!     }
//! }
//! tel.shutdown().await;
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod call;
pub mod clock;
pub mod config;
pub mod dial;
pub mod endpoint;
pub mod error;
pub mod phone;
pub mod rtp;
mod srtp;
pub mod wav;

pub use call::{CallControl, CallEvent, CallHandle, DigitSource, MediaSummary};
pub use clock::ClockStats;
pub use config::{CallRequest, RtpSocket, TelephonyConfig, TrunkConfig, new_call_id};
pub use endpoint::Telephony;
pub use error::TelephonyError;
pub use voicebot_media::{Digit, PromptAudio};
pub use voicebot_sip::{Codec, EndReason, Outcome, SrtpPolicy, TimerConfig};
