//! The sixteen DTMF keys and their two names on the wire.
//!
//! One type is shared by the RFC 4733 sender/receiver (event codes 0–15) and the in-band
//! detector/generator (row and column frequencies), so a digit means the same thing whichever
//! way it travelled.

use std::fmt;

/// Low-group (row) frequencies in Hz, ITU-T Q.23.
pub const ROW_FREQS: [f32; 4] = [697.0, 770.0, 852.0, 941.0];
/// High-group (column) frequencies in Hz, ITU-T Q.23.
pub const COL_FREQS: [f32; 4] = [1209.0, 1336.0, 1477.0, 1633.0];

/// Keypad layout: `KEYPAD[row][col]`.
const KEYPAD: [[Digit; 4]; 4] = [
    [Digit::D1, Digit::D2, Digit::D3, Digit::A],
    [Digit::D4, Digit::D5, Digit::D6, Digit::B],
    [Digit::D7, Digit::D8, Digit::D9, Digit::C],
    [Digit::Star, Digit::D0, Digit::Pound, Digit::D],
];

/// A DTMF key: `0`–`9`, `*`, `#`, `A`–`D`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)]
pub enum Digit {
    D0,
    D1,
    D2,
    D3,
    D4,
    D5,
    D6,
    D7,
    D8,
    D9,
    Star,
    Pound,
    A,
    B,
    C,
    D,
}

impl Digit {
    /// All sixteen digits in RFC 4733 event-code order.
    pub const ALL: [Digit; 16] = [
        Digit::D0,
        Digit::D1,
        Digit::D2,
        Digit::D3,
        Digit::D4,
        Digit::D5,
        Digit::D6,
        Digit::D7,
        Digit::D8,
        Digit::D9,
        Digit::Star,
        Digit::Pound,
        Digit::A,
        Digit::B,
        Digit::C,
        Digit::D,
    ];

    /// RFC 4733 §3.2 event code (0–9, `*` = 10, `#` = 11, A–D = 12–15).
    pub fn event_code(self) -> u8 {
        self as u8
    }

    /// The digit for an RFC 4733 event code; `None` for non-DTMF events (16 = flash, …).
    pub fn from_event_code(code: u8) -> Option<Digit> {
        Digit::ALL.get(usize::from(code)).copied()
    }

    /// The key as a character (`'0'`–`'9'`, `'*'`, `'#'`, `'A'`–`'D'`).
    pub fn to_char(self) -> char {
        b"0123456789*#ABCD"[self as usize] as char
    }

    /// Parses a key character; lower-case `a`–`d` are accepted.
    pub fn from_char(c: char) -> Option<Digit> {
        let c = c.to_ascii_uppercase();
        Digit::ALL.into_iter().find(|d| d.to_char() == c)
    }

    /// `(row, column)` index into [`ROW_FREQS`] / [`COL_FREQS`].
    pub fn position(self) -> (usize, usize) {
        for (r, row) in KEYPAD.iter().enumerate() {
            if let Some(c) = row.iter().position(|&d| d == self) {
                return (r, c);
            }
        }
        unreachable!("every digit is on the keypad")
    }

    /// The digit at `(row, column)` of the keypad.
    pub fn from_position(row: usize, col: usize) -> Option<Digit> {
        KEYPAD.get(row).and_then(|r| r.get(col)).copied()
    }

    /// `(low, high)` tone frequencies in Hz.
    pub fn frequencies(self) -> (f32, f32) {
        let (r, c) = self.position();
        (ROW_FREQS[r], COL_FREQS[c])
    }
}

impl fmt::Display for Digit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_char())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_chars_positions_agree() {
        for (i, d) in Digit::ALL.into_iter().enumerate() {
            assert_eq!(usize::from(d.event_code()), i);
            assert_eq!(Digit::from_event_code(i as u8), Some(d));
            assert_eq!(Digit::from_char(d.to_char()), Some(d));
            let (r, c) = d.position();
            assert_eq!(Digit::from_position(r, c), Some(d));
        }
        assert_eq!(Digit::from_event_code(16), None);
        assert_eq!(Digit::from_char('x'), None);
        assert_eq!(Digit::from_char('b'), Some(Digit::B));
        assert_eq!(Digit::D5.frequencies(), (770.0, 1336.0));
        assert_eq!(Digit::Pound.frequencies(), (941.0, 1477.0));
        assert_eq!(Digit::Star.to_string(), "*");
    }
}
