//! Typed views of the few headers the engines act on: `Via`, `From`/`To`/`Contact` (name-addr), `CSeq`, and
//! SIP URIs — plus header-name canonicalisation (compact forms) and comma-list splitting.
//!
//! Parsing here works on already-validated UTF-8 header values and returns `Option`: a header the engine
//! cannot read is treated like a missing one, never a panic.
//!
//! Building goes the other way for the values we put into URIs and quoted strings ourselves — a number, a
//! caller id, a trunk host, a display name, a digest username — and checks each against its grammar
//! ([`sip_uri`], [`quoted_string`]), so such a value cannot add URI parameters, headers or a second
//! address.

use crate::message::{Method, SerialiseError};

/// Maps a received header name (any case, compact or long) to its canonical long form.
/// Unknown names are returned unchanged.
pub fn canonical_name(name: &str) -> String {
    const COMPACT: &[(&str, &str)] = &[
        ("i", "Call-ID"),
        ("m", "Contact"),
        ("e", "Content-Encoding"),
        ("l", "Content-Length"),
        ("c", "Content-Type"),
        ("f", "From"),
        ("s", "Subject"),
        ("k", "Supported"),
        ("t", "To"),
        ("v", "Via"),
        ("o", "Event"),
        ("r", "Refer-To"),
        ("b", "Referred-By"),
        ("u", "Allow-Events"),
        ("x", "Session-Expires"),
    ];
    const KNOWN: &[&str] = &[
        "Call-ID",
        "CSeq",
        "Via",
        "From",
        "To",
        "Contact",
        "Content-Length",
        "Content-Type",
        "Max-Forwards",
        "WWW-Authenticate",
        "Proxy-Authenticate",
        "Authorization",
        "Proxy-Authorization",
        "Record-Route",
        "Route",
        "User-Agent",
        "Server",
        "Allow",
        "Supported",
        "Require",
        "Expires",
    ];
    if let Some((_, long)) = COMPACT.iter().find(|(c, _)| c.eq_ignore_ascii_case(name)) {
        return (*long).to_string();
    }
    match KNOWN.iter().find(|k| k.eq_ignore_ascii_case(name)) {
        Some(k) => (*k).to_string(),
        None => name.to_string(),
    }
}

/// True if `s` is a non-empty RFC 3261 `token`.
pub fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b))
}

/// `sip:<user>@<host_port>`, e.g. the Request-URI for dialing an E.164 number on a trunk, or our From URI.
///
/// `user` may hold RFC 3261 user characters except `;`, `?` and `/` (which would start URI parameters or
/// headers): letters, digits, `-_.!~*'()&=+$,` and `%XX` escapes. `host_port` must be a host name, an
/// IPv4 address or an `[IPv6]` literal, with an optional `:port`.
pub fn sip_uri(user: &str, host_port: &str) -> Result<String, SerialiseError> {
    if !is_uri_user(user) {
        return Err(SerialiseError::UriUser);
    }
    if !is_host_port(host_port) {
        return Err(SerialiseError::UriHost);
    }
    Ok(format!("sip:{user}@{host_port}"))
}

fn is_uri_user(user: &str) -> bool {
    let b = user.as_bytes();
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let ok = match c {
            b'%' => b.get(i + 1..i + 3).is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)),
            _ => c.is_ascii_alphanumeric() || b"-_.!~*'()&=+$,".contains(&c),
        };
        if !ok {
            return false;
        }
        i += if c == b'%' { 3 } else { 1 };
    }
    !b.is_empty()
}

fn is_host_port(host_port: &str) -> bool {
    let (host_ok, port) = match host_port.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((v6, port)) => (v6.parse::<std::net::Ipv6Addr>().is_ok(), port),
            None => return false,
        },
        None => {
            let (host, port) = host_port.split_at(host_port.find(':').unwrap_or(host_port.len()));
            let name = host.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'.');
            (name && !host.is_empty() && !host.starts_with(['-', '.']), port)
        }
    };
    let port_ok = port.is_empty()
        || port.strip_prefix(':').is_some_and(|p| {
            !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()) && p.parse::<u16>().is_ok()
        });
    host_ok && port_ok
}

/// `value` as an RFC 3261 quoted string: in double quotes, with `"` and `\` escaped. Refuses control
/// characters (CR, LF and NUL above all), which no display name or username needs.
pub fn quoted_string(value: &str) -> Result<String, SerialiseError> {
    if value.chars().any(|c| c.is_control() && c != '\t') {
        return Err(SerialiseError::QuotedString);
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    Ok(out)
}

/// Splits a header value holding a comma-separated list, ignoring commas inside quotes or `<...>`.
pub fn split_list(value: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut quoted, mut angle, mut escaped, mut start) = (false, false, false, 0);
    for (i, ch) in value.char_indices() {
        match ch {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            ',' if !quoted && !angle => {
                out.extend(value.get(start..i).map(str::trim).filter(|s| !s.is_empty()));
                start = i + 1;
            }
            _ => {}
        }
    }
    out.extend(value.get(start..).map(str::trim).filter(|s| !s.is_empty()));
    out
}

