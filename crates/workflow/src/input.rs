//! Reads a workflow from either input shape (CONTRACT.md §3), collecting every problem
//! with its field path instead of stopping at the first, so an integrator fixes all at once.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::model::{Gather, Step, Workflow, WorkflowKind, WorkflowStatus};

/// One problem with one field of a request, in the API's error envelope form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// Path like `steps[2].gather.options`.
    pub field: String,
    /// What is wrong, one line.
    pub message: String,
}

impl FieldError {
    /// Builds a field error.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError { field: field.into(), message: message.into() }
    }
}

/// Why a workflow was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct WorkflowError {
    /// One-line summary.
    pub message: String,
    /// Every field problem found.
    pub errors: Vec<FieldError>,
    /// True when some field had the wrong JSON type (HTTP 400 rather than 422).
    pub wrong_type: bool,
}

const DIGITS: &str = "0123456789*#";
const DEFAULT_GATHER_TIMEOUT: u32 = 6;
const DEFAULT_GATHER_ATTEMPTS: u32 = 2;

/// Collects field errors while reading a JSON object.
#[derive(Default)]
struct Checker {
    errors: Vec<FieldError>,
    wrong_type: bool,
}

impl Checker {
    fn invalid(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, message));
    }

    fn wrong_type(&mut self, field: impl Into<String>, expected: &str) {
        self.wrong_type = true;
        self.invalid(field, format!("must be {expected}"));
    }

    /// An optional string field; `null` counts as absent.
    fn opt_str(&mut self, obj: &Map<String, Value>, key: &str, path: &str) -> Option<String> {
        match obj.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                self.wrong_type(path, "a string");
                None
            }
        }
    }

    fn required_str(&mut self, obj: &Map<String, Value>, key: &str, path: &str) -> Option<String> {
        let v = self.opt_str(obj, key, path);
        match &v {
            Some(s) if s.trim().is_empty() => {
                self.invalid(path, "must not be empty");
                None
            }
            None if !obj.contains_key(key) || obj.get(key) == Some(&Value::Null) => {
                self.invalid(path, "is required");
                None
            }
            _ => v,
        }
    }

    fn opt_bool(&mut self, obj: &Map<String, Value>, key: &str) -> Option<bool> {
        match obj.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                self.wrong_type(key, "true or false");
                None
            }
        }
    }

    fn opt_u32(&mut self, obj: &Map<String, Value>, key: &str, path: &str, range: (u32, u32)) -> Option<u32> {
        match obj.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => match n.as_u64() {
                Some(v) if (range.0 as u64..=range.1 as u64).contains(&v) => Some(v as u32),
                _ => {
                    self.invalid(path, format!("must be an integer from {} to {}", range.0, range.1));
                    None
                }
            },
            Some(_) => {
                self.wrong_type(path, "an integer");
                None
            }
        }
    }
}

fn is_digit_key(k: &str) -> bool {
    k.len() == 1 && DIGITS.contains(k)
}

/// Checks that `url` is an absolute http(s) URL. Address policy (private targets) is the
/// callback crate's job; this only rejects what can never be delivered to.
pub fn check_http_url(url: &str) -> Result<(), &'static str> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or("must be an http:// or https:// URL")?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err("must name a host");
    }
    Ok(())
}

