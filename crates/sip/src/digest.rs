//! HTTP Digest authentication for SIP (RFC 3261 §22, RFC 2617, RFC 7616).
//!
//! Owns reading a `WWW-Authenticate` / `Proxy-Authenticate` challenge and computing the matching
//! `Authorization` / `Proxy-Authorization` value. Supports MD5, MD5-sess, SHA-256 and SHA-256-sess, with
//! `qop=auth` (client nonce + nonce count) or without qop (RFC 2069 style). `auth-int` is not offered: when a
//! server offers only `auth-int`, the response is computed without qop, which such servers reject.

use md5::Md5;
use sha2::{Digest as _, Sha256};

use crate::header::{quoted_string, split_list, unquote};
use crate::message::SerialiseError;

/// Digest hash algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// `MD5` (the default when absent).
    Md5,
    /// `MD5-sess`
    Md5Sess,
    /// `SHA-256`
    Sha256,
    /// `SHA-256-sess`
    Sha256Sess,
}

impl Algorithm {
    fn token(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Md5Sess => "MD5-sess",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha256Sess => "SHA-256-sess",
        }
    }

    fn hash(self, data: &str) -> String {
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => hex::encode(Md5::digest(data.as_bytes())),
            Algorithm::Sha256 | Algorithm::Sha256Sess => hex::encode(Sha256::digest(data.as_bytes())),
        }
    }

    fn is_sess(self) -> bool {
        matches!(self, Algorithm::Md5Sess | Algorithm::Sha256Sess)
    }
}

/// Why a challenge cannot be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DigestError {
    /// The scheme is not `Digest`.
    #[error("authentication scheme is not Digest")]
    NotDigest,
    /// `realm` or `nonce` is missing.
    #[error("challenge lacks realm or nonce")]
    MissingField,
    /// The algorithm is not one we implement.
    #[error("unsupported digest algorithm {0:?}")]
    UnsupportedAlgorithm(String),
}

/// A parsed Digest challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// Protection realm.
    pub realm: String,
    /// Server nonce.
    pub nonce: String,
    /// Opaque value to echo back.
    pub opaque: Option<String>,
    /// Hash algorithm.
    pub algorithm: Algorithm,
    /// True when the server offered `qop=auth`.
    pub qop_auth: bool,
    /// `stale=true`: the nonce expired but the credentials were right.
    pub stale: bool,
}

impl Challenge {
    /// Parses a `WWW-Authenticate` or `Proxy-Authenticate` header value.
    pub fn parse(value: &str) -> Result<Challenge, DigestError> {
        let value = value.trim();
        let (scheme, rest) = value.split_once(char::is_whitespace).unwrap_or((value, ""));
        if !scheme.eq_ignore_ascii_case("Digest") {
            return Err(DigestError::NotDigest);
        }
        let mut realm = None;
        let mut nonce = None;
        let mut ch = Challenge {
            realm: String::new(),
            nonce: String::new(),
            opaque: None,
            algorithm: Algorithm::Md5,
            qop_auth: false,
            stale: false,
        };
        for item in split_list(rest) {
            let Some((k, v)) = item.split_once('=') else { continue };
            let v = unquote(v.trim());
            match k.trim().to_ascii_lowercase().as_str() {
                "realm" => realm = Some(v.to_string()),
                "nonce" => nonce = Some(v.to_string()),
                "opaque" => ch.opaque = Some(v.to_string()),
                "stale" => ch.stale = v.eq_ignore_ascii_case("true"),
                "qop" => ch.qop_auth = v.split(',').any(|q| q.trim().eq_ignore_ascii_case("auth")),
                "algorithm" => ch.algorithm = parse_algorithm(v)?,
                _ => {}
            }
        }
        ch.realm = realm.ok_or(DigestError::MissingField)?;
        ch.nonce = nonce.ok_or(DigestError::MissingField)?;
        Ok(ch)
    }
}

fn parse_algorithm(v: &str) -> Result<Algorithm, DigestError> {
    [Algorithm::Md5, Algorithm::Md5Sess, Algorithm::Sha256, Algorithm::Sha256Sess]
        .into_iter()
        .find(|a| a.token().eq_ignore_ascii_case(v))
        .ok_or_else(|| DigestError::UnsupportedAlgorithm(v.to_string()))
}

/// Username and password for a trunk.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// Username.
    pub username: String,
    /// Password.
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("username", &self.username).finish_non_exhaustive()
    }
}

