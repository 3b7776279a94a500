//! SIP message model and serialisation.
//!
//! Owns the in-memory shape of a SIP request or response (start line, ordered header list, raw body) and
//! turns it back into bytes for a UDP datagram. Headers are kept as ordered `(name, value)` text pairs rather
//! than one typed struct per header: the engines only need a handful of them (typed views live in
//! [`crate::header`]) and everything else must pass through untouched. Names are stored in their canonical
//! long form (compact forms such as `v` or `i` are expanded by the parser), and looked up case-insensitively.
//!
//! Serialisation is the one door every byte we send goes through, so it refuses (with a typed
//! [`SerialiseError`], never a silent strip) what would let a value rewrite the message: CR, LF or NUL in a
//! header value or reason phrase, a header name or method that is not a token, a Request-URI with
//! whitespace, controls or angle brackets. Values come from our config, the dialer's call rows and the
//! peer's own headers echoed back; any of them may hold such bytes.

use std::fmt;

use crate::header::is_token;

/// Why a message, or a value meant for one, cannot be put on the wire: sending it would let whoever chose
/// the value add headers or end the message early (header injection).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SerialiseError {
    /// A header name is not an RFC 3261 token.
    #[error("a header name is not a token")]
    HeaderName,
    /// A header value holds CR, LF or NUL.
    #[error("the {0} header value holds CR, LF or NUL")]
    HeaderValue(String),
    /// The method is not a token.
    #[error("the method is not a token")]
    Method,
    /// A URI (the Request-URI, or one we put between `<` and `>`) is empty or holds whitespace, a control
    /// character, `<`, `>` or `"`.
    #[error("a URI is empty or holds whitespace, a control character or a delimiter")]
    Uri,
    /// The reason phrase holds CR, LF or NUL.
    #[error("the reason phrase holds CR, LF or NUL")]
    Reason,
    /// A URI's user part holds a character RFC 3261 does not allow there unescaped (`@`, `;`, `?`,
    /// whitespace, controls...).
    #[error("a URI user part holds a character not allowed there")]
    UriUser,
    /// A URI's host part is not a host name, IPv4 address or `[IPv6]` literal with an optional port.
    #[error("a URI host is not a host name or IP address with an optional port")]
    UriHost,
    /// A value meant for a quoted string (display name, digest username) holds a control character.
    #[error("a quoted string (display name or username) holds a control character")]
    QuotedString,
}

/// True when `value` may stand in a header value or reason phrase: no CR, LF or NUL.
pub fn is_header_text(value: &str) -> bool {
    !value.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0))
}

/// True when `uri` may stand in a request line or between `<` and `>`: not empty, no whitespace, no
/// control character, no `<`, `>` or `"` (RFC 3261 URIs escape all of them).
pub fn is_uri_text(uri: &str) -> bool {
    !uri.is_empty()
        && !uri.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"'))
}

/// A SIP method (RFC 3261 §7.1). Methods are case-sensitive; unknown ones are kept verbatim.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    /// `INVITE`
    Invite,
    /// `ACK`
    Ack,
    /// `BYE`
    Bye,
    /// `CANCEL`
    Cancel,
    /// `OPTIONS`
    Options,
    /// `REGISTER`
    Register,
    /// `INFO`
    Info,
    /// `UPDATE`
    Update,
    /// `PRACK`
    Prack,
    /// `NOTIFY`
    Notify,
    /// Any other token.
    Other(String),
}

impl Method {
    /// Parses a method token (case-sensitive, as RFC 3261 requires).
    pub fn from_token(token: &str) -> Method {
        match token {
            "INVITE" => Method::Invite,
            "ACK" => Method::Ack,
            "BYE" => Method::Bye,
            "CANCEL" => Method::Cancel,
            "OPTIONS" => Method::Options,
            "REGISTER" => Method::Register,
            "INFO" => Method::Info,
            "UPDATE" => Method::Update,
            "PRACK" => Method::Prack,
            "NOTIFY" => Method::Notify,
            other => Method::Other(other.to_string()),
        }
    }

