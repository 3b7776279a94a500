//! Completion callbacks that are never lost (CONTRACT.md §7, issue 7).
//!
//! When a batch becomes final, a SQL trigger writes its outbox row in the same transaction
//! (store migration `0003_callbacks.sql`); the row's id is the Standard Webhooks
//! `webhook-id`. This crate delivers those rows:
//!
//! - [`signing`]: `webhook-signature` values (HMAC-SHA256 over `id.timestamp.body` with the
//!   integrator's `whsec_` secret; two signatures during a key rotation's grace period).
//! - [`guard`]: which URLs may be called (http(s) only, no private/loopback/link-local
//!   targets unless allowed, checked again at every DNS resolution).
//! - [`schedule`]: the retry schedule with jitter and `Retry-After`.
//! - [`sender`]: the tokio loop — claim due rows under a lease, POST the exact §7 payload,
//!   record each attempt. State lives only in the database, so restarts resume.
//!
//! ```
//! use voicebot_callback::signing::Secret;
//! let secret = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
//! let sig = secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, br#"{"test": 2432232314}"#);
//! assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod guard;
pub mod schedule;
pub mod sender;
pub mod signing;

pub use guard::{GuardError, check_url};
pub use schedule::RetrySchedule;
pub use sender::{Sender, SenderConfig, SenderError};
