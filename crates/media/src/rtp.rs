//! RTP packets (RFC 3550 §5.1): parse a datagram into a borrowed view, serialise one back.
//!
//! Parsing never panics and allocates only for a CSRC list: every length is checked against the datagram and
//! each kind of malformation has its own [`RtpError`] variant, so a driver can count them.
//! The fixed header, CSRC list, header extension (§5.3.1) and padding are all understood;
//! the payload is handed out as a slice of the input.

use thiserror::Error;

/// Length of the fixed RTP header.
pub const FIXED_HEADER_LEN: usize = 12;
/// Most CSRC identifiers a header can carry (4-bit CC field).
pub const MAX_CSRCS: usize = 15;

/// Why a datagram is not an RTP packet we can use, or a packet cannot be written.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RtpError {
    /// Shorter than the fixed header, the CSRC list or the extension says.
    #[error("RTP packet truncated: {len} bytes, header needs {need}")]
    Truncated {
        /// Bytes received.
        len: usize,
        /// Bytes the header claims.
        need: usize,
    },
    /// Version field is not 2.
    #[error("unsupported RTP version {0}")]
    BadVersion(u8),
    /// Padding bit set but the last octet is 0 or runs into the header.
    #[error("invalid RTP padding length {pad} for {available} payload bytes")]
    BadPadding {
        /// The padding count from the last octet.
        pad: u8,
        /// Bytes after the header.
        available: usize,
    },
    /// The second octet is an RTCP packet type (RFC 5761 §4): not RTP.
    #[error("RTCP packet (type {0}) on the RTP path")]
    Rtcp(u8),
    /// More than 15 CSRCs asked for when writing.
    #[error("too many CSRCs: {0} (max 15)")]
    TooManyCsrcs(usize),
    /// Header extension data is not a whole number of 32-bit words, or too long.
    #[error("header extension of {0} bytes is not a multiple of 4 below 262140")]
    BadExtensionLength(usize),
    /// Payload type above 127 when writing.
    #[error("payload type {0} does not fit in 7 bits")]
    BadPayloadType(u8),
}

/// The RFC 3550 §5.3.1 header extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extension<'a> {
    /// The 16 "defined by profile" bits (0xBEDE for RFC 8285 one-byte headers).
    pub profile: u16,
    /// Extension body, a multiple of 4 bytes.
    pub data: &'a [u8],
}

/// A parsed (or to-be-written) RTP packet borrowing its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    /// Marker bit: first packet of a talkspurt (audio) or of an RFC 4733 event.
    pub marker: bool,
    /// 7-bit payload type.
    pub payload_type: u8,
    /// Sequence number.
    pub sequence: u16,
    /// Media timestamp (8 kHz units for G.711).
    pub timestamp: u32,
    /// Synchronisation source.
    pub ssrc: u32,
    /// Contributing sources (at most 15).
    pub csrcs: Vec<u32>,
    /// Header extension, if the X bit is set.
    pub extension: Option<Extension<'a>>,
    /// Number of padding octets (0 = P bit clear). Written as zeros plus the count.
    pub padding: u8,
    /// The payload, without padding.
    pub payload: &'a [u8],
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

impl<'a> RtpPacket<'a> {
    /// A packet with no CSRCs, extension or padding.
    pub fn new(payload_type: u8, sequence: u16, timestamp: u32, ssrc: u32, payload: &'a [u8]) -> Self {
        RtpPacket {
            marker: false,
            payload_type,
            sequence,
            timestamp,
            ssrc,
            csrcs: Vec::new(),
            extension: None,
            padding: 0,
            payload,
        }
    }