    /// The method token as sent on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Invite => "INVITE",
            Method::Ack => "ACK",
            Method::Bye => "BYE",
            Method::Cancel => "CANCEL",
            Method::Options => "OPTIONS",
            Method::Register => "REGISTER",
            Method::Info => "INFO",
            Method::Update => "UPDATE",
            Method::Prack => "PRACK",
            Method::Notify => "NOTIFY",
            Method::Other(s) => s,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One header line: canonical name and its (unfolded, trimmed) value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Header name in canonical long form for known headers, else as received.
    pub name: String,
    /// Header value with folding removed and surrounding whitespace trimmed.
    pub value: String,
}

/// An ordered list of headers with case-insensitive lookup.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<Header>);

impl Headers {
    /// An empty header list.
    pub fn new() -> Headers {
        Headers(Vec::new())
    }

    /// Appends a header (does not replace existing ones of the same name).
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.push(Header { name: name.into(), value: value.into() });
    }

    /// First value of `name` (case-insensitive), if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|h| h.name.eq_ignore_ascii_case(name)).map(|h| h.value.as_str())
    }

    /// All header lines named `name`, in order. A line may itself hold a comma-separated list
    /// (see [`crate::header::split_list`]).
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0.iter().filter(move |h| h.name.eq_ignore_ascii_case(name)).map(|h| h.value.as_str())
    }

    /// Removes every header named `name`.
    pub fn remove(&mut self, name: &str) {
        self.0.retain(|h| !h.name.eq_ignore_ascii_case(name));
    }

    /// Replaces every header named `name` by one with `value`.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.remove(name);
        self.push(name, value);
    }

    /// Iterates all headers in order.
    pub fn iter(&self) -> impl Iterator<Item = &Header> {
        self.0.iter()
    }

    /// Number of header lines.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there is no header.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A SIP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// The Request-URI, verbatim.
    pub uri: String,
    /// Headers in order.
    pub headers: Headers,
    /// The body (exactly Content-Length bytes when the header was present).
    pub body: Vec<u8>,
}

/// A SIP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code, 100..=699.
    pub status: u16,
    /// Reason phrase, verbatim (may be empty).
    pub reason: String,
    /// Headers in order.
    pub headers: Headers,
    /// The body.
    pub body: Vec<u8>,
}

/// Either kind of SIP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A request.
    Request(Request),
    /// A response.
    Response(Response),
}

impl Message {
    /// The message's headers.
    pub fn headers(&self) -> &Headers {
        match self {
            Message::Request(r) => &r.headers,
            Message::Response(r) => &r.headers,
        }
    }

    /// The message's body.
    pub fn body(&self) -> &[u8] {
        match self {
            Message::Request(r) => &r.body,
            Message::Response(r) => &r.body,
        }
    }

    /// Serialises to datagram bytes (see [`Request::to_bytes`]).
    pub fn to_bytes(&self) -> Result<Vec<u8>, SerialiseError> {
        match self {
            Message::Request(r) => r.to_bytes(),
            Message::Response(r) => r.to_bytes(),
        }
    }
}

impl Request {
    /// A request with no headers and no body.
    pub fn new(method: Method, uri: impl Into<String>) -> Request {
        Request { method, uri: uri.into(), headers: Headers::new(), body: Vec::new() }
    }

    /// Serialises the request. Any stored `Content-Length` is dropped and a correct one is written last.
    /// Refuses a method that is not a token, a Request-URI that is not [`is_uri_text`] and any header
    /// that would break the message (see [`SerialiseError`]).
    pub fn to_bytes(&self) -> Result<Vec<u8>, SerialiseError> {
        if !is_token(self.method.as_str()) {
            return Err(SerialiseError::Method);
        }
        if !is_uri_text(&self.uri) {
            return Err(SerialiseError::Uri);
        }
        let start = format!("{} {} SIP/2.0\r\n", self.method, self.uri);
        serialise(start, &self.headers, &self.body)
    }
}

