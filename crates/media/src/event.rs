//! RFC 4733 telephone-event payloads (the 4-octet "named event" block, §2.3).
//!
//! Only the payload lives here; which packets carry it (marker, timestamp, the three end
//! packets) is the business of the sender and receiver. Kept apart so the fuzz target and the
//! receiver parse exactly the same way.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     event     |E|R| volume    |          duration             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use thiserror::Error;

/// Payload type most peers (and sipp's captures) use for `telephone-event/8000`.
pub const DEFAULT_EVENT_PAYLOAD_TYPE: u8 = 101;
/// Length of one event block.
pub const EVENT_LEN: usize = 4;

/// Why an RFC 4733 payload cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum EventError {
    /// Fewer than 4 octets.
    #[error("telephone-event payload of {0} bytes, need 4")]
    Truncated(usize),
}

/// One RFC 4733 named-event block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEvent {
    /// Event code (0–15 are DTMF; see [`crate::Digit::from_event_code`]).
    pub event: u8,
    /// E bit: this is (a retransmission of) the final packet of the event.
    pub end: bool,
    /// Power level in −dBm0, 0–63 (higher is quieter).
    pub volume: u8,
    /// Duration so far, in timestamp units (1/8000 s), counted from the packet timestamp.
    pub duration: u16,
}

impl TelephoneEvent {
    /// Parses the first event block of a payload. Extra octets (further blocks or
    /// padding-like junk) are ignored, as RFC 4733 §2.5.2.1 allows.
    pub fn parse(payload: &[u8]) -> Result<Self, EventError> {
        let Some(b) = payload.get(..EVENT_LEN) else {
            return Err(EventError::Truncated(payload.len()));
        };
        Ok(TelephoneEvent {
            event: b[0],
            end: b[1] & 0x80 != 0,
            volume: b[1] & 0x3F,
            duration: u16::from_be_bytes([b[2], b[3]]),
        })
    }

    /// The 4-octet wire form (R bit zero, volume masked to 6 bits).
    pub fn to_bytes(self) -> [u8; EVENT_LEN] {
        let d = self.duration.to_be_bytes();
        [self.event, if self.end { 0x80 } else { 0 } | (self.volume & 0x3F), d[0], d[1]]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_vectors() {
        // Digit 1, not end, volume 10, duration 160.
        let start = [0x01, 0x0A, 0x00, 0xA0];
        let e = TelephoneEvent::parse(&start).unwrap();
        assert_eq!(e, TelephoneEvent { event: 1, end: false, volume: 10, duration: 160 });
        assert_eq!(e.to_bytes(), start);
        // '#', end, R bit set on the wire (ignored), volume 63, duration 800.
        let end = [0x0B, 0xC0 | 0x3F, 0x03, 0x20];
        let e = TelephoneEvent::parse(&end).unwrap();
        assert_eq!(e, TelephoneEvent { event: 11, end: true, volume: 63, duration: 800 });
        assert_eq!(e.to_bytes(), [0x0B, 0xBF, 0x03, 0x20]);
        assert_eq!(TelephoneEvent::parse(&[1, 2, 3]), Err(EventError::Truncated(3)));
        assert!(TelephoneEvent::parse(&[1, 2, 3, 4, 5, 6, 7, 8]).is_ok());
    }
}