/// Reads a workflow from a request body in either shape.
pub fn parse_workflow(body: &Value) -> Result<Workflow, WorkflowError> {
    let Some(obj) = body.as_object() else {
        return Err(WorkflowError {
            message: "request body must be a JSON object".into(),
            errors: vec![],
            wrong_type: true,
        });
    };
    let mut c = Checker::default();
    if let Some(kind) = c.opt_str(obj, "workflow_type", "workflow_type") {
        match kind.to_ascii_uppercase().as_str() {
            "ROBOCALL" => {}
            "CONVERSATION" => c.invalid("workflow_type", "CONVERSATION workflows are not supported"),
            _ => c.invalid("workflow_type", "must be ROBOCALL"),
        }
    }
    let name = c.required_str(obj, "name", "name");
    let description = c.opt_str(obj, "description", "description");
    let status = match c.opt_str(obj, "status", "status").map(|s| s.to_ascii_uppercase()) {
        None => WorkflowStatus::Active,
        Some(s) if s == "ACTIVE" => WorkflowStatus::Active,
        Some(s) if s == "INACTIVE" => WorkflowStatus::Inactive,
        Some(_) => {
            c.invalid("status", "must be ACTIVE or INACTIVE");
            WorkflowStatus::Active
        }
    };
    let call_back_url = c.opt_str(obj, "call_back_url", "call_back_url");
    if let Some(url) = &call_back_url
        && let Err(why) = check_http_url(url)
    {
        c.invalid("call_back_url", why);
    }
    let opt_out_digit = c.opt_str(obj, "opt_out_digit", "opt_out_digit");
    if let Some(d) = &opt_out_digit
        && !is_digit_key(d)
    {
        c.invalid("opt_out_digit", "must be one keypad digit (0-9, * or #)");
    }

    let has_steps = obj.contains_key("steps");
    let has_message = obj.contains_key("message");
    let mut wf = Workflow {
        name: name.unwrap_or_default(),
        description,
        kind: if has_steps { WorkflowKind::Steps } else { WorkflowKind::Robocall },
        status,
        call_back_url,
        opt_out_digit,
        steps: vec![],
        message: None,
        include_reply: None,
        response_options: None,
    };
    match (has_steps, has_message) {
        (true, true) => c.invalid("steps", "give either `message` or `steps`, not both"),
        (false, false) => c.invalid("message", "is required (or give `steps`)"),
        (true, false) => wf.steps = read_steps(&mut c, obj.get("steps")),
        (false, true) => read_message_shape(&mut c, obj, &mut wf),
    }
    if let Some(d) = &wf.opt_out_digit
        && wf.steps.iter().any(|s| matches!(s, Step::Gather(g) if g.options.contains_key(d)))
    {
        c.invalid("opt_out_digit", "is also a gather option");
    }
    if c.errors.is_empty() {
        return Ok(wf);
    }
    Err(WorkflowError {
        message: if c.wrong_type { "malformed workflow".into() } else { "invalid workflow".into() },
        errors: c.errors,
        wrong_type: c.wrong_type,
    })
}

/// The hosted product's shape: `message`, `include_reply`, `response_options` or
/// `option_one`/`option_two`.
fn read_message_shape(c: &mut Checker, obj: &Map<String, Value>, wf: &mut Workflow) {
    let message = c.required_str(obj, "message", "message");
    let mut options: BTreeMap<String, String> = BTreeMap::new();
    match obj.get("response_options") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (k, v) in map {
                let path = format!("response_options.{k}");
                match v {
                    Value::String(text) if is_digit_key(k) => {
                        options.insert(k.clone(), text.clone());
                    }
                    Value::String(_) => c.invalid(path, "option keys must be one keypad digit"),
                    _ => c.wrong_type(path, "a string"),
                }
            }
        }
        Some(_) => c.wrong_type("response_options", "an object of digit → text"),
    }
    for (key, digit) in [("option_one", "1"), ("option_two", "2")] {
        if let Some(text) = c.opt_str(obj, key, key) {
            options.entry(digit.to_string()).or_insert(text);
        }
    }
    let include_reply = c.opt_bool(obj, "include_reply");
    let asks = include_reply.unwrap_or(!options.is_empty());
    if asks && options.is_empty() {
        c.invalid("response_options", "is required when include_reply is true");
    }
    let Some(message) = message else { return };
    wf.steps.push(Step::Say(message.clone()));
    if asks && !options.is_empty() {
        let prompt = options.values().cloned().collect::<Vec<_>>().join(". ");
        wf.steps.push(Step::Gather(Gather {
            prompt,
            options: options.clone(),
            timeout_seconds: DEFAULT_GATHER_TIMEOUT,
            attempts: DEFAULT_GATHER_ATTEMPTS,
            next: BTreeMap::new(),
        }));
        wf.steps.push(Step::Say("Thank you for your response. Goodbye.".into()));
    }
    wf.message = Some(message);
    wf.include_reply = Some(asks);
    wf.response_options = (!options.is_empty()).then_some(options);
}