impl Response {
    /// A response with no headers and no body.
    pub fn new(status: u16, reason: impl Into<String>) -> Response {
        Response { status, reason: reason.into(), headers: Headers::new(), body: Vec::new() }
    }

    /// Serialises the response. Any stored `Content-Length` is dropped and a correct one is written last.
    /// Refuses a reason phrase or header that would break the message (see [`SerialiseError`]).
    pub fn to_bytes(&self) -> Result<Vec<u8>, SerialiseError> {
        if !is_header_text(&self.reason) {
            return Err(SerialiseError::Reason);
        }
        let start = format!("SIP/2.0 {} {}\r\n", self.status, self.reason);
        serialise(start, &self.headers, &self.body)
    }
}

fn serialise(start: String, headers: &Headers, body: &[u8]) -> Result<Vec<u8>, SerialiseError> {
    let mut out = start.into_bytes();
    for h in headers.iter().filter(|h| !h.name.eq_ignore_ascii_case("Content-Length")) {
        if !is_token(&h.name) {
            return Err(SerialiseError::HeaderName);
        }
        if !is_header_text(&h.value) {
            return Err(SerialiseError::HeaderValue(h.name.clone()));
        }
        out.extend_from_slice(h.name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(h.value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
    out.extend_from_slice(body);
    Ok(out)
}

/// The usual reason phrase for a status code (empty for unknown codes).
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Trying",
        180 => "Ringing",
        183 => "Session Progress",
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        484 => "Address Incomplete",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        500 => "Server Internal Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        600 => "Busy Everywhere",
        603 => "Decline",
        604 => "Does Not Exist Anywhere",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invite() -> Request {
        let mut req = Request::new(Method::Invite, "sip:+2348000000001@127.0.0.1:5060");
        req.headers.push("From", "<sip:+2341000000000@127.0.0.1>;tag=a1");
        req.headers.push("Call-ID", "c1@voicebot");
        req
    }

    #[test]
    fn serialises_the_exact_bytes() {
        let mut req = invite();
        req.body = b"v=0\r\n".to_vec();
        assert_eq!(
            req.to_bytes().expect("serialise"),
            b"INVITE sip:+2348000000001@127.0.0.1:5060 SIP/2.0\r\nFrom: <sip:+2341000000000@127.0.0.1>;tag=a1\r\n\
              Call-ID: c1@voicebot\r\nContent-Length: 5\r\n\r\nv=0\r\n"
                .to_vec()
        );
    }

    /// A value that would add a header (CR/LF), cut the message (NUL) or rewrite the start line is refused,
    /// not stripped.
    #[test]
    fn refuses_cr_lf_and_nul_wherever_they_would_land() {
        for bad in ["+234\r\nP-Asserted-Identity: <sip:evil>", "x\ry", "x\ny", "x\0y"] {
            let mut req = invite();
            req.headers.push("X-Caller", bad);
            assert_eq!(req.to_bytes(), Err(SerialiseError::HeaderValue("X-Caller".into())), "{bad:?}");
            let mut resp = Response::new(200, "OK");
            resp.headers.push("To", format!("<sip:a@b>;tag={bad}"));
            assert_eq!(resp.to_bytes(), Err(SerialiseError::HeaderValue("To".into())), "{bad:?}");
            assert_eq!(Response::new(200, bad).to_bytes(), Err(SerialiseError::Reason), "{bad:?}");
        }
        for uri in ["sip:a@b SIP/2.0\r\nVia: x", "sip:a@b\0", "", "sip:a b@c", "sip:a@b>"] {
            assert_eq!(Request::new(Method::Bye, uri).to_bytes(), Err(SerialiseError::Uri), "{uri:?}");
        }
        let mut req = invite();
        req.headers.push("X-Evil: 1\r\nVia", "v");
        assert_eq!(req.to_bytes(), Err(SerialiseError::HeaderName));
        let req = Request::new(Method::Other("BYE sip:x SIP/2.0\r\n".into()), "sip:a@b");
        assert_eq!(req.to_bytes(), Err(SerialiseError::Method));
    }
}
