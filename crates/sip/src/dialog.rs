//! Dialog state (RFC 3261 §12) shared by both engines: identifiers, route set, remote target, local CSeq —
//! the two things a dialog builds: in-dialog requests (ACK for 2xx, BYE) and responses to requests — and
//! who may speak in it.
//!
//! Where to send in-dialog requests is decided sans-IO: the first Route if it is an IP literal, else the
//! remote target (Contact) if it is an IP literal, else the `fallback` address the engine was given (the
//! trunk for the UAC, the INVITE's source for the UAS). No DNS happens here.
//!
//! Who may speak: a request belongs to the dialog only with its tags (To = ours, From = the peer's,
//! [`Dialog::matches`]) and only from the dialog's peer — the `fallback` address or where in-dialog requests
//! go ([`Dialog::is_peer`]). Knowing a Call-ID (it is in every message, and in logs) is not enough to move
//! a call's media with a re-INVITE or to end it with a BYE.

use std::net::{IpAddr, SocketAddr};

use crate::header::{NameAddr, SipUri};
use crate::message::{Headers, Method, Request, Response, SerialiseError, reason_phrase};
use crate::transaction::{Transmit, new_branch, via_value};

/// An established (confirmed) dialog.
#[derive(Debug, Clone)]
pub struct Dialog {
    /// Call-ID.
    pub call_id: String,
    /// Our side's header value (with our tag): From in our requests.
    pub local: String,
    /// The peer's header value (with its tag): To in our requests.
    pub remote: String,
    /// Request-URI for in-dialog requests (the peer's Contact).
    pub remote_target: String,
    /// Route header values, in the order to send them.
    pub route_set: Vec<String>,
    /// Our address (Via, Contact).
    pub local_addr: SocketAddr,
    /// Where to send when neither route nor target is an IP literal.
    pub fallback: SocketAddr,
    /// User-Agent value.
    pub user_agent: String,
}

impl Dialog {
    /// Builds an in-dialog request with a fresh branch; returns it with its branch.
    pub fn request(&self, method: Method, cseq: u32) -> (Request, String) {
        let branch = new_branch();
        let mut req = Request::new(method.clone(), self.remote_target.clone());
        let h = &mut req.headers;
        h.push("Via", via_value(self.local_addr, &branch));
        h.push("Max-Forwards", "70");
        h.push("From", self.local.clone());
        h.push("To", self.remote.clone());
        h.push("Call-ID", self.call_id.clone());
        h.push("CSeq", format!("{cseq} {method}"));
        for r in &self.route_set {
            h.push("Route", r.clone());
        }
        h.push("User-Agent", self.user_agent.clone());
        (req, branch)
    }

    /// Where in-dialog requests go (see the module doc).
    pub fn destination(&self) -> SocketAddr {
        let route = self.route_set.first().and_then(|r| NameAddr::parse(r));
        let route_addr = route.and_then(|r| SipUri::parse(&r.uri)).and_then(|u| u.socket_addr());
        let target = SipUri::parse(&self.remote_target).and_then(|u| u.socket_addr());
        route_addr.or(target).unwrap_or(self.fallback)
    }

    /// Serialises `req` as a transmit to [`Dialog::destination`]; refused when a value of the dialog (the
    /// peer's tag, Contact or Record-Route) would break the message.
    pub fn transmit(&self, req: &Request) -> Result<Transmit, SerialiseError> {
        Ok(Transmit { destination: self.destination(), payload: req.to_bytes()? })
    }

    /// Checks that this dialog's requests can be sent: its values (the peer's tag, Contact, Record-Route)
    /// would not break a message.
    pub fn check(&self) -> Result<(), SerialiseError> {
        self.request(Method::Bye, 1).0.to_bytes().map(drop)
    }

    /// True when `req` carries this dialog's tags: To holds our tag, From the peer's (RFC 3261 §12.2.2).
    pub fn matches(&self, req: &Request) -> bool {
        let tag = |value: Option<&str>| value.and_then(NameAddr::parse).map(|n| n.tag().map(str::to_string));
        let ours = tag(Some(&self.local));
        let theirs = tag(Some(&self.remote));
        ours.as_ref().is_some_and(|t| t.is_some())
            && tag(req.headers.get("To")) == ours
            && tag(req.headers.get("From")) == theirs
    }

    /// True when `from` is the dialog's peer: the address the dialog was set up with (`fallback`: the
    /// trunk, or the INVITE's source) or where its in-dialog requests go.
    pub fn is_peer(&self, from: SocketAddr) -> bool {
        same_addr(from, self.fallback) || same_addr(from, self.destination())
    }
}

/// Two socket addresses are the same peer (an IPv4-mapped IPv6 address equals its IPv4 address).
pub fn same_addr(a: SocketAddr, b: SocketAddr) -> bool {
    let ip = |a: SocketAddr| match a.ip() {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    a.port() == b.port() && ip(a) == ip(b)
}

/// Splits a header value that may list several entries (Record-Route) into its entries.
pub fn route_entries<'a>(values: impl Iterator<Item = &'a str>) -> Vec<String> {
    values.flat_map(crate::header::split_list).map(str::to_string).collect()
}

/// Builds a response to `req` (RFC 3261 §8.2.6): copies Via, From, Call-ID, CSeq, and To — adding `to_tag`
/// when To has none. The caller adds Contact and a body where needed.
pub fn response_to(req: &Request, status: u16, to_tag: Option<&str>, user_agent: &str) -> Response {
    let mut resp = Response::new(status, reason_phrase(status));
    let mut h = Headers::new();
    for via in req.headers.get_all("Via") {
        h.push("Via", via);
    }
    copy(&req.headers, &mut h, "From");
    let to = req.headers.get("To").unwrap_or_default();
    let has_tag = NameAddr::parse(to).is_some_and(|n| n.tag().is_some());
    match to_tag {
        Some(tag) if !has_tag && status != 100 => h.push("To", format!("{to};tag={tag}")),
        _ => h.push("To", to),
    }
    copy(&req.headers, &mut h, "Call-ID");
    copy(&req.headers, &mut h, "CSeq");
    if (200..300).contains(&status) && req.method == Method::Invite {
        for rr in req.headers.get_all("Record-Route") {
            h.push("Record-Route", rr);
        }
    }
    h.push("Server", user_agent);
    resp.headers = h;
    resp
}

fn copy(from: &Headers, to: &mut Headers, name: &str) {
    if let Some(v) = from.get(name) {
        to.push(name, v);
    }
}
