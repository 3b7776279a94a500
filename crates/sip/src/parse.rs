//! Datagram → [`Message`] parser.
//!
//! Owns the only code that reads untrusted bytes from the network, so it is written to never panic: no
//! indexing, no `unwrap`, every slice taken through `get`/`split`. It tolerates what RFC 3261 §7.3 asks a
//! receiver to tolerate — compact header names, any case in names, line folding, whitespace before the colon,
//! bare LF line ends, leading CRLF keep-alives — and rejects, with a distinct [`ParseError`] variant per class,
//! what an engine cannot act on: a bad start line, a missing mandatory header, a malformed CSeq or
//! Content-Length, or a body shorter than Content-Length says. Content-Length is consumed here (the parsed
//! message keeps only the body), so a parse → serialise → parse round trip is exact.

use crate::header::{CSeq, canonical_name, is_token};
use crate::message::{Headers, Message, Method, Request, Response};

/// Why a datagram is not a usable SIP message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The datagram was empty (or only CR/LF keep-alives).
    #[error("empty datagram")]
    Empty,
    /// No blank line ends the header section.
    #[error("header section is not terminated by an empty line")]
    UnterminatedHeaders,
    /// The start line and headers are not UTF-8.
    #[error("header section is not valid UTF-8")]
    InvalidUtf8,
    /// The request or status line is malformed.
    #[error("malformed start line")]
    InvalidStartLine,
    /// The SIP version is not `SIP/2.0`.
    #[error("unsupported SIP version")]
    UnsupportedVersion,
    /// The status code is not a number in 100..=699.
    #[error("invalid status code")]
    InvalidStatusCode,
    /// A header line has no colon or an invalid name.
    #[error("malformed header line")]
    InvalidHeader,
    /// A header every request and response must carry is absent.
    #[error("missing mandatory header {0}")]
    MissingHeader(&'static str),
    /// CSeq is not `<number> <method>`.
    #[error("malformed CSeq")]
    InvalidCSeq,
    /// A request's CSeq method differs from its request method.
    #[error("CSeq method does not match request method")]
    CSeqMethodMismatch,
    /// Content-Length is not a number, or appears twice with different values.
    #[error("malformed Content-Length")]
    InvalidContentLength,
    /// The body is shorter than Content-Length declares.
    #[error("body truncated: Content-Length {declared}, {available} bytes present")]
    BodyTruncated {
        /// Declared length.
        declared: usize,
        /// Bytes actually present after the headers.
        available: usize,
    },
}

/// Parses one UDP datagram into a request or response.
pub fn parse(datagram: &[u8]) -> Result<Message, ParseError> {
    let start = datagram.iter().position(|b| *b != b'\r' && *b != b'\n').ok_or(ParseError::Empty)?;
    let data = datagram.get(start..).ok_or(ParseError::Empty)?;
    let (head, rest) = split_head(data).ok_or(ParseError::UnterminatedHeaders)?;
    let head = std::str::from_utf8(head).map_err(|_| ParseError::InvalidUtf8)?;
    let mut lines = unfold(head);
    if lines.is_empty() {
        return Err(ParseError::InvalidStartLine);
    }
    let start_line = lines.remove(0);
    let mut headers = parse_headers(&lines)?;
    let body = take_body(&headers, rest)?.to_vec();
    // The body's length is authoritative from here on; serialisation writes a fresh Content-Length.
    headers.remove("Content-Length");
    let msg = parse_start_line(&start_line, headers, body)?;
    validate(&msg)?;
    Ok(msg)
}

/// Splits at the first empty line; returns (header text, bytes after the empty line).
fn split_head(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut i = 0;
    while let Some(rel) = data.get(i..)?.iter().position(|b| *b == b'\n') {
        let nl = i + rel;
        let after = data.get(nl + 1..)?;
        if after.first() == Some(&b'\n') {
            return Some((data.get(..nl)?, after.get(1..)?));
        }
        if after.starts_with(b"\r\n") {
            return Some((data.get(..nl)?, after.get(2..)?));
        }
        i = nl + 1;
    }
    None
}

