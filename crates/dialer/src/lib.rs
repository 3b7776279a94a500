//! The dialer: turns queued calls into SIP calls within the rules of CONTRACT.md §8.
//!
//! Layout, from pure policy to the async loop:
//! - [`outcome`]: attempt outcomes, the retry policy per outcome, final call statuses;
//! - [`limiter`]: this node's call slots per trunk and the spacing of send slots;
//! - [`window`]: calling windows in the recipient's local time (country from the number);
//! - [`session`]: the traits the binary implements over telephony ([`CallPlacer`],
//!   [`CallSession`]) and TTS ([`PromptRenderer`]);
//! - [`SharedPrompts`]: one in-memory copy of a prompt however many live calls play it;
//! - [`config`], [`clock`]: plain settings and an injectable wall clock;
//! - `dialer` / `call`: the loop ([`Dialer::run`]) and one call's task;
//! - `fleet`: heartbeats, dead nodes' calls, and waiting for the trunk's fleet-wide `cps` and
//!   `max_concurrent` (kept in the store, so they hold across every node on one database);
//! - `metrics`: the Prometheus series it records (names in one place).
//!
//! The invariants it keeps (ARCHITECTURE.md "A call's life"): an attempt row with its SIP
//! Call-ID is committed before the INVITE leaves; a restart marks interrupted attempts
//! `INTERRUPTED` and counts them; no call exceeds `max_attempts`.
//!
//! ```
//! use voicebot_dialer::outcome::{Decision, Outcome, RetryDelays, RetryPolicy};
//! let policy = RetryPolicy::for_batch(RetryDelays::default(), 3, None);
//! assert!(matches!(policy.decide(Outcome::Busy, 1), Decision::Retry(_)));
//! assert!(matches!(policy.decide(Outcome::InvalidNumber, 1), Decision::Final(_)));
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod call;
pub mod clock;
pub mod config;
mod dialer;
mod fleet;
pub mod limiter;
mod metrics;
pub mod outcome;
pub mod session;
mod shared_prompts;
pub mod window;

pub use call::reason;
pub use clock::{Clock, SystemClock};
pub use config::{DialerConfig, TrunkConfig};
pub use dialer::{Dialer, DialerError};
pub use outcome::{Decision, Outcome, RetryDelays, RetryPolicy};
pub use session::{
    Audio, BoxError, CallEvent, CallPlacer, CallSession, PlaceError, PlaceRequest, PromptRenderer,
    RenderError, Voice,
};
pub use shared_prompts::SharedPrompts;
pub use window::{CallingWindow, WindowError, WindowPolicy};
