//! The virtual phone's script (CONTRACT.md §8): a default behaviour and per-number overrides, read from
//! JSON, resolved into a [`Plan`] when an INVITE arrives. A per-number entry overrides only the fields it
//! names; `"press": null` explicitly presses nothing.

use std::collections::HashMap;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};

use crate::error::TelephonyError;

/// How the phone presses keys.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DtmfMode {
    /// RFC 4733 telephone-events.
    #[default]
    Rfc4733,
    /// Dual tones in the audio.
    Inband,
}

/// One behaviour; every field optional so per-number entries can override a few.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Behaviour {
    /// Ring this long before answering (or rejecting).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_after_ms: Option<u64>,
    /// Keys to press after the answer; `Some(None)` (JSON `null`) presses nothing.
    #[serde(default, deserialize_with = "some_or_null", skip_serializing_if = "Option::is_none")]
    pub press: Option<Option<String>>,
    /// When to press, after the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub press_after_ms: Option<u64>,
    /// RFC 4733 or in-band.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dtmf: Option<DtmfMode>,
    /// Reject with this final status instead of answering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reject: Option<u16>,
    /// Ring until the caller gives up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ring_forever: Option<bool>,
    /// Hang up this long after the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hangup_after_ms: Option<u64>,
}

fn some_or_null<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

impl Behaviour {
    /// `self` with the fields `over` sets replaced.
    fn overlay(&self, over: &Behaviour) -> Behaviour {
        Behaviour {
            answer_after_ms: over.answer_after_ms.or(self.answer_after_ms),
            press: over.press.clone().or_else(|| self.press.clone()),
            press_after_ms: over.press_after_ms.or(self.press_after_ms),
            dtmf: over.dtmf.or(self.dtmf),
            reject: over.reject.or(self.reject),
            ring_forever: over.ring_forever.or(self.ring_forever),
            hangup_after_ms: over.hangup_after_ms.or(self.hangup_after_ms),
        }
    }
}

/// The whole script.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Script {
    /// Behaviour for numbers not listed.
    #[serde(default)]
    pub default: Behaviour,
    /// Per dialed number (E.164, as in the Request-URI user part).
    #[serde(default)]
    pub numbers: HashMap<String, Behaviour>,
}

impl Script {
    /// Parses the JSON script.
    pub fn from_json(json: &str) -> Result<Script, TelephonyError> {
        Ok(serde_json::from_str(json)?)
    }

    /// The plan for a call to `number`.
    pub fn plan_for(&self, number: &str) -> Plan {
        let b = match self.numbers.get(number) {
            Some(over) => self.default.overlay(over),
            None => self.default.clone(),
        };
        Plan {
            answer_after: Duration::from_millis(b.answer_after_ms.unwrap_or(500)),
            press: b.press.flatten().filter(|p| !p.is_empty()),
            press_after: Duration::from_millis(b.press_after_ms.unwrap_or(1500)),
            dtmf: b.dtmf.unwrap_or_default(),
            reject: b.reject.filter(|c| (300..=699).contains(c)),
            ring_forever: b.ring_forever.unwrap_or(false),
            hangup_after: b.hangup_after_ms.map(Duration::from_millis),
        }
    }
}

/// A resolved behaviour (defaults: answer after 500 ms, press nothing, press delay 1.5 s, RFC 4733).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Delay before answering or rejecting.
    pub answer_after: Duration,
    /// Keys to press.
    pub press: Option<String>,
    /// Delay after the answer before pressing.
    pub press_after: Duration,
    /// How to press.
    pub dtmf: DtmfMode,
    /// Final status to reject with.
    pub reject: Option<u16>,
    /// Never answer.
    pub ring_forever: bool,
    /// Hang up after the answer.
    pub hangup_after: Option<Duration>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_example_resolves() {
        let s = Script::from_json(
            r#"{"default": {"answer_after_ms": 500, "press": "1", "press_after_ms": 1500, "dtmf": "rfc4733"},
                "numbers": {"+2348000000002": {"reject": 486}, "+2348000000003": {"ring_forever": true},
                            "+2348000000004": {"answer_after_ms": 300, "press": null, "hangup_after_ms": 20000},
                            "+2348000000005": {"press": "2", "dtmf": "inband"}}}"#,
        )
        .expect("valid script");
        assert_eq!(s.plan_for("+1").press.as_deref(), Some("1"));
        assert_eq!(s.plan_for("+2348000000002").reject, Some(486));
        assert!(s.plan_for("+2348000000003").ring_forever);
        let p4 = s.plan_for("+2348000000004");
        assert_eq!((p4.press, p4.answer_after), (None, Duration::from_millis(300)));
        assert_eq!(p4.hangup_after, Some(Duration::from_secs(20)));
        let p5 = s.plan_for("+2348000000005");
        assert_eq!((p5.press.as_deref(), p5.dtmf), (Some("2"), DtmfMode::Inband));
        assert_eq!(p5.press_after, Duration::from_millis(1500));
    }
}
