//! SDES (RFC 4568): the `a=crypto` lines of an audio stream, the SRTP master keys they carry, and
//! the trunk's SRTP policy that decides what we offer and accept.
//!
//! Owns the one list of crypto suites voicebot negotiates ([`CryptoSuite`]) and every rule about
//! key parameters: inline keys only (base64 of a 16-octet key and 14-octet salt), an optional
//! lifetime (`|2^31` or decimal), no MKI (a line with one, or with several keys, is unusable), and
//! session parameters limited to `KDR=0`, `WSH=` and `UNENCRYPTED_SRTCP` (we send no RTCP). Keys are
//! drawn from randomness the caller passes in, and never printed: [`MasterKey`]'s `Debug` is
//! redacted, and so is every type holding one.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use rand::{CryptoRng, RngCore};
use zeroize::Zeroize;

/// Octets of an inline key: 16-octet AES-128 master key, then 14-octet master salt.
pub const MASTER_KEY_LEN: usize = 30;
/// RFC 3711 §9.2: the most packets one master key may protect (also the default lifetime).
const MAX_LIFETIME: u64 = 1 << 48;

/// The trunk key `srtp`: whether calls use SRTP (CONTRACT.md §10).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum SrtpPolicy {
    /// Plain RTP (`RTP/AVP`, no `a=crypto`).
    #[default]
    Off,
    /// Best effort: offer `RTP/AVP` with `a=crypto` lines (as baresip's `mediaenc=srtp`, Asterisk's
    /// `media_encryption_optimistic` and FreeSWITCH's optional SRTP do); SRTP when the answer
    /// carries a crypto line, plain RTP when it carries none.
    Optional,
    /// SRTP or no call: offer `RTP/SAVP`; an answer without a usable `a=crypto` ends the call.
    Mandatory,
}

impl SrtpPolicy {
    /// Parses `off` / `optional` / `mandatory` (case-insensitive).
    pub fn parse(s: &str) -> Option<SrtpPolicy> {
        match s.trim().to_ascii_lowercase().as_str() {
            "off" => Some(SrtpPolicy::Off),
            "optional" => Some(SrtpPolicy::Optional),
            "mandatory" => Some(SrtpPolicy::Mandatory),
            _ => None,
        }
    }
}

/// An SRTP crypto suite we support (RFC 4568 §6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CryptoSuite {
    /// `AES_CM_128_HMAC_SHA1_80`: 80-bit authentication tag (the RFC's default).
    AesCm128HmacSha1_80,
    /// `AES_CM_128_HMAC_SHA1_32`: 32-bit tag (less overhead; some carriers ask for it).
    AesCm128HmacSha1_32,
}

impl CryptoSuite {
    /// Our offer order.
    pub const ALL: [CryptoSuite; 2] = [CryptoSuite::AesCm128HmacSha1_80, CryptoSuite::AesCm128HmacSha1_32];

    /// The suite's SDP name.
    pub fn name(self) -> &'static str {
        match self {
            CryptoSuite::AesCm128HmacSha1_80 => "AES_CM_128_HMAC_SHA1_80",
            CryptoSuite::AesCm128HmacSha1_32 => "AES_CM_128_HMAC_SHA1_32",
        }
    }

    fn from_name(name: &str) -> Option<CryptoSuite> {
        CryptoSuite::ALL.into_iter().find(|s| s.name().eq_ignore_ascii_case(name))
    }
}

/// An SRTP master key and salt (30 octets). Its `Debug` never shows the bytes; it is zeroised
/// when dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct MasterKey([u8; MASTER_KEY_LEN]);

impl MasterKey {
    /// A fresh key from `rng` (a cryptographic generator: the caller's randomness, so this crate
    /// stays free of ambient state).
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> MasterKey {
        let mut bytes = [0u8; MASTER_KEY_LEN];
        rng.fill_bytes(&mut bytes);
        MasterKey(bytes)
    }

    /// A key from its 30 octets (16 key, 14 salt).
    pub fn from_bytes(bytes: [u8; MASTER_KEY_LEN]) -> MasterKey {
        MasterKey(bytes)
    }

