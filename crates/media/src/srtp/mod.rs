//! SRTP (RFC 3711) with SDES-negotiated keys: AES_CM_128_HMAC_SHA1_80 and _32 (RFC 4568 §6.2).
//!
//! One [`SrtpContext`] per direction of a call: the sender's [`SrtpContext::protect`] encrypts an
//! RTP packet's payload in place and appends the authentication tag; the receiver's
//! [`SrtpContext::unprotect`] checks replay, tag and decrypts in place. Both are pure functions of
//! the context's state and the bytes: keys come in as arguments (the SDP layer draws them from
//! randomness its caller passes in), and nothing is logged. Key derivation rate 0, no MKI, no
//! SRTCP: what SDES peers (baresip, Asterisk, carrier SBCs) use for audio; RTCP is not sent by
//! voicebot, and arriving RTCP is recognised and dropped before any key is touched.
//!
//! State per SSRC (rollover counter, replay window) lives in `replay`; key derivation and the
//! AES-CM keystream in `keys`. The primitives are RustCrypto's `aes` (AES-NI when present),
//! `ctr`, `hmac` and `sha1`: a whole SRTP crate would bring its own session and transport model
//! for what is ~300 lines on top of them.
//!
//! ```
//! use voicebot_media::srtp::{SrtpContext, SrtpProfile};
//! let (key, salt) = ([7u8; 16], [9u8; 14]); // from the SDP a=crypto inline key
//! let mut tx = SrtpContext::new(SrtpProfile::AesCm128HmacSha1_80, &key, &salt);
//! let mut rx = SrtpContext::new(SrtpProfile::AesCm128HmacSha1_80, &key, &salt);
//! let plain = [0x80, 0, 0, 1, 0, 0, 0, 160, 0xCA, 0xFE, 0xBA, 0xBE, 0xFF, 0xFF];
//! let mut packet = plain.to_vec();
//! tx.protect(&mut packet).unwrap();
//! assert_eq!(packet.len(), plain.len() + 10);
//! let len = rx.unprotect(&mut packet).unwrap();
//! assert_eq!(&packet[..len], &plain);
//! assert!(rx.unprotect(&mut packet).is_err()); // the same packet again: a replay
//! ```

mod keys;
mod replay;

use hmac::Mac;
use thiserror::Error;

pub use keys::{MASTER_KEY_LEN, MASTER_SALT_LEN};

use keys::SessionKeys;
use replay::{IndexState, Replay};

/// Most remote SSRCs whose rollover state a receiving context keeps (the longest idle is
/// forgotten first); a call's peer normally uses one.
const MAX_STREAMS: usize = 4;
/// The longest authentication tag (`_80`): senders reserve room for it.
pub const MAX_TAG_LEN: usize = 10;
/// RFC 3711 §9.2: at most 2^48 SRTP packets under one master key.
const DEFAULT_LIFETIME: u64 = 1 << 48;

/// The SRTP crypto suites voicebot speaks (RFC 4568 §6.2 names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SrtpProfile {
    /// AES-128 counter mode, HMAC-SHA1 with an 80-bit tag.
    AesCm128HmacSha1_80,
    /// AES-128 counter mode, HMAC-SHA1 with a 32-bit tag (RTP only; what some SBCs prefer).
    AesCm128HmacSha1_32,
}

impl SrtpProfile {
    /// Octets of the authentication tag on each SRTP packet.
    pub fn tag_len(self) -> usize {
        match self {
            SrtpProfile::AesCm128HmacSha1_80 => 10,
            SrtpProfile::AesCm128HmacSha1_32 => 4,
        }
    }
}

/// Why a packet could not be protected or unprotected. Per packet: the context stays usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SrtpError {
    /// Not an RTP packet (version, length, CSRC list or extension do not fit), or RTCP.
    #[error("not an SRTP packet ({0} bytes)")]
    Malformed(usize),
    /// The authentication tag does not match: forged, corrupted, or keyed differently.
    #[error("SRTP authentication failed")]
    AuthFailed,
    /// This packet index was already received (RFC 3711 §3.3.2).
    #[error("SRTP replay: packet already received")]
    Replayed,
    /// The packet index is behind the replay window (too old to tell it from a replay).
    #[error("SRTP packet older than the replay window")]
    TooOld,
    /// The master key protected as many packets as its lifetime allows; the call must re-key.
    #[error("SRTP master key lifetime reached")]
    KeyExhausted,
}