fn read_steps(c: &mut Checker, steps: Option<&Value>) -> Vec<Step> {
    let Some(Value::Array(items)) = steps else {
        c.wrong_type("steps", "an array of steps");
        return vec![];
    };
    if items.is_empty() {
        c.invalid("steps", "must have at least one step");
    }
    if items.len() > 100 {
        c.invalid("steps", "must have at most 100 steps");
    }
    let steps: Vec<Option<Step>> =
        items.iter().enumerate().map(|(i, v)| read_step(c, &format!("steps[{i}]"), v)).collect();
    for (i, step) in steps.iter().enumerate() {
        if let Some(Step::Gather(g)) = step {
            for (digit, target) in &g.next {
                if *target >= items.len() {
                    c.invalid(format!("steps[{i}].gather.next.{digit}"), "names a step that does not exist");
                }
            }
        }
    }
    steps.into_iter().flatten().collect()
}

fn read_step(c: &mut Checker, path: &str, v: &Value) -> Option<Step> {
    let Some(obj) = v.as_object().filter(|o| o.len() == 1) else {
        c.wrong_type(path, "an object with one key: say, play, gather or hangup");
        return None;
    };
    let (kind, body) = obj.iter().next()?;
    let path = format!("{path}.{kind}");
    match (kind.as_str(), body) {
        ("say", Value::String(text)) if !text.trim().is_empty() => Some(Step::Say(text.clone())),
        ("say", Value::String(_)) => {
            c.invalid(path, "must not be empty");
            None
        }
        ("say", _) => {
            c.wrong_type(path, "a string");
            None
        }
        ("play", Value::String(id)) => Some(Step::Play([("default".to_string(), id.clone())].into())),
        ("play", Value::Object(map)) if !map.is_empty() => {
            let mut out = BTreeMap::new();
            for (accent, id) in map {
                match id.as_str() {
                    Some(id) => {
                        out.insert(accent.to_ascii_lowercase(), id.to_string());
                    }
                    None => c.wrong_type(format!("{path}.{accent}"), "an audio id"),
                }
            }
            Some(Step::Play(out))
        }
        ("play", _) => {
            c.wrong_type(path, "an audio id or an object of accent → audio id");
            None
        }
        ("gather", Value::Object(g)) => read_gather(c, &path, g).map(Step::Gather),
        ("gather", _) => {
            c.wrong_type(path, "an object");
            None
        }
        ("hangup", _) => Some(Step::Hangup(true)),
        _ => {
            c.invalid(path, "unknown step (say, play, gather or hangup)");
            None
        }
    }
}

