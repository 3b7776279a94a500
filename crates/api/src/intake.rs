//! Intake validation for `POST /voicebot/v1/call` (CONTRACT.md §4): all-or-nothing, every
//! bad row listed with its field path. Wrong JSON types make it a 400, anything else 422.
//!
//! Split in two so the handler can load the workflow in between: [`parse_request`] checks
//! what the body alone can tell; [`check_rows`] checks rows against the workflow.

use std::collections::HashMap;

use axum::http::StatusCode;
use serde_json::{Map, Value};
use voicebot_workflow::{FieldError, MAX_MESSAGE_CHARS, Variables, Workflow, check_http_url};

use crate::{ApiConfig, ApiError, Voices, normalize_e164};

/// One recipient, checked.
#[derive(Debug, Clone)]
pub struct Recipient {
    /// Normalised E.164.
    pub phone_number: String,
    /// `user_tag_identifiers` as JSON text (`{}` when absent).
    pub tags: String,
    /// `workflow_variables` as text.
    pub variables: Variables,
}

/// A request body that passed the checks the body alone allows.
#[derive(Debug, Clone)]
pub struct BatchRequest {
    /// Workflow named.
    pub workflow_id: String,
    /// Accent, lower case.
    pub accent: String,
    /// `male` or `female`.
    pub gender: String,
    /// Recipients in request order.
    pub recipients: Vec<Recipient>,
    /// Extension: batch callback URL.
    pub callback_url: Option<String>,
    /// Extension: caller id.
    pub caller_id: Option<String>,
    /// Extension: earliest dial time (Unix µs).
    pub not_before: Option<i64>,
    /// Extension: latest dial time (Unix µs).
    pub not_after: Option<i64>,
    /// Extension: attempts per call.
    pub max_attempts: Option<u32>,
    /// Extension: retry delay.
    pub backoff_seconds: Option<u32>,
}

/// Field errors plus whether any was a type error.
#[derive(Default)]
pub struct Problems {
    /// Every problem found.
    pub errors: Vec<FieldError>,
    /// A field had the wrong JSON type.
    pub wrong_type: bool,
}

impl Problems {
    fn invalid(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, message));
    }

    fn wrong_type(&mut self, field: impl Into<String>, expected: &str) {
        self.wrong_type = true;
        self.invalid(field, format!("must be {expected}"));
    }

    /// The response for these problems, or `None` if there are none.
    pub fn into_error(self) -> Option<ApiError> {
        if self.errors.is_empty() {
            return None;
        }
        let (status, message) = if self.wrong_type {
            (StatusCode::BAD_REQUEST, "malformed request")
        } else {
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid request")
        };
        let n = self.errors.len();
        let message = format!("{message}: {n} problem{}", if n == 1 { "" } else { "s" });
        Some(ApiError::with_errors(status, message, self.errors))
    }
}

fn opt_string(p: &mut Problems, obj: &Map<String, Value>, key: &str) -> Option<String> {
    match obj.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            p.wrong_type(key, "a string");
            None
        }
    }
}

fn rfc3339(p: &mut Problems, field: &str, v: Option<&Value>) -> Option<i64> {
    match v {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => match chrono::DateTime::parse_from_rfc3339(s) {
            Ok(t) => Some(t.timestamp_micros()),
            Err(_) => {
                p.invalid(field, "must be an RFC 3339 time like 2026-01-31T09:00:00+01:00");
                None
            }
        },
        Some(_) => {
            p.wrong_type(field, "an RFC 3339 string");
            None
        }
    }
}

fn bounded(p: &mut Problems, field: &str, v: Option<&Value>, lo: u64, hi: u64) -> Option<u32> {
    match v {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => match n.as_u64().filter(|x| (lo..=hi).contains(x)) {
            Some(x) => Some(x as u32),
            None => {
                p.invalid(field, format!("must be an integer from {lo} to {hi}"));
                None
            }
        },
        Some(_) => {
            p.wrong_type(field, "an integer");
            None
        }
    }
}