impl From<Replay> for SrtpError {
    fn from(r: Replay) -> Self {
        match r {
            Replay::Duplicate => SrtpError::Replayed,
            Replay::TooOld => SrtpError::TooOld,
        }
    }
}

/// One direction of SRTP: session keys plus the rollover/replay state of each SSRC.
/// `Debug` shows the profile and counters, never key material.
pub struct SrtpContext {
    profile: SrtpProfile,
    keys: SessionKeys,
    /// (SSRC, index state, last use) of the streams seen, at most [`MAX_STREAMS`].
    streams: Vec<(u32, IndexState, u64)>,
    /// Packets this context processed (for eviction order and the key lifetime).
    packets: u64,
    lifetime: u64,
}

impl std::fmt::Debug for SrtpContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SrtpContext")
            .field("profile", &self.profile)
            .field("keys", &"<redacted>")
            .field("streams", &self.streams.len())
            .field("packets", &self.packets)
            .finish()
    }
}

impl SrtpContext {
    /// A context for `profile` from the SDES master key and salt (the 30 octets of an
    /// `inline:` key, split 16 + 14). Derives the session keys (key derivation rate 0).
    pub fn new(
        profile: SrtpProfile,
        master_key: &[u8; MASTER_KEY_LEN],
        master_salt: &[u8; MASTER_SALT_LEN],
    ) -> SrtpContext {
        SrtpContext {
            profile,
            keys: SessionKeys::derive(master_key, master_salt),
            streams: Vec::new(),
            packets: 0,
            lifetime: DEFAULT_LIFETIME,
        }
    }

    /// Limits the packets this context handles to `packets` (an SDES `|2^20` lifetime); past it,
    /// every packet is refused with [`SrtpError::KeyExhausted`].
    pub fn set_lifetime(&mut self, packets: u64) {
        self.lifetime = packets.min(DEFAULT_LIFETIME);
    }

    /// The suite in use.
    pub fn profile(&self) -> SrtpProfile {
        self.profile
    }

    /// The rollover counter of `ssrc`'s highest index so far (tests and diagnostics).
    pub fn roc(&self, ssrc: u32) -> Option<u32> {
        self.streams.iter().find(|(s, ..)| *s == ssrc).map(|(_, state, _)| state.roc())
    }

    /// Turns an RTP packet into SRTP in place: payload encrypted, tag appended. The packet
    /// index follows the sequence numbers (the ROC moves on at each wrap), so packets must be
    /// protected in sending order.
    pub fn protect(&mut self, packet: &mut Vec<u8>) -> Result<(), SrtpError> {
        let header = header_len(packet).ok_or(SrtpError::Malformed(packet.len()))?;
        self.use_one()?;
        let (ssrc, seq) = ssrc_and_seq(packet);
        let at = self.stream(ssrc, seq);
        let state = &mut self.streams[at].1;
        let index = state.estimate(seq).ok_or(SrtpError::KeyExhausted)?;
        state.commit(index);
        self.keys.apply_keystream(ssrc, index, &mut packet[header..]);
        let tag = self.tag(packet, (index >> 16) as u32);
        packet.extend_from_slice(&tag[..self.profile.tag_len()]);
        Ok(())
    }

    /// Turns an SRTP packet back into RTP in place and returns the RTP length (the tag is cut
    /// off). Checks, in order: the RTP header, the replay window, the tag; only an
    /// authenticated packet moves the rollover counter or the window.
    pub fn unprotect(&mut self, packet: &mut [u8]) -> Result<usize, SrtpError> {
        let tag_len = self.profile.tag_len();
        let len = packet.len();
        let malformed = SrtpError::Malformed(len);
        let body = len.checked_sub(tag_len).ok_or(malformed)?;
        if is_rtcp(packet) {
            return Err(malformed);
        }
        let header = header_len(&packet[..body]).ok_or(malformed)?;
        let (ssrc, seq) = ssrc_and_seq(packet);
        let known = self.streams.iter().position(|(s, ..)| *s == ssrc);
        let state = known.map_or_else(|| IndexState::first(seq), |i| self.streams[i].1);
        let index = state.estimate(seq).ok_or(SrtpError::TooOld)?;
        state.check(index)?;
        let (signed, tag) = packet.split_at_mut(body);
        let mut mac = self.keys.mac.clone();
        mac.update(signed);
        mac.update(&((index >> 16) as u32).to_be_bytes());
        mac.verify_truncated_left(tag).map_err(|_| SrtpError::AuthFailed)?;
        self.use_one()?;
        let at = self.stream(ssrc, seq);
        self.streams[at].1.commit(index);
        self.keys.apply_keystream(ssrc, index, &mut signed[header..]);
        Ok(body)
    }

