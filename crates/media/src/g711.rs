//! ITU-T G.711 µ-law (PCMU) and A-law (PCMA): 16-bit linear PCM ⇄ 8-bit code words.
//!
//! The algorithm is the bit-exact one of the ITU-T G.191 reference (`g711.c`): µ-law works on
//! the top 14 bits with a bias of 0x84, A-law on the top 13 bits with even-bit inversion (0x55),
//! negative inputs by one's complement. `tests/g711_vs_sox.rs` checks all 65 536 inputs and 256
//! code words against sox. Encoding and decoding use tables built at compile time from that
//! algorithm (16 KiB + 8 KiB + 2 × 256 entries). This module owns the codec choice too
//! ([`Codec`]), since the static RTP payload types 0 and 8 are all RTP needs to know about it.

/// A G.711 variant negotiated in SDP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// µ-law, static RTP payload type 0.
    Pcmu,
    /// A-law, static RTP payload type 8.
    Pcma,
}

impl Codec {
    /// Static RTP payload type (RFC 3551): 0 for PCMU, 8 for PCMA.
    pub fn payload_type(self) -> u8 {
        match self {
            Codec::Pcmu => 0,
            Codec::Pcma => 8,
        }
    }

    /// The codec for a static payload type, if it is one of ours.
    pub fn from_payload_type(pt: u8) -> Option<Codec> {
        match pt {
            0 => Some(Codec::Pcmu),
            8 => Some(Codec::Pcma),
            _ => None,
        }
    }

    /// The code word for digital silence (linear 0).
    pub fn silence(self) -> u8 {
        match self {
            Codec::Pcmu => 0xFF,
            Codec::Pcma => 0xD5,
        }
    }

    /// Encodes one sample.
    pub fn encode_sample(self, pcm: i16) -> u8 {
        match self {
            Codec::Pcmu => linear_to_ulaw(pcm),
            Codec::Pcma => linear_to_alaw(pcm),
        }
    }

    /// Decodes one code word.
    pub fn decode_sample(self, code: u8) -> i16 {
        match self {
            Codec::Pcmu => ulaw_to_linear(code),
            Codec::Pcma => alaw_to_linear(code),
        }
    }

    /// Appends the encoding of `pcm` to `out` (one byte per sample).
    pub fn encode(self, pcm: &[i16], out: &mut Vec<u8>) {
        out.extend(pcm.iter().map(|&s| self.encode_sample(s)));
    }

    /// Appends the decoding of `payload` to `out` (one sample per byte).
    pub fn decode(self, payload: &[u8], out: &mut Vec<i16>) {
        let table = match self {
            Codec::Pcmu => &ULAW_TABLE,
            Codec::Pcma => &ALAW_TABLE,
        };
        out.extend(payload.iter().map(|&b| table[usize::from(b)]));
    }
}

const ULAW_BIAS: i32 = 0x84;
/// µ-law clip level on the 14-bit scale.
const ULAW_CLIP: i32 = 8159;
const SEG_ULAW_END: [i32; 8] = [0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF];
const SEG_ALAW_END: [i32; 8] = [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF];

static ULAW_TABLE: [i16; 256] = build_table(true);
static ALAW_TABLE: [i16; 256] = build_table(false);

const fn build_table(ulaw: bool) -> [i16; 256] {
    let mut t = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = if ulaw { ulaw_decode(i as u8) } else { alaw_decode(i as u8) };
        i += 1;
    }
    t
}

/// Encoder tables, indexed by the bits G.711 keeps: `(pcm >> 2) + 8192` for µ-law (14 bits),
/// `(pcm >> 3) + 4096` for A-law (13 bits). Built at compile time from the algorithm below.
static ULAW_ENCODE: [u8; 1 << 14] = build_encoder(true);
static ALAW_ENCODE: [u8; 1 << 13] = build_encoder(false);

const fn build_encoder<const N: usize>(ulaw: bool) -> [u8; N] {
    let mut t = [0u8; N];
    let shift = if ulaw { 2 } else { 3 };
    let mut i = 0;
    while i < N {
        // Any sample with these kept bits encodes the same; take the one with zero low bits.
        let pcm = ((i as i32 - (N as i32 / 2)) << shift) as i16;
        t[i] = if ulaw { ulaw_encode(pcm) } else { alaw_encode(pcm) };
        i += 1;
    }
    t
}

/// Index of the first segment whose end is ≥ `v`, or 8 when above all.
const fn segment(v: i32, ends: &[i32; 8]) -> i32 {
    let mut i = 0;
    while i < 8 {
        if v <= ends[i] {
            return i as i32;
        }
        i += 1;
    }
    8
}

/// Encodes one 16-bit sample to µ-law.
pub fn linear_to_ulaw(pcm: i16) -> u8 {
    ULAW_ENCODE[((i32::from(pcm) >> 2) + (1 << 13)) as usize]
}

const fn ulaw_encode(pcm: i16) -> u8 {
    // Negative values use the one's complement, as the ITU-T G.191 reference does.
    let (v, mask) = if pcm < 0 { ((!pcm) as i32 >> 2, 0x7F) } else { (pcm as i32 >> 2, 0xFF) };
    let v = if v > ULAW_CLIP { ULAW_CLIP } else { v } + (ULAW_BIAS >> 2);
    let seg = segment(v, &SEG_ULAW_END);
    let code = if seg >= 8 { 0x7F } else { (seg << 4) | ((v >> (seg + 1)) & 0xF) };
    (code ^ mask) as u8
}

const fn ulaw_decode(code: u8) -> i16 {
    let u = !code as i32;
    let t = (((u & 0x0F) << 3) + ULAW_BIAS) << ((u & 0x70) >> 4);
    (if u & 0x80 != 0 { ULAW_BIAS - t } else { t - ULAW_BIAS }) as i16
}