    /// The 16-octet AES master key.
    pub fn key(&self) -> &[u8; 16] {
        self.0[..16].try_into().expect("16 of 30 octets")
    }

    /// The 14-octet master salt.
    pub fn salt(&self) -> &[u8; 14] {
        self.0[16..].try_into().expect("14 of 30 octets")
    }

    fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    fn from_base64(text: &str) -> Option<MasterKey> {
        let mut bytes = STANDARD.decode(text).or_else(|_| STANDARD_NO_PAD.decode(text)).ok()?;
        let key = <[u8; MASTER_KEY_LEN]>::try_from(bytes.as_slice()).ok().map(MasterKey);
        bytes.zeroize();
        key
    }
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl Drop for MasterKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// What we bring to SRTP negotiation: our policy and one fresh key per suite we offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalSrtp {
    /// `true` for [`SrtpPolicy::Mandatory`]: offer `RTP/SAVP`, refuse answers (and offers) without
    /// usable crypto.
    pub mandatory: bool,
    /// Our keys in offer order; the `a=crypto` tag of entry `i` is `i + 1`.
    pub keys: Vec<(CryptoSuite, MasterKey)>,
}

impl LocalSrtp {
    /// `None` for [`SrtpPolicy::Off`]; otherwise both suites, each with its own key from `rng`.
    pub fn new<R: RngCore + CryptoRng>(policy: SrtpPolicy, rng: &mut R) -> Option<LocalSrtp> {
        let mandatory = match policy {
            SrtpPolicy::Off => return None,
            SrtpPolicy::Optional => false,
            SrtpPolicy::Mandatory => true,
        };
        let keys = CryptoSuite::ALL.into_iter().map(|s| (s, MasterKey::generate(rng))).collect();
        Some(LocalSrtp { mandatory, keys })
    }

    /// Our `a=crypto` lines for an offer (without `a=` and line ends).
    pub(crate) fn offer_lines(&self) -> Vec<String> {
        self.keys.iter().enumerate().map(|(i, (suite, key))| line(i as u32 + 1, *suite, key)).collect()
    }

    fn key_for(&self, suite: CryptoSuite) -> Option<&MasterKey> {
        self.keys.iter().find(|(s, _)| *s == suite).map(|(_, k)| k)
    }
}

/// The SRTP a call uses, as negotiated: the suite, the tag of the accepted line, the key we
/// send with and the key the peer sends with. `Debug` shows no key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegotiatedSrtp {
    /// The suite both sides use.
    pub suite: CryptoSuite,
    /// The `a=crypto` tag of the accepted line.
    pub tag: u32,
    /// Our key: protects what we send.
    pub send_key: MasterKey,
    /// The peer's key: unprotects what we receive.
    pub receive_key: MasterKey,
    /// Packets the peer's key may protect (its line's lifetime; 2^48 when it gave none).
    pub receive_lifetime: u64,
}

/// Why SRTP could not be agreed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// SRTP is required (our `srtp = "mandatory"`, or the peer's `RTP/SAVP`) but there is no
    /// `a=crypto` line.
    #[error("no a=crypto line, but SRTP is mandatory")]
    Missing,
    /// The peer offers `RTP/SAVP` and our SRTP is off.
    #[error("the peer requires SRTP (RTP/SAVP) and srtp is off")]
    NotEnabled,
    /// The answer's tag is not one we offered, or names another suite than that line.
    #[error("a=crypto tag {0} does not match our offer")]
    UnknownTag(u32),
    /// No line names a suite we support.
    #[error("no supported crypto suite (AES_CM_128_HMAC_SHA1_80 or _32)")]
    UnsupportedSuite,
    /// The line carries an MKI (or several keys, which need one): not supported.
    #[error("a=crypto with an MKI is not supported")]
    Mki,
    /// The key is not `inline:` base64 of 30 octets.
    #[error("a=crypto key is not a 30-octet inline key")]
    BadKey,
    /// A lifetime that is not a number or `2^n`, or beyond 2^48.
    #[error("a=crypto key lifetime is invalid")]
    BadLifetime,
    /// A session parameter we do not implement (KDR other than 0, unencrypted or
    /// unauthenticated SRTP, FEC, or an unknown one).
    #[error("a=crypto session parameter not supported")]
    UnsupportedParameter,
    /// The line is not `<tag> <suite> <key-params> [params]`.
    #[error("malformed a=crypto line")]
    Malformed,
}

