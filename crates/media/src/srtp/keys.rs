//! SRTP session keys (RFC 3711 §4.3) and the AES counter-mode keystream (§4.1.1).
//!
//! Owns the only uses of the block cipher: deriving the session encryption key, salt and
//! authentication key from the SDES master key and salt with the AES-CM PRF, and XORing a packet's
//! payload with the keystream for its (SSRC, index). The key derivation rate is 0 (the SDES
//! default and the only one we accept), so the session keys are derived once per context.

use aes::Aes128Enc;
use aes::cipher::{InnerIvInit, KeyInit, StreamCipher};
use hmac::Hmac;
use sha1::Sha1;
use zeroize::Zeroize;

/// Octets of an AES-128 master key (and of the session encryption key).
pub const MASTER_KEY_LEN: usize = 16;
/// Octets of a master salt (and of the session salt): 112 bits.
pub const MASTER_SALT_LEN: usize = 14;
/// Octets of the HMAC-SHA1 session authentication key.
const AUTH_KEY_LEN: usize = 20;

type AesCtr = ctr::Ctr128BE<Aes128Enc>;
type AesCtrCore = ctr::CtrCore<Aes128Enc, ctr::flavors::Ctr128BE>;

/// RFC 3711 §4.3.1 key derivation labels for SRTP (SRTCP's 3–5 are not used).
#[derive(Debug, Clone, Copy)]
#[repr(u8)]
enum Label {
    Encryption = 0,
    Authentication = 1,
    Salt = 2,
}

/// The keys one SRTP direction works with, derived from a master key and salt.
pub(crate) struct SessionKeys {
    /// AES-128 keyed with the session encryption key (zeroised on drop by the `aes` crate).
    pub(crate) cipher: Aes128Enc,
    /// The 112-bit session salt.
    pub(crate) salt: [u8; MASTER_SALT_LEN],
    /// HMAC-SHA1 keyed with the session authentication key; cloned per packet, so the key's
    /// inner and outer pads are hashed once, not per packet.
    pub(crate) mac: Hmac<Sha1>,
}

impl SessionKeys {
    /// Derives the session keys with key derivation rate 0 (§4.3.1: r = 0, so key_id = label · 2^48).
    pub(crate) fn derive(master_key: &[u8; MASTER_KEY_LEN], master_salt: &[u8; MASTER_SALT_LEN]) -> Self {
        let master = Aes128Enc::new(master_key.into());
        let mut encryption = [0u8; MASTER_KEY_LEN];
        let mut salt = [0u8; MASTER_SALT_LEN];
        let mut auth = [0u8; AUTH_KEY_LEN];
        prf(&master, master_salt, Label::Encryption, &mut encryption);
        prf(&master, master_salt, Label::Salt, &mut salt);
        prf(&master, master_salt, Label::Authentication, &mut auth);
        let keys = SessionKeys {
            cipher: Aes128Enc::new((&encryption).into()),
            salt,
            mac: <Hmac<Sha1> as KeyInit>::new_from_slice(&auth).expect("HMAC takes keys of any length"),
        };
        encryption.zeroize();
        auth.zeroize();
        keys
    }

    /// XORs `data` with the keystream of packet `index` of `ssrc` (§4.1.1):
    /// IV = (k_s · 2^16) ⊕ (SSRC · 2^64) ⊕ (index · 2^16).
    pub(crate) fn apply_keystream(&self, ssrc: u32, index: u64, data: &mut [u8]) {
        let mut iv = [0u8; 16];
        iv[..MASTER_SALT_LEN].copy_from_slice(&self.salt);
        for (b, s) in iv[4..8].iter_mut().zip(ssrc.to_be_bytes()) {
            *b ^= s;
        }
        for (b, i) in iv[8..14].iter_mut().zip(&index.to_be_bytes()[2..]) {
            *b ^= i;
        }
        keystream(&self.cipher, &iv, data);
    }
}

impl Drop for SessionKeys {
    fn drop(&mut self) {
        self.salt.zeroize();
    }
}