/// Decodes one µ-law code word to 16-bit PCM.
pub fn ulaw_to_linear(code: u8) -> i16 {
    ULAW_TABLE[usize::from(code)]
}

/// Encodes one 16-bit sample to A-law.
pub fn linear_to_alaw(pcm: i16) -> u8 {
    ALAW_ENCODE[((i32::from(pcm) >> 3) + (1 << 12)) as usize]
}

const fn alaw_encode(pcm: i16) -> u8 {
    let mut v = pcm as i32 >> 3;
    let mask: i32 = if v >= 0 {
        0xD5
    } else {
        v = -v - 1;
        0x55
    };
    let seg = segment(v, &SEG_ALAW_END);
    let code = if seg >= 8 {
        0x7F
    } else if seg < 2 {
        (seg << 4) | ((v >> 1) & 0xF)
    } else {
        (seg << 4) | ((v >> seg) & 0xF)
    };
    (code ^ mask) as u8
}

const fn alaw_decode(code: u8) -> i16 {
    let a = (code ^ 0x55) as i32;
    let mut t = (a & 0x0F) << 4;
    let seg = (a & 0x70) >> 4;
    t = match seg {
        0 => t + 8,
        1 => t + 0x108,
        _ => (t + 0x108) << (seg - 1),
    };
    (if a & 0x80 != 0 { t } else { -t }) as i16
}

/// Decodes one A-law code word to 16-bit PCM.
pub fn alaw_to_linear(code: u8) -> i16 {
    ALAW_TABLE[usize::from(code)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulaw_known_code_points() {
        assert_eq!(ulaw_to_linear(0xFF), 0);
        assert_eq!(ulaw_to_linear(0x7F), 0);
        assert_eq!(ulaw_to_linear(0x80), 32124);
        assert_eq!(ulaw_to_linear(0x00), -32124);
        assert_eq!(ulaw_to_linear(0xFE), 8);
        assert_eq!(ulaw_to_linear(0x7E), -8);
        assert_eq!(linear_to_ulaw(0), 0xFF);
        assert_eq!(linear_to_ulaw(i16::MAX), 0x80);
        assert_eq!(linear_to_ulaw(i16::MIN), 0x00);
        assert_eq!(linear_to_ulaw(32124), 0x80);
        assert_eq!(linear_to_ulaw(-32124), 0x00);
        assert_eq!(linear_to_ulaw(8), 0xFE);
        assert_eq!(linear_to_ulaw(-8), 0x7E);
        // G.191 one's complement: -1..=-4 are "negative zero", -5 is the first step down.
        assert_eq!(linear_to_ulaw(-4), 0x7F);
        assert_eq!(linear_to_ulaw(-5), 0x7E);
    }

    #[test]
    fn alaw_known_code_points() {
        assert_eq!(alaw_to_linear(0xD5), 8);
        assert_eq!(alaw_to_linear(0x55), -8);
        assert_eq!(alaw_to_linear(0xAA), 32256);
        assert_eq!(alaw_to_linear(0x2A), -32256);
        assert_eq!(linear_to_alaw(0), 0xD5);
        assert_eq!(linear_to_alaw(-1), 0x55);
        assert_eq!(linear_to_alaw(i16::MAX), 0xAA);
        assert_eq!(linear_to_alaw(i16::MIN), 0x2A);
    }

    #[test]
    fn encoder_tables_match_the_algorithm_for_every_input() {
        for x in i16::MIN..=i16::MAX {
            assert_eq!(linear_to_ulaw(x), ulaw_encode(x), "µ-law {x}");
            assert_eq!(linear_to_alaw(x), alaw_encode(x), "A-law {x}");
        }
    }

    #[test]
    fn every_code_word_round_trips() {
        for c in 0..=255u8 {
            assert_eq!(linear_to_alaw(alaw_to_linear(c)), c, "A-law {c:#04x}");
            // µ-law has two zeros (0x7F = -0, 0xFF = +0); the encoder emits +0.
            let want = if c == 0x7F { 0xFF } else { c };
            assert_eq!(linear_to_ulaw(ulaw_to_linear(c)), want, "µ-law {c:#04x}");
        }
    }

    #[test]
    fn quantisation_error_is_bounded_and_monotonic() {
        for codec in [Codec::Pcmu, Codec::Pcma] {
            let mut prev = i16::MIN;
            for x in i16::MIN..=i16::MAX {
                let y = codec.decode_sample(codec.encode_sample(x));
                // Half a step of the widest segment plus the clip margin above full scale.
                let bound = (i32::from(x).abs() / 16).max(16);
                assert!((i32::from(y) - i32::from(x)).abs() <= bound, "{codec:?} {x} -> {y}");
                assert!(y >= prev, "{codec:?} not monotonic at {x}");
                prev = y;
            }
        }
    }

    #[test]
    fn slices_and_payload_types() {
        let mut enc = Vec::new();
        Codec::Pcmu.encode(&[0, 1000, -1000], &mut enc);
        let mut dec = Vec::new();
        Codec::Pcmu.decode(&enc, &mut dec);
        assert_eq!(dec.len(), 3);
        assert!((dec[1] - 1000).abs() < 40 && (dec[2] + 1000).abs() < 40);
        assert_eq!(Codec::from_payload_type(8), Some(Codec::Pcma));
        assert_eq!(Codec::from_payload_type(18), None);
        assert_eq!(Codec::Pcma.payload_type(), 8);
        assert_eq!(Codec::Pcma.decode_sample(Codec::Pcma.silence()), 8);
        assert_eq!(Codec::Pcmu.decode_sample(Codec::Pcmu.silence()), 0);
    }
}
