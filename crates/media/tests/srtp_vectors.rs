//! Our SRTP against a second implementation, libsrtp (Cisco's, used by most SIP and WebRTC stacks):
//! its own reference packet from `test/srtp_driver.c` (`srtp_validate`), and a stream protected by
//! libsrtp across the sequence wrap (`tests/data/libsrtp_vectors.txt`, written by
//! `scripts/gen-srtp-vectors.py`). Both directions: we must produce libsrtp's bytes and read them.

use voicebot_media::{SrtpContext, SrtpError, SrtpProfile};

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex")).collect()
}

fn context(profile: SrtpProfile, master: &[u8]) -> SrtpContext {
    let key: [u8; 16] = master[..16].try_into().expect("16 octets");
    let salt: [u8; 14] = master[16..30].try_into().expect("14 octets");
    SrtpContext::new(profile, &key, &salt)
}

/// libsrtp's `srtp_validate`: default policy (AES_CM_128_HMAC_SHA1_80), SSRC 0xCAFEBABE, SEQ 0x1234.
#[test]
fn libsrtp_reference_packet() {
    let master = hex("e1f97a0d3e018be0d64fa32c06de4139 0ec675ad498afeebb6960b3aabe6");
    let plain = hex("800f1234decafbadcafebabe abababababababababababababababab");
    let srtp = hex("800f1234decafbadcafebabe 4e55dc4ce79978d88ca4d215949d2402 b78d6acc99ea179b8dbb");
    let mut ours = plain.clone();
    context(SrtpProfile::AesCm128HmacSha1_80, &master).protect(&mut ours).expect("protect");
    assert_eq!(ours, srtp);
    let mut theirs = srtp.clone();
    let n = context(SrtpProfile::AesCm128HmacSha1_80, &master).unprotect(&mut theirs).expect("unprotect");
    assert_eq!(theirs[..n], plain[..]);
    // The _32 suite is the same transform with the tag cut to its leftmost 4 octets.
    let mut short = plain.clone();
    context(SrtpProfile::AesCm128HmacSha1_32, &master).protect(&mut short).expect("protect");
    assert_eq!(short, srtp[..srtp.len() - 6]);
}

/// A libsrtp stream crossing SEQ 65535 → 0 (ROC 0 → 1), for both suites: our sender writes the
/// same bytes, our receiver accepts them in order and refuses each one a second time.
#[test]
fn libsrtp_stream_across_the_rollover() {
    let text = include_str!("data/libsrtp_vectors.txt");
    let master: Vec<u8> = (0x40..0x40 + 30).collect();
    let mut streams: Vec<(SrtpProfile, SrtpContext, SrtpContext)> = Vec::new();
    let mut checked = 0;
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let mut fields = line.split_whitespace();
        let profile = match fields.next() {
            Some("AES_CM_128_HMAC_SHA1_80") => SrtpProfile::AesCm128HmacSha1_80,
            Some("AES_CM_128_HMAC_SHA1_32") => SrtpProfile::AesCm128HmacSha1_32,
            other => panic!("unknown profile {other:?}"),
        };
        let (plain, srtp) = (hex(fields.next().expect("plain")), hex(fields.next().expect("srtp")));
        if streams.last().is_none_or(|(p, ..)| *p != profile) {
            streams.push((profile, context(profile, &master), context(profile, &master)));
        }
        let (_, tx, rx) = streams.last_mut().expect("stream");
        let mut ours = plain.clone();
        tx.protect(&mut ours).expect("protect");
        assert_eq!(ours, srtp, "{line}");
        let mut theirs = srtp.clone();
        let n = rx.unprotect(&mut theirs).expect("unprotect");
        assert_eq!(theirs[..n], plain[..], "{line}");
        assert_eq!(rx.unprotect(&mut srtp.clone()), Err(SrtpError::Replayed), "{line}");
        checked += 1;
    }
    assert_eq!(checked, 20);
    for (_, tx, rx) in &streams {
        assert_eq!((tx.roc(0x5EED_0001), rx.roc(0x5EED_0001)), (Some(1), Some(1)));
    }
}