    /// Counts one packet against the key lifetime.
    fn use_one(&mut self) -> Result<(), SrtpError> {
        if self.packets >= self.lifetime {
            return Err(SrtpError::KeyExhausted);
        }
        self.packets += 1;
        Ok(())
    }

    /// The slot of `ssrc`'s state, created (first packet `seq`) in place of the longest idle one
    /// if new; marks it used now.
    fn stream(&mut self, ssrc: u32, seq: u16) -> usize {
        let now = self.packets;
        let at = match self.streams.iter().position(|(s, ..)| *s == ssrc) {
            Some(i) => i,
            None if self.streams.len() < MAX_STREAMS => {
                self.streams.push((ssrc, IndexState::first(seq), now));
                self.streams.len() - 1
            }
            None => {
                let idle = (0..self.streams.len()).min_by_key(|&i| self.streams[i].2).unwrap_or(0);
                self.streams[idle] = (ssrc, IndexState::first(seq), now);
                idle
            }
        };
        self.streams[at].2 = now;
        at
    }

    /// HMAC-SHA1 over the packet and the ROC (§4.2): the full 20 octets; callers truncate.
    fn tag(&self, packet: &[u8], roc: u32) -> [u8; 20] {
        let mut mac = self.keys.mac.clone();
        mac.update(packet);
        mac.update(&roc.to_be_bytes());
        mac.finalize().into_bytes().into()
    }
}

/// RTCP packet types 200–204 share the RTP port under rtcp-mux (RFC 5761 §4).
fn is_rtcp(packet: &[u8]) -> bool {
    packet.get(1).is_some_and(|pt| (200..=204).contains(pt))
}

/// Length of the RTP header (fixed part, CSRCs, extension): where encryption starts. `None` when
/// the packet is not RTP version 2 or is shorter than its header says.
fn header_len(packet: &[u8]) -> Option<usize> {
    let first = *packet.first()?;
    if first >> 6 != 2 || packet.len() < crate::rtp::FIXED_HEADER_LEN {
        return None;
    }
    let mut len = crate::rtp::FIXED_HEADER_LEN + 4 * usize::from(first & 0x0F);
    if first & 0x10 != 0 {
        let words = packet.get(len + 2..len + 4)?;
        len += 4 + 4 * usize::from(u16::from_be_bytes([words[0], words[1]]));
    }
    (len <= packet.len()).then_some(len)
}

