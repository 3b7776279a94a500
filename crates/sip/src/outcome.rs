//! Call outcomes: how a SIP final response (or a timer) maps to what the dialer records.
//!
//! Owns the one mapping table from SIP status codes to [`Outcome`], so the UAC engine, the driver and the
//! tests agree. The raw SIP code is always kept next to the outcome ([`CallEnd::sip_code`]).
//!
//! | SIP / event                               | outcome         | `sip_code` | reason            |
//! |-------------------------------------------|-----------------|------------|-------------------|
//! | 2xx, then BYE either way                  | `Answered`      | 200        | Local/RemoteHangup|
//! | 486, 600                                  | `Busy`          | raw        | `Rejected`        |
//! | 408, 480                                  | `NoAnswer`      | raw        | `Rejected`        |
//! | ring timeout → CANCEL → 487 (or no 487)   | `NoAnswer`      | 487 (408)  | `RingTimeout`     |
//! | 404, 484, 604                             | `InvalidNumber` | raw        | `Rejected`        |
//! | 403, 603                                  | `Rejected`      | raw        | `Rejected`        |
//! | other 3xx–6xx (incl. 401/407 we can't pass)| `Failed`       | raw        | `Rejected`        |
//! | Timer B (no final response in 64·T1)      | `Failed`        | 408 (synthesized) | `Timeout`  |
//! | transport error reported by the driver    | `Failed`        | 503 (synthesized) | `TransportError` |
//! | 2xx without usable SDP (ACK, then BYE)    | `Failed`        | raw (200)  | `BadAnswer`       |
//! | 2xx without the SRTP our trunk requires   | `Failed`        | raw (200)  | `SrtpRefused`     |
//! | `hangup()` before answer → CANCEL         | `Cancelled`     | 487 (or raw)| `LocalCancel`    |

/// What happened to a call attempt, as the dialer records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Outcome {
    /// The callee answered (2xx).
    Answered,
    /// Busy (486, 600).
    Busy,
    /// Nobody answered (408, 480, our ring timeout).
    NoAnswer,
    /// The number does not exist (404, 484, 604).
    InvalidNumber,
    /// The callee or network refused (403, 603).
    Rejected,
    /// Anything else: other 3xx–6xx, Timer B, transport errors.
    Failed,
    /// We hung up before an answer (local CANCEL not caused by the ring timeout).
    Cancelled,
}

impl Outcome {
    /// Maps a final non-2xx response code received for our INVITE.
    pub fn from_final_status(code: u16) -> Outcome {
        match code {
            200..=299 => Outcome::Answered,
            486 | 600 => Outcome::Busy,
            408 | 480 => Outcome::NoAnswer,
            404 | 484 | 604 => Outcome::InvalidNumber,
            403 | 603 => Outcome::Rejected,
            _ => Outcome::Failed,
        }
    }
}

/// Why a call leg ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EndReason {
    /// We sent BYE after the answer.
    LocalHangup,
    /// The peer sent BYE.
    RemoteHangup,
    /// The INVITE got a final non-2xx response.
    Rejected,
    /// Our ring timeout fired and we cancelled.
    RingTimeout,
    /// `hangup()` was called before the answer and we cancelled.
    LocalCancel,
    /// Timer B: no final response at all (sip_code is a synthesized 408).
    Timeout,
    /// The driver reported a transport error (sip_code is a synthesized 503).
    TransportError,
    /// The 2xx carried no usable SDP answer; we ACKed and sent BYE.
    BadAnswer,
    /// The 2xx's SDP answer had no usable `a=crypto` although our SRTP is mandatory (or a crypto
    /// line that does not match our offer, e.g. an MKI); we ACKed and sent BYE.
    SrtpRefused,
    /// UAS: the peer cancelled the INVITE.
    Cancelled,
    /// UAS: our 2xx was never ACKed within 64·T1 (Timer H); we sent BYE.
    AckTimeout,
}

/// The end of a call leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallEnd {
    /// The dialer's outcome.
    pub outcome: Outcome,
    /// The raw (or, where the table above says so, synthesized) SIP status code.
    pub sip_code: u16,
    /// Why it ended.
    pub reason: EndReason,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping_table() {
        for (code, want) in [
            (200, Outcome::Answered),
            (486, Outcome::Busy),
            (600, Outcome::Busy),
            (408, Outcome::NoAnswer),
            (480, Outcome::NoAnswer),
            (404, Outcome::InvalidNumber),
            (484, Outcome::InvalidNumber),
            (604, Outcome::InvalidNumber),
            (403, Outcome::Rejected),
            (603, Outcome::Rejected),
            (503, Outcome::Failed),
            (407, Outcome::Failed),
            (302, Outcome::Failed),
        ] {
            assert_eq!(Outcome::from_final_status(code), want, "{code}");
        }
    }
}
