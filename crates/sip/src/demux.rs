//! Demultiplexing help for drivers: which call leg does a datagram belong to?
//!
//! A driver holds many legs behind one UDP socket, keyed by Call-ID. [`peek`] parses a datagram once and
//! returns its Call-ID, whether it is a request (and which method) or a response, so the driver can route it
//! — or create a new [`crate::InboundCall`] for an unknown INVITE. [`stateless_response`] answers a stray
//! request (e.g. `481` for a BYE of a forgotten call) without any leg.

use crate::dialog::response_to;
use crate::message::{Message, Method};
use crate::parse::{ParseError, parse};

/// What [`peek`] tells about a datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peek {
    /// The Call-ID header value.
    pub call_id: String,
    /// `Some(method)` for a request, `None` for a response.
    pub request: Option<Method>,
    /// The status code for a response.
    pub status: Option<u16>,
}

/// Parses `datagram` just enough to route it.
pub fn peek(datagram: &[u8]) -> Result<Peek, ParseError> {
    let msg = parse(datagram)?;
    let call_id = msg.headers().get("Call-ID").unwrap_or_default().to_string();
    Ok(match msg {
        Message::Request(r) => Peek { call_id, request: Some(r.method), status: None },
        Message::Response(r) => Peek { call_id, request: None, status: Some(r.status) },
    })
}

/// A response with `status` to a request that no leg owns; `None` for responses, ACKs, unparseable bytes and
/// requests whose headers cannot be echoed safely (the sender is then best ignored).
pub fn stateless_response(datagram: &[u8], status: u16, user_agent: &str) -> Option<Vec<u8>> {
    match parse(datagram).ok()? {
        Message::Request(r) if r.method != Method::Ack => {
            response_to(&r, status, Some("stateless"), user_agent).to_bytes().ok()
        }
        _ => None,
    }
}
