//! Sans-IO RTP media for voicebot calls.
//!
//! Everything here is a pure state machine or a pure function: no sockets, no tasks, no clock.
//! Time enters as a `now: Instant` argument, bytes enter and leave as slices and `Vec`s, so a
//! tokio driver can run thousands of streams from one timer wheel, and tests run on a virtual
//! clock.
//!
//! Layout:
//! - [`rtp`]: RFC 3550 packet parse/serialise; [`event`]: RFC 4733 telephone-event payloads.
//! - [`srtp`]: RFC 3711 SRTP ([`SrtpContext`]) for SDES-keyed calls; a sender or receiver given
//!   one protects or unprotects every packet it handles.
//! - [`g711`]: µ-law / A-law ([`Codec`]).
//! - [`sender`]: [`RtpSender`], the paced outbound stream (prompts, comfort silence, digits).
//! - [`receiver`]: [`RtpReceiver`], the inbound stream (decoded audio, digits, loss counters).
//! - [`amd`]: answering-machine detection ([`MachineDetector`]: person or machine, beep, end of
//!   greeting).
//! - [`detector`] and [`tone`]: in-band DTMF (Goertzel detector, tone generator); [`digit`]
//!   names the sixteen keys for both RFC 4733 and in-band use.
//!
//! # Driving a call's media
//!
//! The driver owns the UDP socket. For each call it keeps one sender and one receiver, sends
//! whatever `poll_transmit` yields, sleeps until the earliest `poll_timeout`, and feeds every
//! datagram from the peer to `handle_datagram`:
//!
//! ```
//! use std::time::{Duration, Instant};
//! use voicebot_media::{Codec, Digit, MediaEvent, ReceiverConfig, RtpReceiver, RtpSender, SenderConfig};
//!
//! let start = Instant::now(); // the driver's clock; the engine never reads one itself
//! let mut tx = RtpSender::new(SenderConfig::new(Codec::Pcmu), start);
//! let mut rx = RtpReceiver::new(ReceiverConfig::default());
//! tx.enqueue(&vec![0i16; 800]); // a rendered prompt: 100 ms of 8 kHz PCM16
//! tx.send_digit(Digit::D1, Duration::from_millis(100));
//!
//! let mut now = start;
//! for _ in 0..20 {
//!     while let Some(datagram) = tx.poll_transmit(now) {
//!         // socket.send_to(&datagram, peer) — here, loop it back to our own receiver:
//!         rx.handle_datagram(now, &datagram).expect("valid RTP");
//!     }
//!     while let Some(event) = rx.poll_event() {
//!         match event {
//!             MediaEvent::Digit { digit, .. } => {
//!                 assert_eq!(digit, Digit::D1);
//!                 tx.clear(); // barge-in: stop the prompt
//!             }
//!             MediaEvent::Audio(frame) => assert_eq!(frame.pcm.len(), 160), // → WAV recorder
//!             _ => {}
//!         }
//!     }
//!     now = tx.poll_timeout().expect("streams never stop on their own"); // sleep_until(..)
//! }
//! assert_eq!(tx.stats().packets_sent, 20);
//! assert_eq!(rx.stats().digits, 1);
//! ```
//!
//! Notes for the driver:
//! - One timer for many calls: start every sender on the same 20 ms grid (pass the next tick
//!   as `start`), then one wake-up per tick serves all of them; `stats().late_*` measure how
//!   far behind the tick each packet actually went out.
//! - Prompts rendered once can be shared: [`RtpSender::enqueue_shared`] takes a
//!   [`PromptAudio`] (an `Arc` of PCM16 or of µ-law bytes), so thousands of calls play one
//!   buffer without copies, and a call holding its own message holds one byte per sample.
//! - Errors from `handle_datagram` are per datagram (count or log them); the receiver goes on.
//! - The `fuzz/` directory holds cargo-fuzz targets for the RTP and RFC 4733 parsers and the SRTP
//!   unprotect path.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod amd;
pub mod detector;
pub mod digit;
pub mod event;
pub mod g711;
pub mod receiver;
pub mod rtp;
pub mod sender;
pub mod srtp;
pub mod tone;

pub use amd::{AmdConfig, AmdEvent, MachineDetector};
pub use detector::{DetectorConfig, DtmfDetector};
pub use digit::Digit;
pub use event::{DEFAULT_EVENT_PAYLOAD_TYPE, EventError, TelephoneEvent};
pub use g711::Codec;
pub use receiver::{
    AudioFrame, DigitSource, MediaEvent, ReceiveError, ReceiverConfig, ReceiverStats, RtpReceiver,
};
pub use rtp::{Extension, RtpError, RtpPacket};
pub use sender::{
    FRAME_DURATION, FRAME_SAMPLES, PromptAudio, RtpSender, SAMPLE_RATE, SenderConfig, SenderStats,
};
pub use srtp::{SrtpContext, SrtpError, SrtpProfile};