/// `;name=value` parameters, in order. Names are compared case-insensitively by [`param`].
pub type Params = Vec<(String, Option<String>)>;

/// Finds a parameter by name (case-insensitive). `Some(None)` means present without a value.
pub fn param<'a>(params: &'a Params, name: &str) -> Option<Option<&'a str>> {
    params.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_deref())
}

fn parse_params(s: &str) -> Params {
    s.split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((n, v)) => (n.trim().to_string(), Some(unquote(v.trim()).to_string())),
            None => (p.to_string(), None),
        })
        .collect()
}

/// Strips one pair of surrounding double quotes, if present.
pub fn unquote(s: &str) -> &str {
    s.strip_prefix('"').and_then(|s| s.strip_suffix('"')).unwrap_or(s)
}

/// A parsed `CSeq` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CSeq {
    /// Sequence number (< 2^31).
    pub seq: u32,
    /// Method.
    pub method: Method,
}

impl CSeq {
    /// Parses `"<number> <METHOD>"`.
    pub fn parse(value: &str) -> Option<CSeq> {
        let mut it = value.split_whitespace();
        let (seq, method, None) = (it.next()?, it.next()?, it.next()) else { return None };
        let seq: u32 = seq.parse().ok().filter(|n| *n < (1 << 31))?;
        is_token(method).then(|| CSeq { seq, method: Method::from_token(method) })
    }
}

/// A parsed `Via` header entry (the first of a comma list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    /// Transport, e.g. `UDP`.
    pub transport: String,
    /// `host[:port]` as sent.
    pub sent_by: String,
    /// Parameters (`branch`, `rport`, `received`...).
    pub params: Params,
}

impl Via {
    /// Parses the first entry of a Via header value.
    pub fn parse(value: &str) -> Option<Via> {
        let first = split_list(value).into_iter().next()?;
        let mut pp = first.splitn(3, '/');
        let (Some(name), Some(_ver), Some(rest)) = (pp.next(), pp.next(), pp.next()) else {
            return None;
        };
        if !name.trim().eq_ignore_ascii_case("SIP") {
            return None;
        }
        let (transport, rest) = rest.trim_start().split_once(char::is_whitespace)?;
        let (sent_by, params) = rest.split_once(';').unwrap_or((rest, ""));
        let sent_by = sent_by.trim();
        if sent_by.is_empty() {
            return None;
        }
        Some(Via {
            transport: transport.to_string(),
            sent_by: sent_by.to_string(),
            params: parse_params(params),
        })
    }

    /// The `branch` parameter.
    pub fn branch(&self) -> Option<&str> {
        param(&self.params, "branch").flatten()
    }
}

/// A `name-addr` or `addr-spec` header value (From, To, Contact, Route...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr {
    /// Display name without quotes, if any.
    pub display: Option<String>,
    /// The URI, without angle brackets.
    pub uri: String,
    /// Header parameters after the URI (e.g. `tag`).
    pub params: Params,
}

impl NameAddr {
    /// Parses the first entry of a From/To/Contact value.
    pub fn parse(value: &str) -> Option<NameAddr> {
        let value = split_list(value).into_iter().next()?;
        if let Some(lt) = value.find('<') {
            let display = unquote(value.get(..lt)?.trim());
            let after = value.get(lt + 1..)?;
            let gt = after.find('>')?;
            let uri = after.get(..gt)?.trim();
            let params = after.get(gt + 1..)?.trim_start();
            let params = params.strip_prefix(';').unwrap_or(params);
            let display = (!display.is_empty()).then(|| display.to_string());
            return Some(NameAddr { display, uri: uri.to_string(), params: parse_params(params) });
        }
        // addr-spec form: parameters after the URI belong to the header, not the URI.
        let (uri, params) = value.split_once(';').unwrap_or((value, ""));
        let uri = uri.trim();
        (!uri.is_empty()).then(|| NameAddr {
            display: None,
            uri: uri.to_string(),
            params: parse_params(params),
        })
    }

    /// The `tag` parameter.
    pub fn tag(&self) -> Option<&str> {
        param(&self.params, "tag").flatten()
    }
}

/// A `sip:`/`sips:` URI, split into the parts the engines need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipUri {
    /// User part (e.g. an E.164 number), if any.
    pub user: Option<String>,
    /// Host (IPv6 kept with brackets).
    pub host: String,
    /// Port, if given.
    pub port: Option<u16>,
}

