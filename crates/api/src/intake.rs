//! Intake validation for `POST /voicebot/v1/call` (CONTRACT.md §4): all-or-nothing, every
//! bad row listed with its field path. Wrong JSON types make it a 400, anything else 422.
//!
//! Split in two so the handler can load the workflow in between: [`parse_request`] checks
//! what the body alone can tell; [`check_rows`] checks rows against the workflow. A body with a
//! wrong type is refused at once (400); every other problem is collected so one 422 lists them
//! all, every row's with its row (a bad number does not hide the same row's empty variable).

use std::collections::HashMap;

use axum::http::StatusCode;
use serde_json::{Map, Value};
use voicebot_workflow::{FieldError, MAX_MESSAGE_CHARS, Variables, Workflow, check_http_url};

use crate::{ApiConfig, ApiError, Voices, normalize_phone};

/// One recipient, checked.
#[derive(Debug, Clone)]
pub struct Recipient {
    /// Index in `workflow_params`.
    pub row: usize,
    /// Normalised E.164; empty when the number was refused (listed in [`BatchRequest::problems`]).
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
    /// Extension: a label for the batch, shown on dashboards.
    pub name: Option<String>,
    /// Problems found so far (422s); the request may be stored only when there are none.
    pub problems: Vec<FieldError>,
}

/// Longest batch label, in characters.
pub const MAX_BATCH_NAME_CHARS: usize = 200;

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
    fn into_error(self) -> Option<ApiError> {
        if self.errors.is_empty() {
            return None;
        }
        if !self.wrong_type {
            return Some(invalid_request(self.errors));
        }
        let n = self.errors.len();
        let message = format!("malformed request: {n} problem{}", if n == 1 { "" } else { "s" });
        Some(ApiError::with_errors(StatusCode::BAD_REQUEST, message, self.errors))
    }
}

/// The 422 listing every problem of a request: the body's own first, then row by row in request
/// order (a row's number before its variables).
pub fn invalid_request(mut errors: Vec<FieldError>) -> ApiError {
    let row = |e: &FieldError| {
        e.field
            .strip_prefix("workflow_params[")
            .and_then(|r| r.split(']').next())
            .and_then(|n| n.parse::<usize>().ok())
    };
    errors.sort_by_key(|e| row(e).map_or(0, |n| n + 1));
    let n = errors.len();
    let message = format!("invalid request: {n} problem{}", if n == 1 { "" } else { "s" });
    ApiError::with_errors(StatusCode::UNPROCESSABLE_ENTITY, message, errors)
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

/// Checks the body on its own: shape, types, limits, voice, phones (local ones read in
/// `default_country`, the integrator's setting), duplicates.
pub fn parse_request(
    body: &Value,
    cfg: &ApiConfig,
    voices: &Voices,
    default_country: Option<&str>,
) -> Result<BatchRequest, ApiError> {
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
    let name = opt_string(&mut p, obj, "name").map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
    if name.as_ref().is_some_and(|n| n.chars().count() > MAX_BATCH_NAME_CHARS) {
        p.invalid("name", format!("at most {MAX_BATCH_NAME_CHARS} characters"));
    }
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
        Some(Value::Array(rows)) => parse_rows(&mut p, rows, default_country),
        Some(_) => {
            p.wrong_type("workflow_params", "an array");
            vec![]
        }
    };
    if p.wrong_type {
        return Err(p.into_error().unwrap_or_else(|| ApiError::bad_request("malformed request")));
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
        name,
        problems: p.errors,
    })
}

fn parse_rows(p: &mut Problems, rows: &[Value], default_country: Option<&str>) -> Vec<Recipient> {
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
            Some(Value::String(s)) => match normalize_phone(s, default_country) {
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
        out.push(Recipient { row: i, phone_number: phone.unwrap_or_default(), tags, variables });
    }
    out
}

/// Checks every recipient against the workflow: variables present and not blank (a patient must
/// never hear "Hello , your appointment…"), prompts not too long.
pub fn check_rows(req: &BatchRequest, workflow: &Workflow) -> Vec<FieldError> {
    let templates = workflow.templates();
    let needed = workflow.variables();
    let mut errors = Vec::new();
    for r in &req.recipients {
        let i = r.row;
        for name in &needed {
            let message = match r.variables.get(name) {
                None => format!("missing variable '{name}' used by the workflow"),
                Some(v) if v.trim().is_empty() => format!("variable '{name}' used by the workflow is empty"),
                Some(_) => continue,
            };
            errors.push(FieldError::new(format!("workflow_params[{i}].workflow_variables.{name}"), message));
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