/// One parsed `a=crypto` value: its tag, then the suite and key if the line is usable.
struct CryptoLine {
    tag: u32,
    usable: Result<(CryptoSuite, MasterKey, u64), CryptoError>,
}

/// Parses `<tag> <suite> inline:<key>[|lifetime][|mki:len] [session params]`.
fn parse_line(value: &str) -> Option<CryptoLine> {
    let mut fields = value.split_whitespace();
    let tag = fields.next().filter(|t| t.len() <= 9).and_then(|t| t.parse::<u32>().ok())?;
    let suite = fields.next();
    let key_params = fields.next();
    let usable = match (suite, key_params) {
        (Some(suite), Some(key_params)) => usable(suite, key_params, fields),
        _ => Err(CryptoError::Malformed),
    };
    Some(CryptoLine { tag, usable })
}

fn usable<'a>(
    suite: &str,
    key_params: &str,
    session_params: impl Iterator<Item = &'a str>,
) -> Result<(CryptoSuite, MasterKey, u64), CryptoError> {
    let suite = CryptoSuite::from_name(suite).ok_or(CryptoError::UnsupportedSuite)?;
    if key_params.contains(';') {
        return Err(CryptoError::Mki); // several keys: only told apart by MKI
    }
    let inline = key_params.strip_prefix("inline:").ok_or(CryptoError::BadKey)?;
    let mut parts = inline.split('|');
    let key = MasterKey::from_base64(parts.next().unwrap_or_default()).ok_or(CryptoError::BadKey)?;
    let mut lifetime = MAX_LIFETIME;
    for part in parts {
        if part.contains(':') {
            return Err(CryptoError::Mki);
        }
        lifetime = parse_lifetime(part).ok_or(CryptoError::BadLifetime)?;
    }
    for param in session_params {
        let ok = match param.split_once('=') {
            Some(("KDR", rate)) => rate == "0",
            Some(("WSH", size)) => size.parse::<u32>().is_ok(),
            None => param == "UNENCRYPTED_SRTCP",
            _ => false,
        };
        if !ok {
            return Err(CryptoError::UnsupportedParameter);
        }
    }
    Ok((suite, key, lifetime))
}

/// `2^20` or `1048576`, at most 2^48.
fn parse_lifetime(text: &str) -> Option<u64> {
    let value = match text.strip_prefix("2^") {
        Some(exp) => 1u64.checked_shl(exp.parse().ok()?)?,
        None => text.parse().ok()?,
    };
    (1..=MAX_LIFETIME).contains(&value).then_some(value)
}

fn line(tag: u32, suite: CryptoSuite, key: &MasterKey) -> String {
    format!("crypto:{tag} {} inline:{}", suite.name(), key.to_base64())
}

/// The UAS side: picks the first offered line we can use. `Ok(None)`: plain RTP (allowed because
/// neither our policy nor the offer's `RTP/SAVP` requires SRTP). Also returns our answer line.
pub(crate) fn answer_offer(
    local: Option<&LocalSrtp>,
    secure_profile: bool,
    offered: &[String],
) -> Result<Option<(NegotiatedSrtp, String)>, CryptoError> {
    let Some(local) = local else {
        return if secure_profile { Err(CryptoError::NotEnabled) } else { Ok(None) };
    };
    let mut refusal = CryptoError::Missing;
    for offer in offered.iter().filter_map(|v| parse_line(v)) {
        let (suite, receive_key, lifetime) = match offer.usable {
            Ok(u) => u,
            Err(e) => {
                refusal = e;
                continue;
            }
        };
        let Some(send_key) = local.key_for(suite) else { continue };
        let answer = line(offer.tag, suite, send_key);
        let send_key = send_key.clone();
        let receive_lifetime = lifetime;
        return Ok(Some((
            NegotiatedSrtp { suite, tag: offer.tag, send_key, receive_key, receive_lifetime },
            answer,
        )));
    }
    if secure_profile || local.mandatory { Err(refusal) } else { Ok(None) }
}

