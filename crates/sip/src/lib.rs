//! Sans-IO SIP user agent for voicebot: message parsing, SDP offer/answer, digest auth, and two call-leg
//! engines — [`OutboundCall`] (UAC, places calls on a trunk) and [`InboundCall`] (UAS, the virtual phone).
//!
//! Nothing here opens a socket, spawns a task or reads the clock: every input carries `now: Instant`, and every
//! output is polled. A driver (the tokio code in the `voicebot` binary) owns the UDP socket and one timer
//! wheel for all legs, and runs this loop per leg, in the style of quinn-proto and str0m:
//!
//! 1. feed input: [`OutboundCall::handle_datagram`] for a datagram with this leg's Call-ID (route with
//!    [`peek`]), [`OutboundCall::handle_timeout`] when the leg's deadline passed, or an action such as
//!    [`OutboundCall::hangup`];
//! 2. drain [`OutboundCall::poll_transmit`] (send each datagram) and [`OutboundCall::poll_event`];
//! 3. re-arm the leg's timer at [`OutboundCall::poll_timeout`]; drop the leg once
//!    [`OutboundCall::is_terminated`].
//!
//! ```
//! use std::time::{Duration, Instant};
//! use voicebot_sip::{CallConfig, CallEvent, LocalMedia, OutboundCall, sip_uri};
//!
//! let now = Instant::now(); // the driver's clock; the engine never reads one itself
//! let trunk = "127.0.0.1:5060".parse().unwrap();
//! let local = "127.0.0.1:5062".parse().unwrap();
//! let media = LocalMedia::new("127.0.0.1:40000".parse().unwrap());
//! let number = sip_uri("+2348000000001", "127.0.0.1:5060").unwrap(); // refuses CR/LF, `@`, `;`...
//! let cfg = CallConfig::new("call-1@voicebot", number, "sip:+2341000000000@127.0.0.1", trunk, local, media);
//! let mut call = OutboundCall::new(now, cfg).unwrap(); // refuses values that would break the INVITE
//! while let Some(t) = call.poll_transmit() {
//!     // socket.send_to(&t.payload, t.destination)
//!     assert!(t.payload.starts_with(b"INVITE sip:+2348000000001@127.0.0.1:5060 SIP/2.0"));
//! }
//! // No answer at all: Timer A retransmits, Timer B ends the call after 64·T1 = 32 s.
//! let deadline = call.poll_timeout().unwrap();
//! assert_eq!(deadline, now + Duration::from_millis(500));
//! call.handle_timeout(now + Duration::from_secs(32));
//! while call.poll_transmit().is_some() {}
//! match call.poll_event() {
//!     Some(CallEvent::Ended(end)) => assert_eq!(end.sip_code, 408),
//!     other => panic!("unexpected {other:?}"),
//! }
//! ```
//!
//! Layout: [`message`] and [`mod@parse`] (wire format), [`header`] (typed views of the headers we act on),
//! [`sdp`], [`digest`], [`timer`] (the timer table), [`outcome`] (SIP code → call outcome), `transaction` and
//! `dialog` (pieces shared by both engines), `uac` and `uas` (the engines), [`demux`] (routing datagrams).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod demux;
pub mod dialog;
pub mod digest;
pub mod header;
pub mod message;
pub mod outcome;
pub mod parse;
pub mod sdp;
pub mod timer;
pub mod transaction;
mod uac;
mod uas;

pub use demux::{Peek, peek, stateless_response};
pub use digest::Credentials;
pub use header::sip_uri;
pub use message::{Message, Method, Request, Response, SerialiseError};
pub use outcome::{CallEnd, EndReason, Outcome};
pub use parse::{ParseError, parse};
pub use sdp::{Codec, LocalMedia, RemoteMedia, SdpError, SrtpPolicy};
pub use timer::{Timer, TimerConfig};
pub use transaction::Transmit;
pub use uac::{CallConfig, CallEvent, OutboundCall};
pub use uas::{InboundCall, InboundConfig, InboundError, InboundEvent};