    /// Parses a datagram. Never panics; bytes after the header are the payload.
    pub fn parse(buf: &'a [u8]) -> Result<Self, RtpError> {
        if let [first, second, ..] = *buf
            && first >> 6 == 2
            && (200..=204).contains(&second)
        {
            // Checked before the length: an RTCP receiver report can be 8 bytes.
            return Err(RtpError::Rtcp(second));
        }
        if buf.len() < FIXED_HEADER_LEN {
            return Err(RtpError::Truncated { len: buf.len(), need: FIXED_HEADER_LEN });
        }
        let version = buf[0] >> 6;
        if version != 2 {
            return Err(RtpError::BadVersion(version));
        }
        let has_padding = buf[0] & 0x20 != 0;
        let has_extension = buf[0] & 0x10 != 0;
        let csrc_count = usize::from(buf[0] & 0x0F);
        let mut pos = FIXED_HEADER_LEN + 4 * csrc_count;
        if buf.len() < pos {
            return Err(RtpError::Truncated { len: buf.len(), need: pos });
        }
        let csrcs = (0..csrc_count).map(|i| be32(buf, FIXED_HEADER_LEN + 4 * i)).collect();
        let extension = if has_extension {
            if buf.len() < pos + 4 {
                return Err(RtpError::Truncated { len: buf.len(), need: pos + 4 });
            }
            let profile = be16(buf, pos);
            let data_len = 4 * usize::from(be16(buf, pos + 2));
            let start = pos + 4;
            pos = start + data_len;
            if buf.len() < pos {
                return Err(RtpError::Truncated { len: buf.len(), need: pos });
            }
            Some(Extension { profile, data: &buf[start..pos] })
        } else {
            None
        };
        let available = buf.len() - pos;
        let padding = if has_padding {
            let pad = buf[buf.len() - 1];
            if pad == 0 || usize::from(pad) > available {
                return Err(RtpError::BadPadding { pad, available });
            }
            pad
        } else {
            0
        };
        Ok(RtpPacket {
            marker: buf[1] & 0x80 != 0,
            payload_type: buf[1] & 0x7F,
            sequence: be16(buf, 2),
            timestamp: be32(buf, 4),
            ssrc: be32(buf, 8),
            csrcs,
            extension,
            padding,
            payload: &buf[pos..buf.len() - usize::from(padding)],
        })
    }

    /// Bytes [`write_to`](Self::write_to) will append.
    pub fn encoded_len(&self) -> usize {
        FIXED_HEADER_LEN
            + 4 * self.csrcs.len()
            + self.extension.map_or(0, |e| 4 + e.data.len())
            + self.payload.len()
            + usize::from(self.padding)
    }