/// The UAC side: matches the answer's line to our offer. `Ok(None)`: plain RTP (no crypto in the
/// answer, and our policy is optional — or off, when any crypto in the answer is ignored).
pub(crate) fn accept_answer(
    local: Option<&LocalSrtp>,
    answered: &[String],
) -> Result<Option<NegotiatedSrtp>, CryptoError> {
    let Some(local) = local else { return Ok(None) };
    let Some(first) = answered.first() else {
        return if local.mandatory { Err(CryptoError::Missing) } else { Ok(None) };
    };
    let answer = parse_line(first).ok_or(CryptoError::Malformed)?;
    let (suite, receive_key, receive_lifetime) = answer.usable?;
    let ours =
        usize::try_from(answer.tag).ok().and_then(|t| t.checked_sub(1)).and_then(|i| local.keys.get(i));
    match ours {
        Some((offered, send_key)) if *offered == suite => Ok(Some(NegotiatedSrtp {
            suite,
            tag: answer.tag,
            send_key: send_key.clone(),
            receive_key,
            receive_lifetime,
        })),
        _ => Err(CryptoError::UnknownTag(answer.tag)),
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    const KEY_B64: &str = "WnD7c1ksDGs+dIefCEo4Wsn3GvzMc0Bv/xOIOAqo";

    fn local(policy: SrtpPolicy) -> LocalSrtp {
        LocalSrtp::new(policy, &mut StdRng::seed_from_u64(1)).expect("srtp on")
    }

    #[test]
    fn key_params_lifetime_mki_and_session_params() {
        let ok = parse_line(&format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_B64}|2^20")).expect("line");
        let (suite, key, lifetime) = ok.usable.expect("usable");
        assert_eq!((ok.tag, suite, lifetime), (1, CryptoSuite::AesCm128HmacSha1_80, 1 << 20));
        assert_eq!(key.to_base64(), KEY_B64);
        let usable = |v: &str| parse_line(v).expect("tag").usable.map(|_| ());
        for (value, want) in [
            (format!("2 AES_CM_128_HMAC_SHA1_32 inline:{KEY_B64}|1048576 KDR=0 WSH=64"), Ok(())),
            (format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_B64}|2^20|1:4"), Err(CryptoError::Mki)),
            (format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_B64}|1:4"), Err(CryptoError::Mki)),
            (format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_B64};inline:{KEY_B64}"), Err(CryptoError::Mki)),
            (format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_B64}|2^49"), Err(CryptoError::BadLifetime)),
            (format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_B64}|2^x"), Err(CryptoError::BadLifetime)),
            (
                format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_B64} KDR=2"),
                Err(CryptoError::UnsupportedParameter),
            ),
            (
                format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_B64} UNENCRYPTED_SRTP"),
                Err(CryptoError::UnsupportedParameter),
            ),
            (format!("1 F8_128_HMAC_SHA1_80 inline:{KEY_B64}"), Err(CryptoError::UnsupportedSuite)),
            ("1 AES_CM_128_HMAC_SHA1_80 inline:c2hvcnQ=".to_string(), Err(CryptoError::BadKey)),
            (format!("1 AES_CM_128_HMAC_SHA1_80 uri:{KEY_B64}"), Err(CryptoError::BadKey)),
            ("1 AES_CM_128_HMAC_SHA1_80".to_string(), Err(CryptoError::Malformed)),
        ] {
            assert_eq!(usable(&value), want, "{value}");
        }
        assert!(parse_line("x AES_CM_128_HMAC_SHA1_80 inline:abc").is_none(), "no tag");
        assert!(parse_line("1234567890 AES_CM_128_HMAC_SHA1_80 inline:abc").is_none(), "tag over 9 digits");
    }

    #[test]
    fn offer_answer_round_trip_uses_the_tag_and_both_keys() {
        let uac = local(SrtpPolicy::Mandatory);
        let offer = uac.offer_lines();
        assert_eq!(offer.len(), 2);
        assert!(offer[0].starts_with("crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"), "{}", offer[0]);
        assert!(offer[1].starts_with("crypto:2 AES_CM_128_HMAC_SHA1_32 inline:"), "{}", offer[1]);
        let offered: Vec<String> = offer.iter().map(|l| l["crypto:".len()..].to_string()).collect();
        // The UAS supports only _32: it answers tag 2.
        let mut uas = LocalSrtp::new(SrtpPolicy::Optional, &mut StdRng::seed_from_u64(2)).expect("on");
        uas.keys.retain(|(s, _)| *s == CryptoSuite::AesCm128HmacSha1_32);
        let (theirs, answer) = answer_offer(Some(&uas), true, &offered).expect("ok").expect("srtp");
        assert_eq!((theirs.tag, theirs.suite), (2, CryptoSuite::AesCm128HmacSha1_32));
        assert_eq!(theirs.receive_key, uac.keys[1].1);
        let ours =
            accept_answer(Some(&uac), &[answer["crypto:".len()..].to_string()]).expect("ok").expect("srtp");
        assert_eq!(ours.send_key, theirs.receive_key);
        assert_eq!(ours.receive_key, theirs.send_key);
        assert_eq!(ours.receive_lifetime, MAX_LIFETIME);
    }

    #[test]
    fn policies_decide_what_happens_without_usable_crypto() {
        let (opt, mand) = (local(SrtpPolicy::Optional), local(SrtpPolicy::Mandatory));
        assert!(LocalSrtp::new(SrtpPolicy::Off, &mut StdRng::seed_from_u64(1)).is_none());
        // UAC: answer without crypto.
        assert_eq!(accept_answer(Some(&opt), &[]), Ok(None));
        assert_eq!(accept_answer(Some(&mand), &[]), Err(CryptoError::Missing));
        assert_eq!(accept_answer(None, &[format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_B64}")]), Ok(None));
        // UAC: the answer's tag or suite is not what we offered; an MKI is refused politely.
        let wrong_suite = format!("1 AES_CM_128_HMAC_SHA1_32 inline:{KEY_B64}");
        assert_eq!(accept_answer(Some(&opt), &[wrong_suite]), Err(CryptoError::UnknownTag(1)));
        let unknown = format!("7 AES_CM_128_HMAC_SHA1_80 inline:{KEY_B64}");
        assert_eq!(accept_answer(Some(&mand), &[unknown]), Err(CryptoError::UnknownTag(7)));
        let mki = format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_B64}|2^20|1:4");
        let mki = [mki];
        assert_eq!(accept_answer(Some(&opt), &mki), Err(CryptoError::Mki));
        // UAS: RTP/SAVP needs crypto whatever our policy; RTP/AVP falls back unless mandatory.
        assert_eq!(answer_offer(None, true, &[]).err(), Some(CryptoError::NotEnabled));
        assert_eq!(answer_offer(None, false, &mki), Ok(None));
        assert_eq!(answer_offer(Some(&opt), false, &mki), Ok(None));
        assert_eq!(answer_offer(Some(&opt), true, &mki).err(), Some(CryptoError::Mki));
        assert_eq!(answer_offer(Some(&mand), false, &[]).err(), Some(CryptoError::Missing));
        // The first usable line wins, skipping an MKI line before it.
        let good = format!("3 AES_CM_128_HMAC_SHA1_80 inline:{KEY_B64}");
        let [mki] = mki;
        let (picked, _) = answer_offer(Some(&mand), true, &[mki, good]).expect("ok").expect("srtp");
        assert_eq!(picked.tag, 3);
    }

    #[test]
    fn keys_never_show_in_debug() {
        let srtp = local(SrtpPolicy::Mandatory);
        let lines = srtp.offer_lines();
        let shown = format!("{srtp:?} {srtp:#?}");
        for line in &lines {
            let b64 = line.rsplit("inline:").next().expect("key");
            assert!(!shown.contains(b64), "{shown}");
        }
        let key = &srtp.keys[0].1;
        assert!(!shown.contains(&format!("{:?}", &key.0[..4])[..10]), "{shown}");
        assert_eq!(format!("{key:?}"), "MasterKey(<redacted>)");
    }
}