/// SSRC and sequence number of a packet whose header length was checked.
fn ssrc_and_seq(packet: &[u8]) -> (u32, u16) {
    let ssrc = u32::from_be_bytes([packet[8], packet[9], packet[10], packet[11]]);
    (ssrc, u16::from_be_bytes([packet[2], packet[3]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 16] = [1; 16];
    const SALT: [u8; 14] = [2; 14];

    fn pair(profile: SrtpProfile) -> (SrtpContext, SrtpContext) {
        (SrtpContext::new(profile, &KEY, &SALT), SrtpContext::new(profile, &KEY, &SALT))
    }

    fn rtp(seq: u16, ssrc: u32) -> Vec<u8> {
        let mut p = vec![0x80, 0, 0, 0, 0, 0, 0, 0];
        p[2..4].copy_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&ssrc.to_be_bytes());
        p.extend_from_slice(&[0x55; 160]);
        p
    }

    #[test]
    fn round_trip_for_both_profiles_with_their_tag_lengths() {
        for (profile, tag) in [(SrtpProfile::AesCm128HmacSha1_80, 10), (SrtpProfile::AesCm128HmacSha1_32, 4)]
        {
            let (mut tx, mut rx) = pair(profile);
            let plain = rtp(7, 42);
            let mut p = plain.clone();
            tx.protect(&mut p).expect("protect");
            assert_eq!(p.len(), plain.len() + tag);
            assert_eq!(p[..12], plain[..12], "header stays clear");
            assert_ne!(p[12..172], plain[12..], "payload encrypted");
            let n = rx.unprotect(&mut p).expect("unprotect");
            assert_eq!(p[..n], plain[..]);
        }
    }

    #[test]
    fn tampering_replay_and_wrong_keys_are_refused_without_moving_state() {
        let (mut tx, mut rx) = pair(SrtpProfile::AesCm128HmacSha1_80);
        let mut first = rtp(100, 9);
        tx.protect(&mut first).expect("protect");
        let mut flipped = first.clone();
        flipped[20] ^= 1;
        assert_eq!(rx.unprotect(&mut flipped), Err(SrtpError::AuthFailed));
        assert_eq!(rx.roc(9), None, "a forged packet creates no stream");
        let mut ok = first.clone();
        rx.unprotect(&mut ok).expect("genuine");
        let mut again = first.clone();
        assert_eq!(rx.unprotect(&mut again), Err(SrtpError::Replayed));
        let mut other = SrtpContext::new(SrtpProfile::AesCm128HmacSha1_80, &[3; 16], &SALT);
        let mut p = rtp(101, 9);
        other.protect(&mut p).expect("protect");
        assert_eq!(rx.unprotect(&mut p), Err(SrtpError::AuthFailed));
        assert_eq!(rx.unprotect(&mut [0x80, 0, 0]), Err(SrtpError::Malformed(3)));
        let mut rtcp = [0x80u8, 200, 0, 6, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(rx.unprotect(&mut rtcp), Err(SrtpError::Malformed(16)));
    }

    /// A stream crossing the sequence wrap: the sender's ROC moves on, the receiver estimates
    /// it (also for a packet of the old cycle arriving late), and both keystreams agree.
    #[test]
    fn rollover_counter_follows_the_sequence_wrap() {
        let (mut tx, mut rx) = pair(SrtpProfile::AesCm128HmacSha1_32);
        let seqs: Vec<u16> = (65_530..=65_535).chain(0..5).collect();
        let mut sent: Vec<Vec<u8>> = seqs
            .iter()
            .map(|&s| {
                let mut p = rtp(s, 77);
                tx.protect(&mut p).expect("protect");
                p
            })
            .collect();
        assert_eq!(tx.roc(77), Some(1));
        let late = sent.remove(5); // 65535 arrives after 0..5
        for mut p in sent {
            rx.unprotect(&mut p).expect("in order");
        }
        let mut late = late;
        let n = rx.unprotect(&mut late).expect("late packet of the previous cycle");
        assert_eq!(late[..n], rtp(65_535, 77)[..]);
        assert_eq!(rx.roc(77), Some(1));
    }

    #[test]
    fn lifetime_stops_the_context() {
        let (mut tx, _) = pair(SrtpProfile::AesCm128HmacSha1_80);
        tx.set_lifetime(2);
        for seq in 0..2 {
            tx.protect(&mut rtp(seq, 1)).expect("within lifetime");
        }
        assert_eq!(tx.protect(&mut rtp(2, 1)), Err(SrtpError::KeyExhausted));
    }

    #[test]
    fn debug_shows_no_key_material() {
        let ctx = SrtpContext::new(SrtpProfile::AesCm128HmacSha1_80, &[0xAB; 16], &[0xCD; 14]);
        let shown = format!("{ctx:?} {ctx:#?}");
        assert!(shown.contains("<redacted>"), "{shown}");
        for needle in ["171", "205", "ab, ab", "AB", "cd", "CD"] {
            assert!(!shown.contains(needle), "{needle} in {shown}");
        }
    }

    #[test]
    fn extension_and_csrcs_stay_in_the_clear() {
        let (mut tx, mut rx) = pair(SrtpProfile::AesCm128HmacSha1_80);
        let mut plain = vec![0x91, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 5];
        plain.extend_from_slice(&[0, 0, 0, 0x11]); // one CSRC
        plain.extend_from_slice(&[0xBE, 0xDE, 0, 1, 1, 2, 3, 4]); // one-word extension
        plain.extend_from_slice(&[9; 20]);
        let mut p = plain.clone();
        tx.protect(&mut p).expect("protect");
        assert_eq!(p[..24], plain[..24]);
        let n = rx.unprotect(&mut p).expect("unprotect");
        assert_eq!(p[..n], plain[..]);
    }
}