/// Splits the header text into logical lines, joining folded continuation lines.
fn unfold(head: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for raw in head.split('\n') {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let folded = line.starts_with(' ') || line.starts_with('\t');
        match lines.last_mut() {
            Some(prev) if folded => {
                prev.push(' ');
                prev.push_str(line.trim());
            }
            _ => lines.push(line.to_string()),
        }
    }
    lines
}

fn parse_headers(lines: &[String]) -> Result<Headers, ParseError> {
    let mut headers = Headers::new();
    for line in lines {
        let (name, value) = line.split_once(':').ok_or(ParseError::InvalidHeader)?;
        let name = name.trim_end_matches([' ', '\t']);
        if !is_token(name) {
            return Err(ParseError::InvalidHeader);
        }
        headers.push(canonical_name(name), value.trim());
    }
    Ok(headers)
}

fn take_body<'a>(headers: &Headers, rest: &'a [u8]) -> Result<&'a [u8], ParseError> {
    let mut declared: Option<usize> = None;
    for value in headers.get_all("Content-Length") {
        let n: usize = value.trim().parse().map_err(|_| ParseError::InvalidContentLength)?;
        if declared.is_some_and(|d| d != n) {
            return Err(ParseError::InvalidContentLength);
        }
        declared = Some(n);
    }
    match declared {
        // No Content-Length over UDP: the body runs to the end of the datagram (RFC 3261 §18.3).
        None => Ok(rest),
        Some(n) => rest.get(..n).ok_or(ParseError::BodyTruncated { declared: n, available: rest.len() }),
    }
}

fn parse_start_line(line: &str, headers: Headers, body: Vec<u8>) -> Result<Message, ParseError> {
    if let Some(rest) = strip_prefix_ci(line, "SIP/") {
        let (version, rest) = rest.split_once(' ').ok_or(ParseError::InvalidStartLine)?;
        if version != "2.0" {
            return Err(ParseError::UnsupportedVersion);
        }
        let rest = rest.trim_start_matches(' ');
        let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
        let status: u16 = match code.len() {
            3 if code.bytes().all(|b| b.is_ascii_digit()) => {
                code.parse().map_err(|_| ParseError::InvalidStatusCode)?
            }
            _ => return Err(ParseError::InvalidStatusCode),
        };
        if !(100..=699).contains(&status) {
            return Err(ParseError::InvalidStatusCode);
        }
        let reason = reason.to_string();
        return Ok(Message::Response(Response { status, reason, headers, body }));
    }
    let mut parts = line.split([' ', '\t']).filter(|p| !p.is_empty());
    let (Some(method), Some(uri), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ParseError::InvalidStartLine);
    };
    if !is_token(method) || !uri.contains(':') {
        return Err(ParseError::InvalidStartLine);
    }
    if !version.eq_ignore_ascii_case("SIP/2.0") {
        return Err(ParseError::UnsupportedVersion);
    }
    let method = Method::from_token(method);
    Ok(Message::Request(Request { method, uri: uri.to_string(), headers, body }))
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix) { s.get(prefix.len()..) } else { None }
}