/// Inputs of one digest computation besides the challenge and credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestRequest<'a> {
    /// Request method, e.g. `INVITE`.
    pub method: &'a str,
    /// The Request-URI as sent (also the `uri` parameter).
    pub uri: &'a str,
    /// Client nonce (used with qop or -sess).
    pub cnonce: &'a str,
    /// Nonce count, 1 for the first use of a nonce.
    pub nc: u32,
}

/// Computes the `response` parameter (hex digest).
pub fn response(ch: &Challenge, cred: &Credentials, req: &DigestRequest<'_>) -> String {
    let alg = ch.algorithm;
    let mut ha1 = alg.hash(&format!("{}:{}:{}", cred.username, ch.realm, cred.password));
    if alg.is_sess() {
        ha1 = alg.hash(&format!("{ha1}:{}:{}", ch.nonce, req.cnonce));
    }
    let ha2 = alg.hash(&format!("{}:{}", req.method, req.uri));
    if ch.qop_auth {
        alg.hash(&format!("{ha1}:{}:{:08x}:{}:auth:{ha2}", ch.nonce, req.nc, req.cnonce))
    } else {
        alg.hash(&format!("{ha1}:{}:{ha2}", ch.nonce))
    }
}

/// Builds the full `Authorization` / `Proxy-Authorization` header value. The username is written as a
/// quoted string ([`quoted_string`]: refused when it holds a control character).
pub fn authorization(
    ch: &Challenge,
    cred: &Credentials,
    req: &DigestRequest<'_>,
) -> Result<String, SerialiseError> {
    let username = quoted_string(&cred.username)?;
    let resp = response(ch, cred, req);
    let mut v = format!(
        "Digest username={username}, realm=\"{}\", nonce=\"{}\", uri=\"{}\", response=\"{resp}\", algorithm={}",
        ch.realm,
        ch.nonce,
        req.uri,
        ch.algorithm.token()
    );
    if ch.qop_auth {
        v.push_str(&format!(", qop=auth, cnonce=\"{}\", nc={:08x}", req.cnonce, req.nc));
    } else if ch.algorithm.is_sess() {
        v.push_str(&format!(", cnonce=\"{}\"", req.cnonce));
    }
    if let Some(opaque) = &ch.opaque {
        v.push_str(&format!(", opaque=\"{opaque}\""));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mufasa(password: &str) -> Credentials {
        Credentials { username: "Mufasa".into(), password: password.into() }
    }

    #[test]
    fn rfc2617_example() {
        let ch = Challenge::parse(
            "Digest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", \
             nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"",
        )
        .expect("challenge");
        let req = DigestRequest { method: "GET", uri: "/dir/index.html", cnonce: "0a4f113b", nc: 1 };
        assert_eq!(response(&ch, &mufasa("Circle Of Life"), &req), "6629fae49393a05397450978507c4ef1");
        let auth = authorization(&ch, &mufasa("Circle Of Life"), &req).expect("authorization");
        assert!(auth.contains("nc=00000001") && auth.contains("opaque=\"5ccc069c403ebaf9f0171e9517f40e41\""));
    }

    #[test]
    fn rfc2069_no_qop() {
        let ch = Challenge::parse(
            "Digest realm=\"testrealm@host.com\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", \
             opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"",
        )
        .expect("challenge");
        let req = DigestRequest { method: "GET", uri: "/dir/index.html", cnonce: "", nc: 1 };
        assert_eq!(response(&ch, &mufasa("CircleOfLife"), &req), "1949323746fe6a43ef61f9606e7febea");
    }

    #[test]
    fn rfc7616_examples() {
        let base = "realm=\"http-auth@example.org\", qop=\"auth, auth-int\", \
            nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"";
        let req = DigestRequest {
            method: "GET",
            uri: "/dir/index.html",
            cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
            nc: 1,
        };
        let sha = Challenge::parse(&format!("Digest {base}, algorithm=SHA-256")).expect("sha");
        assert_eq!(sha.algorithm, Algorithm::Sha256);
        assert_eq!(
            response(&sha, &mufasa("Circle of Life"), &req),
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
        let md5 = Challenge::parse(&format!("Digest {base}, algorithm=MD5")).expect("md5");
        assert_eq!(response(&md5, &mufasa("Circle of Life"), &req), "8ca523f5e9506fed4657c9700eebdbec");
    }

    #[test]
    fn rejects_bad_challenges() {
        assert_eq!(Challenge::parse("Basic realm=\"x\""), Err(DigestError::NotDigest));
        assert_eq!(Challenge::parse("Digest realm=\"x\""), Err(DigestError::MissingField));
        assert!(matches!(
            Challenge::parse("Digest realm=\"x\", nonce=\"y\", algorithm=SHA-512-256"),
            Err(DigestError::UnsupportedAlgorithm(_))
        ));
    }
}