impl SipUri {
    /// Parses `sip:[user[:password]@]host[:port][;params][?headers]`.
    pub fn parse(uri: &str) -> Option<SipUri> {
        let (scheme, rest) = uri.trim().split_once(':')?;
        if !scheme.eq_ignore_ascii_case("sip") && !scheme.eq_ignore_ascii_case("sips") {
            return None;
        }
        let rest = rest.split(['?']).next()?;
        let (userinfo, hostport) = match rest.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, rest),
        };
        let hostport = hostport.split(';').next()?;
        let user = userinfo.map(|u| u.split(':').next().unwrap_or(u).to_string());
        let (host, port) = if hostport.starts_with('[') {
            let end = hostport.find(']')?;
            let port = hostport.get(end + 1..)?.strip_prefix(':');
            (hostport.get(..=end)?, port)
        } else {
            match hostport.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (hostport, None),
            }
        };
        let port = match port {
            Some(p) => Some(p.parse().ok()?),
            None => None,
        };
        (!host.is_empty()).then(|| SipUri { user, host: host.to_string(), port })
    }

    /// The host and port as a socket address, when the host is an IP literal.
    pub fn socket_addr(&self) -> Option<std::net::SocketAddr> {
        let ip: std::net::IpAddr = self.host.trim_start_matches('[').trim_end_matches(']').parse().ok()?;
        Some(std::net::SocketAddr::new(ip, self.port.unwrap_or(5060)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sip_uri_refuses_what_would_add_parameters_headers_or_lines() {
        assert_eq!(
            sip_uri("+2348000000001", "127.0.0.1:5060").as_deref(),
            Ok("sip:+2348000000001@127.0.0.1:5060")
        );
        assert_eq!(
            sip_uri("%2B1-555.(0)*", "trunk.example.com").as_deref(),
            Ok("sip:%2B1-555.(0)*@trunk.example.com")
        );
        assert_eq!(sip_uri("1", "[::1]:5062").as_deref(), Ok("sip:1@[::1]:5062"));
        for user in [
            "",
            "+234\r\nVia: x",
            "+234\0",
            "a@evil.example",
            "1;maddr=203.0.113.9",
            "1?Route=x",
            "1 2",
            "1>",
            "%2",
            "%zz",
        ] {
            assert_eq!(sip_uri(user, "127.0.0.1"), Err(SerialiseError::UriUser), "{user:?}");
        }
        for host in [
            "",
            "127.0.0.1\r\nX: y",
            "h;transport=tcp",
            "h:50x",
            "h:",
            "h:+50",
            "h:70000",
            "[::1",
            "[zz]:5",
            "-h",
            "a@b",
            "h>",
        ] {
            assert_eq!(sip_uri("1", host), Err(SerialiseError::UriHost), "{host:?}");
        }
    }

    #[test]
    fn quoted_string_escapes_quotes_and_refuses_controls() {
        assert_eq!(quoted_string(r#"Dr "Who" \ Co"#).as_deref(), Ok(r#""Dr \"Who\" \\ Co""#));
        for bad in ["a\rb", "a\nb", "a\0b", "a\u{7f}"] {
            assert_eq!(quoted_string(bad), Err(SerialiseError::QuotedString), "{bad:?}");
        }
    }

    #[test]
    fn name_addr_forms() {
        let n = NameAddr::parse("\"A, B\" <sip:a@b;transport=udp>;tag=xyz, <sip:c@d>").expect("parse");
        assert_eq!(n.display.as_deref(), Some("A, B"));
        assert_eq!(n.uri, "sip:a@b;transport=udp");
        assert_eq!(n.tag(), Some("xyz"));
        let n = NameAddr::parse("sip:+234@h:5070;tag=9").expect("parse");
        assert_eq!((n.uri.as_str(), n.tag()), ("sip:+234@h:5070", Some("9")));
    }

    #[test]
    fn via_and_uri() {
        let v =
            Via::parse("SIP / 2.0 / UDP 1.2.3.4:5060;branch=z9hG4bK77;rport, SIP/2.0/UDP x").expect("via");
        assert_eq!((v.sent_by.as_str(), v.branch()), ("1.2.3.4:5060", Some("z9hG4bK77")));
        assert_eq!(param(&v.params, "RPORT"), Some(None));
        let u = SipUri::parse("sip:+2348000000001:pw@127.0.0.1:5070;user=phone").expect("uri");
        assert_eq!(u.user.as_deref(), Some("+2348000000001"));
        assert_eq!(u.socket_addr(), "127.0.0.1:5070".parse().ok());
        let u = SipUri::parse("sip:[::1]:5062").expect("v6");
        assert_eq!(u.socket_addr(), "[::1]:5062".parse().ok());
        assert!(SipUri::parse("tel:+123").is_none());
        assert!(CSeq::parse("4294967295 INVITE").is_none());
    }
}