fn validate(msg: &Message) -> Result<(), ParseError> {
    let h = msg.headers();
    for name in ["Via", "From", "To", "Call-ID", "CSeq"] {
        if h.get(name).is_none_or(|v| v.is_empty()) {
            return Err(ParseError::MissingHeader(name));
        }
    }
    let cseq = h.get("CSeq").and_then(CSeq::parse).ok_or(ParseError::InvalidCSeq)?;
    if let Message::Request(req) = msg
        && req.method != cseq.method
    {
        return Err(ParseError::CSeqMethodMismatch);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVITE: &[u8] = b"INVITE sip:+2348000000001@127.0.0.1:5070 SIP/2.0\r\n\
v: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKabc;rport\r\n\
Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKdef\r\n\
Max-Forwards: 70\r\n\
f: \"Bot\" <sip:bot@127.0.0.1>;tag=1928\r\n\
t: <sip:+2348000000001@127.0.0.1>\r\n\
i: a84b4c76e66710\r\n\
CSEQ: 314159 INVITE\r\n\
Subject: folded\r\n  across lines\r\n\
c: application/sdp\r\n\
l: 4\r\n\r\nv=0\r\ngarbage-after-content-length";

    #[test]
    fn parses_compact_folded_request() {
        let Ok(Message::Request(req)) = parse(INVITE) else { panic!("parse failed") };
        assert_eq!(req.method, Method::Invite);
        assert_eq!(req.uri, "sip:+2348000000001@127.0.0.1:5070");
        assert_eq!(req.headers.get("call-id"), Some("a84b4c76e66710"));
        assert_eq!(req.headers.get_all("VIA").count(), 2);
        assert_eq!(req.headers.get("Subject"), Some("folded across lines"));
        assert_eq!(req.headers.get("Content-Type"), Some("application/sdp"));
        assert_eq!(req.body, b"v=0\r");
    }

    #[test]
    fn round_trip_is_stable() {
        let msg = parse(INVITE).expect("parse");
        let bytes = msg.to_bytes().expect("serialise");
        let again = parse(&bytes).expect("reparse");
        assert_eq!(msg, again);
        assert_eq!(again.to_bytes(), Ok(bytes));
    }

    #[test]
    fn parses_response_and_bare_lf() {
        let raw = b"\r\nSIP/2.0 486 Busy Here\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nFrom: <sip:a@b>;tag=1\n\
To: <sip:c@d>;tag=2\nCall-ID: x\nCSeq: 1 INVITE\n\n";
        let Ok(Message::Response(r)) = parse(raw) else { panic!("parse failed") };
        assert_eq!((r.status, r.reason.as_str()), (486, "Busy Here"));
        assert!(r.body.is_empty());
    }

    #[test]
    fn distinct_errors() {
        let base =
            "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: x\r\n";
        let cases: Vec<(String, ParseError)> = vec![
            (String::new(), ParseError::Empty),
            ("INVITE sip:a@b SIP/2.0\r\n".into(), ParseError::UnterminatedHeaders),
            (
                format!("INVITE sip:a@b SIP/3.0\r\n{base}CSeq: 1 INVITE\r\n\r\n"),
                ParseError::UnsupportedVersion,
            ),
            (format!("INVITE sip:a@b\r\n{base}CSeq: 1 INVITE\r\n\r\n"), ParseError::InvalidStartLine),
            (format!("SIP/2.0 99 X\r\n{base}CSeq: 1 INVITE\r\n\r\n"), ParseError::InvalidStatusCode),
            (format!("INVITE sip:a@b SIP/2.0\r\n{base}\r\n"), ParseError::MissingHeader("CSeq")),
            (format!("INVITE sip:a@b SIP/2.0\r\n{base}CSeq: x INVITE\r\n\r\n"), ParseError::InvalidCSeq),
            (format!("INVITE sip:a@b SIP/2.0\r\n{base}CSeq: 1 BYE\r\n\r\n"), ParseError::CSeqMethodMismatch),
            (
                format!("INVITE sip:a@b SIP/2.0\r\n{base}Bad Header\r\nCSeq: 1 INVITE\r\n\r\n"),
                ParseError::InvalidHeader,
            ),
            (
                format!("INVITE sip:a@b SIP/2.0\r\n{base}CSeq: 1 INVITE\r\nContent-Length: -1\r\n\r\n"),
                ParseError::InvalidContentLength,
            ),
            (
                format!("INVITE sip:a@b SIP/2.0\r\n{base}CSeq: 1 INVITE\r\nContent-Length: 10\r\n\r\nabc"),
                ParseError::BodyTruncated { declared: 10, available: 3 },
            ),
        ];
        for (raw, want) in cases {
            assert_eq!(parse(raw.as_bytes()), Err(want), "{raw:?}");
        }
        assert_eq!(parse(b"\xff\xfe\r\n\r\n"), Err(ParseError::InvalidUtf8));
    }
}
