//! Errors of the drivers: what can go wrong before a call leg exists (sockets, bad requests, a stopped
//! endpoint) and in the virtual phone's script and recordings. Call outcomes are not errors: they arrive as
//! [`crate::CallEvent::Ended`].

use std::io;
use std::net::SocketAddr;

/// Why a driver operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TelephonyError {
    /// Binding the SIP socket failed.
    #[error("cannot bind the SIP socket on {addr}: {source}")]
    SipBind {
        /// The requested address.
        addr: SocketAddr,
        /// The OS error.
        source: io::Error,
    },
    /// No RTP port could be bound (range exhausted or bind errors).
    #[error("no free RTP port: {0}")]
    RtpPorts(io::Error),
    /// A call with this Call-ID is already in progress.
    #[error("Call-ID {0:?} is already in use")]
    DuplicateCallId(String),
    /// The request is unusable (empty Call-ID, number or codec list).
    #[error("invalid call request: {0}")]
    InvalidRequest(&'static str),
    /// A value of the request (number, caller id, trunk host, username, Call-ID) would break the INVITE
    /// (CR, LF or NUL; a URI delimiter): refused, nothing was sent.
    #[error("call request refused: {0}")]
    Unsendable(#[from] voicebot_sip::SerialiseError),
    /// The endpoint's driver task has stopped (shut down, or its runtime is gone).
    #[error("the telephony endpoint has stopped")]
    Stopped,
    /// The phone script is not valid JSON for the CONTRACT §8 format.
    #[error("invalid phone script: {0}")]
    Script(#[from] serde_json::Error),
    /// A WAV file could not be read or written.
    #[error("WAV {path}: {source}")]
    Wav {
        /// The file.
        path: String,
        /// What hound reported.
        source: hound::Error,
    },
    /// A WAV file is not 8 kHz 16-bit PCM.
    #[error("WAV {0}: need 8 kHz 16-bit PCM")]
    WavFormat(String),
    /// A file-system operation failed (record directory).
    #[error("{context}: {source}")]
    Io {
        /// What we were doing.
        context: String,
        /// The OS error.
        source: io::Error,
    },
}