/// The AES-CM PRF of §4.3.3 for `label` with r = 0: the keystream for
/// IV = (master_salt ⊕ (label · 2^48)) · 2^16, as long as `out`.
fn prf(master: &Aes128Enc, master_salt: &[u8; MASTER_SALT_LEN], label: Label, out: &mut [u8]) {
    let mut iv = [0u8; 16];
    iv[..MASTER_SALT_LEN].copy_from_slice(master_salt);
    // key_id = label || r (48 bits), aligned to the low 56 bits of the 112-bit salt: octet 7.
    iv[7] ^= label as u8;
    out.fill(0);
    keystream(master, &iv, out);
    iv.zeroize();
}

/// XORs `data` with AES-CTR from the 128-bit counter `iv` (the low 16 bits count blocks).
fn keystream(cipher: &Aes128Enc, iv: &[u8; 16], data: &mut [u8]) {
    // Cloning the expanded key (176 octets) is far cheaper than expanding it per packet.
    let mut ctr = AesCtr::from_core(AesCtrCore::inner_iv_init(cipher.clone(), iv.into()));
    ctr.apply_keystream(data);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex")).collect()
    }

    /// RFC 3711 Appendix B.2: the AES-CM keystream for session key 2B7E…, salt F0F1…FD, SSRC 0,
    /// index 0 — its first three blocks and the last three of the 1,044,512-octet segment.
    #[test]
    fn rfc3711_b2_aes_cm_keystream() {
        let keys = SessionKeys {
            cipher: Aes128Enc::new(hex("2B7E151628AED2A6ABF7158809CF4F3C").as_slice().into()),
            salt: hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD").try_into().expect("14 octets"),
            mac: <Hmac<Sha1> as KeyInit>::new_from_slice(b"unused").expect("key"),
        };
        let mut stream = vec![0u8; 1_044_512];
        keys.apply_keystream(0, 0, &mut stream);
        let first = hex("E03EAD0935C95E80E166B16DD92B4EB4 D23513162B02D0F72A43A2FE4A5F97AB
             41E95B3BB0A2E8DD477901E4FCA894C0");
        let last = hex("EC8CDF7398607CB0F2D21675EA9EA1E4 362B7C3C6773516318A077D7FC5073AE
             6A2CC3787889374FBEB4C81B17BA6C44");
        assert_eq!(stream[..48], first[..]);
        assert_eq!(stream[stream.len() - 48..], last[..]);
    }

    /// RFC 3711 Appendix B.3: session encryption key, salt and (the first 20 octets of the)
    /// authentication key derived from master key E1F9… and master salt 0EC6….
    #[test]
    fn rfc3711_b3_key_derivation() {
        let master_key: [u8; 16] = hex("E1F97A0D3E018BE0D64FA32C06DE4139").try_into().expect("16");
        let master_salt: [u8; 14] = hex("0EC675AD498AFEEBB6960B3AABE6").try_into().expect("14");
        let master = Aes128Enc::new((&master_key).into());
        let mut out = [0u8; 16];
        prf(&master, &master_salt, Label::Encryption, &mut out);
        assert_eq!(out[..], hex("C61E7A93744F39EE10734AFE3FF7A087")[..]);
        let mut salt = [0u8; 14];
        prf(&master, &master_salt, Label::Salt, &mut salt);
        assert_eq!(salt[..], hex("30CBBC08863D8C85D49DB34A9AE1")[..]);
        let mut auth = [0u8; 94];
        prf(&master, &master_salt, Label::Authentication, &mut auth);
        let want = hex("CEBE321F6FF7716B6FD4AB49AF256A15 6D38BAA48F0A0ACF3C34E2359E6CDBCE
             E049646C43D9327AD175578EF7227098 6371C10C9A369AC2F94A8C5FBCDDDC25
             6D6E919A48B610EF17C2041E47403576 6B68642C59BBFC2F34DB60DBDFB2");
        assert_eq!(auth[..], want[..]);
        let keys = SessionKeys::derive(&master_key, &master_salt);
        assert_eq!(keys.salt[..], hex("30CBBC08863D8C85D49DB34A9AE1")[..]);
    }
}