fn read_gather(c: &mut Checker, path: &str, g: &Map<String, Value>) -> Option<Gather> {
    let prompt = c.required_str(g, "prompt", &format!("{path}.prompt"));
    let mut options = BTreeMap::new();
    match g.get("options") {
        Some(Value::Object(map)) if !map.is_empty() => {
            for (k, v) in map {
                let field = format!("{path}.options.{k}");
                match v.as_str() {
                    _ if !is_digit_key(k) => c.invalid(field, "option keys must be one keypad digit"),
                    Some(label) => {
                        options.insert(k.clone(), label.to_string());
                    }
                    None => c.wrong_type(field, "a string"),
                }
            }
        }
        Some(Value::Object(_)) | None => c.invalid(format!("{path}.options"), "must list at least one digit"),
        Some(_) => c.wrong_type(format!("{path}.options"), "an object of digit → meaning"),
    }
    let timeout_seconds = c
        .opt_u32(g, "timeout_seconds", &format!("{path}.timeout_seconds"), (1, 60))
        .unwrap_or(DEFAULT_GATHER_TIMEOUT);
    let attempts =
        c.opt_u32(g, "attempts", &format!("{path}.attempts"), (1, 5)).unwrap_or(DEFAULT_GATHER_ATTEMPTS);
    let mut next = BTreeMap::new();
    match g.get("next") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (k, v) in map {
                let field = format!("{path}.next.{k}");
                match v.as_u64() {
                    Some(i) if options.contains_key(k) => {
                        next.insert(k.clone(), i as usize);
                    }
                    Some(_) => c.invalid(field, "is not one of the options"),
                    None => c.wrong_type(field, "a step index"),
                }
            }
        }
        Some(_) => c.wrong_type(format!("{path}.next"), "an object of digit → step index"),
    }
    Some(Gather { prompt: prompt?, options, timeout_seconds, attempts, next })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hosted_shape_becomes_say_gather_say() {
        let wf = parse_workflow(&json!({
            "name": "Appointment reminder", "workflow_type": "ROBOCALL",
            "message": "Hello [name], your appointment is scheduled for [date] at [time].",
            "include_reply": true,
            "response_options": {"1": "Press 1 to confirm", "2": "Press 2 to reschedule"},
            "call_back_url": "https://example.org/hooks/voicebot"
        }))
        .unwrap();
        assert_eq!(wf.kind, WorkflowKind::Robocall);
        assert_eq!(wf.steps.len(), 3);
        assert_eq!(wf.variables(), vec!["name", "date", "time"]);
        assert_eq!(wf.result_gather(), Some(1));
        let Step::Gather(g) = &wf.steps[1] else { panic!() };
        assert_eq!(g.prompt, "Press 1 to confirm. Press 2 to reschedule");
    }

    #[test]
    fn older_option_fields_are_accepted() {
        let wf = parse_workflow(&json!({"name": "x", "message": "Hi", "include_reply": true,
            "option_one": "Press 1 for yes", "option_two": "Press 2 for no"}))
        .unwrap();
        assert_eq!(wf.response_options.unwrap().len(), 2);
    }

    #[test]
    fn steps_shape_with_branch() {
        let wf = parse_workflow(&json!({"name": "r", "steps": [
            {"say": "Hello {{name}}"},
            {"gather": {"prompt": "Press 1 or 2", "options": {"1": "a", "2": "b"}, "next": {"2": 3}}},
            {"hangup": true},
            {"say": "We will call back"}
        ]}))
        .unwrap();
        let Step::Gather(g) = &wf.steps[1] else { panic!() };
        assert_eq!(g.next.get("2"), Some(&3));
        assert_eq!(g.attempts, 2);
    }

    #[test]
    fn every_problem_is_listed() {
        let err = parse_workflow(&json!({"steps": [
            {"say": ""}, {"gather": {"prompt": "x", "options": {"12": "bad"}}}, {"dance": 1},
            {"gather": {"prompt": "y", "options": {"1": "a"}, "next": {"1": 9}}}
        ]}))
        .unwrap_err();
        let fields: Vec<_> = err.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "name",
                "steps[0].say",
                "steps[1].gather.options.12",
                "steps[2].dance",
                "steps[3].gather.next.1"
            ]
        );
        assert!(!err.wrong_type);
    }

    #[test]
    fn wrong_types_are_flagged() {
        let err = parse_workflow(&json!({"name": 3, "steps": "say hi"})).unwrap_err();
        assert!(err.wrong_type);
        assert!(parse_workflow(&json!([1])).unwrap_err().wrong_type);
    }

    #[test]
    fn conversation_is_not_supported() {
        let err = parse_workflow(&json!({"name": "c", "workflow_type": "CONVERSATION", "message": "hi"}))
            .unwrap_err();
        assert!(err.errors[0].message.contains("not supported"));
    }

    #[test]
    fn callback_url_must_be_http() {
        let err =
            parse_workflow(&json!({"name": "c", "message": "hi", "call_back_url": "ftp://x"})).unwrap_err();
        assert_eq!(err.errors[0].field, "call_back_url");
        assert!(check_http_url("http://127.0.0.1:9/x").is_ok());
        assert!(check_http_url("https:///x").is_err());
    }
}