/// Checks the body on its own: shape, types, limits, voice, phones, duplicates.
pub fn parse_request(body: &Value, cfg: &ApiConfig, voices: &Voices) -> Result<BatchRequest, ApiError> {
    let Some(obj) = body.as_object() else {
        return Err(ApiError::bad_request("request body must be a JSON object"));
    };
    let mut p = Problems::default();
    let workflow_id = opt_string(&mut p, obj, "workflow_id");
    if workflow_id.as_deref().is_none_or(|w| w.trim().is_empty()) && !p.wrong_type {
        p.invalid("workflow_id", "is required");
    }
    let accent = opt_string(&mut p, obj, "tts_voice_accent").unwrap_or_else(|| cfg.default_accent.clone());
    let accent = accent.trim().to_ascii_lowercase();
    let gender = opt_string(&mut p, obj, "tts_voice_gender").unwrap_or_else(|| cfg.default_gender.clone());
    let gender = gender.trim().to_ascii_lowercase();
    match voices.find(&accent) {
        None => p.invalid(
            "tts_voice_accent",
            format!("unknown accent '{accent}'; one of: {}", voices.names().join(", ")),
        ),
        Some(v) if !v.genders.contains(&gender) => {
            p.invalid("tts_voice_gender", format!("must be one of: {}", v.genders.join(", ")))
        }
        Some(_) => {}
    }
    let callback_url = opt_string(&mut p, obj, "callback_url");
    if let Some(url) = &callback_url
        && let Err(why) = check_http_url(url)
    {
        p.invalid("callback_url", why);
    }
    if let Some(url) = &callback_url
        && check_http_url(url).is_ok()
        && let Err(why) = voicebot_callback::check_url(url, cfg.allow_private_callbacks)
    {
        p.invalid("callback_url", why.to_string());
    }
    let caller_id = opt_string(&mut p, obj, "caller_id");
    let (mut not_before, mut not_after) = (None, None);
    match obj.get("schedule") {
        None | Some(Value::Null) => {}
        Some(Value::Object(s)) => {
            not_before = rfc3339(&mut p, "schedule.not_before", s.get("not_before"));
            not_after = rfc3339(&mut p, "schedule.not_after", s.get("not_after"));
            if let (Some(a), Some(b)) = (not_before, not_after)
                && b <= a
            {
                p.invalid("schedule.not_after", "must be after not_before");
            }
        }
        Some(_) => p.wrong_type("schedule", "an object"),
    }
    let (mut max_attempts, mut backoff_seconds) = (None, None);
    match obj.get("retry") {
        None | Some(Value::Null) => {}
        Some(Value::Object(r)) => {
            max_attempts = bounded(&mut p, "retry.max_attempts", r.get("max_attempts"), 1, 10);
            backoff_seconds = bounded(&mut p, "retry.backoff_seconds", r.get("backoff_seconds"), 0, 86_400);
        }
        Some(_) => p.wrong_type("retry", "an object"),
    }
    let recipients = match obj.get("workflow_params") {
        None | Some(Value::Null) => {
            p.invalid("workflow_params", "is required: an array of recipients");
            vec![]
        }
        Some(Value::Array(rows)) if rows.is_empty() => {
            p.invalid("workflow_params", "must list at least one recipient");
            vec![]
        }
        Some(Value::Array(rows)) if rows.len() > cfg.max_recipients => {
            let msg = format!("has {} recipients; at most {} per request", rows.len(), cfg.max_recipients);
            return Err(ApiError::unprocessable("workflow_params", msg));
        }
        Some(Value::Array(rows)) => parse_rows(&mut p, rows),
        Some(_) => {
            p.wrong_type("workflow_params", "an array");
            vec![]
        }
    };
    if let Some(e) = p.into_error() {
        return Err(e);
    }
    Ok(BatchRequest {
        workflow_id: workflow_id.unwrap_or_default(),
        accent,
        gender,
        recipients,
        callback_url,
        caller_id,
        not_before,
        not_after,
        max_attempts,
        backoff_seconds,
    })
}

fn parse_rows(p: &mut Problems, rows: &[Value]) -> Vec<Recipient> {
    let mut seen: HashMap<String, usize> = HashMap::with_capacity(rows.len());
    let mut out = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        let path = format!("workflow_params[{i}]");
        let Some(obj) = row.as_object() else {
            p.wrong_type(path, "an object");
            continue;
        };
        let phone = match obj.get("phone_number") {
            None | Some(Value::Null) => {
                p.invalid(format!("{path}.phone_number"), "is required");
                None
            }
            Some(Value::String(s)) => match normalize_e164(s) {
                Ok(n) => Some(n),
                Err(why) => {
                    p.invalid(format!("{path}.phone_number"), why);
                    None
                }
            },
            Some(_) => {
                p.wrong_type(format!("{path}.phone_number"), "a string");
                None
            }
        };
        if let Some(n) = &phone
            && let Some(first) = seen.insert(n.clone(), i)
        {
            seen.insert(n.clone(), first);
            p.invalid(format!("{path}.phone_number"), format!("duplicate of workflow_params[{first}]"));
        }
        let tags = match obj.get("user_tag_identifiers") {
            None | Some(Value::Null) => "{}".to_string(),
            Some(v @ Value::Object(_)) => v.to_string(),
            Some(_) => {
                p.wrong_type(format!("{path}.user_tag_identifiers"), "an object");
                String::new()
            }
        };
        let mut variables = Variables::new();
        match obj.get("workflow_variables") {
            None | Some(Value::Null) => {}
            Some(Value::Object(vars)) => {
                for (k, v) in vars {
                    match v {
                        Value::String(s) => variables.insert(k.clone(), s.clone()),
                        Value::Number(n) => variables.insert(k.clone(), n.to_string()),
                        Value::Bool(b) => variables.insert(k.clone(), b.to_string()),
                        _ => {
                            p.wrong_type(format!("{path}.workflow_variables.{k}"), "a string or number");
                            None
                        }
                    };
                }
            }
            Some(_) => p.wrong_type(format!("{path}.workflow_variables"), "an object"),
        }
        if let Some(phone_number) = phone {
            out.push(Recipient { phone_number, tags, variables });
        }
    }
    out
}

/// Checks every recipient against the workflow: variables present, prompts not too long.
pub fn check_rows(req: &BatchRequest, workflow: &Workflow) -> Vec<FieldError> {
    let templates = workflow.templates();
    let needed = workflow.variables();
    let mut errors = Vec::new();
    for (i, r) in req.recipients.iter().enumerate() {
        for name in needed.iter().filter(|n| !r.variables.contains_key(*n)) {
            errors.push(FieldError::new(
                format!("workflow_params[{i}].workflow_variables.{name}"),
                format!("missing variable '{name}' used by the workflow"),
            ));
        }
        if templates.iter().any(|t| t.rendered_len(&r.variables) > MAX_MESSAGE_CHARS) {
            errors.push(FieldError::new(
                format!("workflow_params[{i}].workflow_variables"),
                format!("a prompt would be longer than {MAX_MESSAGE_CHARS} characters"),
            ));
        }
    }
    errors
}
