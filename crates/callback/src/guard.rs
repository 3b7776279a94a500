//! Which callback URLs voicebot will POST to (CONTRACT.md §7).
//!
//! Callback URLs come from integrators, so a sender that followed them blindly could be
//! pointed at the cloud metadata service or an internal admin port (SSRF). Only http(s)
//! is allowed; hosts given as IP literals or `localhost` names are checked when the URL is
//! accepted ([`check_url`], used by the API at intake) and again before sending; host names
//! are checked on every resolution by [`GuardedResolver`], the sender's DNS resolver, so a
//! name cannot resolve to a private address between the check and the connect. Redirects
//! are never followed (the sender's client has no redirect policy), so a public URL cannot
//! bounce the request to loopback either.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Why a callback URL is refused.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum GuardError {
    /// Not a URL.
    #[error("not a valid URL")]
    Invalid,
    /// Not http or https.
    #[error("must be an http or https URL")]
    Scheme,
    /// No host.
    #[error("must name a host")]
    NoHost,
    /// Loopback, private, link-local or unspecified target.
    #[error("refused: {0} is a loopback, private or link-local address (callbacks.allow_private = false)")]
    Private(String),
    /// The name did not resolve.
    #[error("could not resolve {0}")]
    Unresolved(String),
}

/// True for addresses a callback must not reach unless private targets are allowed.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_private_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_private_v4(v4),
            None => is_private_v6(v6),
        },
    }
}

fn is_private_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (RFC 6598)
}

fn is_private_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link-local
}

fn is_localhost_name(host: &str) -> bool {
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    h == "localhost" || h.ends_with(".localhost")
}

/// Checks a callback URL without touching the network: http(s), a host, and — unless
/// `allow_private` — no private IP literal and no `localhost` name.
pub fn check_url(url: &str, allow_private: bool) -> Result<Url, GuardError> {
    let parsed = Url::parse(url).map_err(|_| GuardError::Invalid)?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(GuardError::Scheme);
    }
    let host = parsed.host_str().filter(|h| !h.is_empty()).ok_or(GuardError::NoHost)?;
    if allow_private {
        return Ok(parsed);
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let refused = match bare.parse::<IpAddr>() {
        Ok(ip) => is_private(ip),
        Err(_) => is_localhost_name(bare),
    };
    if refused {
        return Err(GuardError::Private(host.to_string()));
    }
    Ok(parsed)
}

/// The sender's DNS resolver: resolves with the system resolver and drops private addresses
/// unless allowed, failing when none is left.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    /// Let private targets through (tests, demos).
    pub allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_string();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|_| GuardError::Unresolved(host.clone()))?
                .collect();
            if found.is_empty() {
                return Err(GuardError::Unresolved(host).into());
            }
            let allowed: Vec<SocketAddr> =
                found.into_iter().filter(|a| allow_private || !is_private(a.ip())).collect();
            if allowed.is_empty() {
                return Err(GuardError::Private(host).into());
            }
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_targets_are_refused_unless_allowed() {
        for url in [
            "http://169.254.169.254/",
            "http://10.0.0.1/",
            "http://localhost/",
            "http://LOCALHOST.:8080/x",
            "http://127.0.0.1:9/",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[fe80::1]/",
            "http://[fd00::1]/",
            "http://0.0.0.0/",
            "http://192.168.1.1/",
            "http://172.16.0.1/",
            "http://100.64.0.1/",
        ] {
            assert!(matches!(check_url(url, false), Err(GuardError::Private(_))), "{url}");
            assert!(check_url(url, true).is_ok(), "{url}");
        }
        assert!(check_url("https://example.org/hook", false).is_ok());
        assert!(check_url("http://8.8.8.8/", false).is_ok());
        assert_eq!(check_url("ftp://example.org/", true).unwrap_err(), GuardError::Scheme);
        assert_eq!(check_url("not a url", true).unwrap_err(), GuardError::Invalid);
    }

    #[tokio::test]
    async fn resolver_drops_private_addresses() {
        let refused = GuardedResolver { allow_private: false }.resolve("localhost".parse().unwrap()).await;
        assert!(refused.is_err());
        let allowed = GuardedResolver { allow_private: true }.resolve("localhost".parse().unwrap()).await;
        assert!(allowed.unwrap().next().is_some());
    }
}