    /// Appends the wire form to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) -> Result<(), RtpError> {
        if self.csrcs.len() > MAX_CSRCS {
            return Err(RtpError::TooManyCsrcs(self.csrcs.len()));
        }
        if self.payload_type > 0x7F {
            return Err(RtpError::BadPayloadType(self.payload_type));
        }
        let ext_words = match self.extension {
            Some(e) if e.data.len() % 4 != 0 || e.data.len() / 4 > usize::from(u16::MAX) => {
                return Err(RtpError::BadExtensionLength(e.data.len()));
            }
            Some(e) => Some((e.profile, (e.data.len() / 4) as u16, e.data)),
            None => None,
        };
        out.reserve(self.encoded_len());
        let b0 = 0x80
            | if self.padding > 0 { 0x20 } else { 0 }
            | if ext_words.is_some() { 0x10 } else { 0 }
            | self.csrcs.len() as u8;
        out.push(b0);
        out.push(if self.marker { 0x80 } else { 0 } | self.payload_type);
        out.extend_from_slice(&self.sequence.to_be_bytes());
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        for c in &self.csrcs {
            out.extend_from_slice(&c.to_be_bytes());
        }
        if let Some((profile, words, data)) = ext_words {
            out.extend_from_slice(&profile.to_be_bytes());
            out.extend_from_slice(&words.to_be_bytes());
            out.extend_from_slice(data);
        }
        out.extend_from_slice(self.payload);
        if self.padding > 0 {
            out.extend(std::iter::repeat_n(0, usize::from(self.padding) - 1));
            out.push(self.padding);
        }
        Ok(())
    }

    /// The wire form as a new buffer.
    pub fn to_bytes(&self) -> Result<Vec<u8>, RtpError> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.write_to(&mut out)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PCMU packet: M=1, PT 0, seq 0x1234, ts 0xDEADBEEF, SSRC 0x01020304, 4 payload bytes.
    const SIMPLE: [u8; 16] =
        [0x80, 0x80, 0x12, 0x34, 0xDE, 0xAD, 0xBE, 0xEF, 0x01, 0x02, 0x03, 0x04, 0xFF, 0xFE, 0x7F, 0x00];

    #[test]
    fn parses_simple_packet() {
        let p = RtpPacket::parse(&SIMPLE).unwrap();
        assert!(p.marker);
        assert_eq!(p.payload_type, 0);
        assert_eq!(p.sequence, 0x1234);
        assert_eq!(p.timestamp, 0xDEAD_BEEF);
        assert_eq!(p.ssrc, 0x0102_0304);
        assert!(p.csrcs.is_empty() && p.extension.is_none() && p.padding == 0);
        assert_eq!(p.payload, &[0xFF, 0xFE, 0x7F, 0x00]);
        assert_eq!(p.to_bytes().unwrap(), SIMPLE);
    }

    #[test]
    fn parses_csrc_extension_padding() {
        #[rustfmt::skip]
        let bytes = [
            0xB2, 0x08, 0x00, 0x01, 0x00, 0x00, 0x00, 0xA0, 0xAA, 0xBB, 0xCC, 0xDD, // V=2 P X CC=2, PT 8
            0x00, 0x00, 0x00, 0x11, 0x00, 0x00, 0x00, 0x22, // CSRCs
            0xBE, 0xDE, 0x00, 0x01, 0x10, 0xAB, 0x00, 0x00, // extension, 1 word
            0xD5, 0xD5, // payload
            0x00, 0x00, 0x03, // padding 3
        ];
        let p = RtpPacket::parse(&bytes).unwrap();
        assert!(!p.marker);
        assert_eq!(p.payload_type, 8);
        assert_eq!(p.csrcs, vec![0x11, 0x22]);
        assert_eq!(p.extension, Some(Extension { profile: 0xBEDE, data: &[0x10, 0xAB, 0, 0] }));
        assert_eq!(p.padding, 3);
        assert_eq!(p.payload, &[0xD5, 0xD5]);
        assert_eq!(p.encoded_len(), bytes.len());
        assert_eq!(p.to_bytes().unwrap(), bytes);
    }

    #[test]
    fn rejects_malformed() {
        assert_eq!(RtpPacket::parse(&SIMPLE[..11]), Err(RtpError::Truncated { len: 11, need: 12 }));
        let mut v1 = SIMPLE;
        v1[0] = 0x40;
        assert_eq!(RtpPacket::parse(&v1), Err(RtpError::BadVersion(1)));
        let mut cc = SIMPLE;
        cc[0] = 0x82; // two CSRCs = 20 bytes needed
        assert_eq!(RtpPacket::parse(&cc), Err(RtpError::Truncated { len: 16, need: 20 }));
        let mut ext = SIMPLE;
        ext[0] = 0x90; // extension header fits, body of 0xFF7F words does not
        assert!(matches!(RtpPacket::parse(&ext), Err(RtpError::Truncated { .. })));
        let mut pad = SIMPLE;
        pad[0] = 0xA0;
        pad[15] = 5; // 5 > 4 payload bytes
        assert_eq!(RtpPacket::parse(&pad), Err(RtpError::BadPadding { pad: 5, available: 4 }));
        pad[15] = 0;
        assert!(matches!(RtpPacket::parse(&pad), Err(RtpError::BadPadding { pad: 0, .. })));
        let rtcp = [0x80, 200, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(RtpPacket::parse(&rtcp), Err(RtpError::Rtcp(200)));
    }

    #[test]
    fn write_rejects_bad_fields() {
        let mut p = RtpPacket::new(0, 1, 2, 3, &[]);
        p.csrcs = vec![0; 16];
        assert_eq!(p.to_bytes(), Err(RtpError::TooManyCsrcs(16)));
        let mut p = RtpPacket::new(128, 1, 2, 3, &[]);
        assert_eq!(p.to_bytes(), Err(RtpError::BadPayloadType(128)));
        p.payload_type = 0;
        p.extension = Some(Extension { profile: 1, data: &[1, 2, 3] });
        assert_eq!(p.to_bytes(), Err(RtpError::BadExtensionLength(3)));
    }
}
