//! The one workflow model both input shapes become; what the store keeps as JSON and the
//! per-call runner executes. Serialised form is stable: changing it needs a migration.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::template::Template;

/// Longest prompt, in characters, after variables are substituted (CONTRACT.md §3).
pub const MAX_MESSAGE_CHARS: usize = 4000;

/// Which input shape the workflow came in; kept so `GET` can echo the integrator's fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WorkflowKind {
    /// The hosted product's `message` + `response_options` shape.
    Robocall,
    /// Our `steps` list.
    Steps,
}

/// Whether new batches may use the workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WorkflowStatus {
    /// Usable by new batches.
    Active,
    /// Kept, but new batches naming it are refused.
    Inactive,
}

/// Wait for one keypad digit after a prompt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gather {
    /// Spoken before waiting (and again on each re-prompt).
    pub prompt: String,
    /// Accepted digits and their meaning (`"1": "confirm"`).
    pub options: BTreeMap<String, String>,
    /// Seconds of silence after the prompt before re-prompting.
    pub timeout_seconds: u32,
    /// How many times the prompt is played at most.
    pub attempts: u32,
    /// Optional branch: digit → index of the step to run next.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub next: BTreeMap<String, usize>,
}

/// One thing a call does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Step {
    /// Speak text (a template) in the batch's voice.
    Say(String),
    /// Play an uploaded recording, chosen by accent (`"default"` as fallback).
    Play(BTreeMap<String, String>),
    /// Speak a prompt and collect one digit.
    Gather(Gather),
    /// End the call now.
    Hangup(bool),
}

/// A workflow, normalised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workflow {
    /// Display name.
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// Input shape it came in.
    pub kind: WorkflowKind,
    /// Active or not.
    pub status: WorkflowStatus,
    /// Completion callback for batches of this workflow (unless the batch names one).
    #[serde(default)]
    pub call_back_url: Option<String>,
    /// Digit that adds the callee to the do-not-call list.
    #[serde(default)]
    pub opt_out_digit: Option<String>,
    /// What the call does, in order.
    pub steps: Vec<Step>,
    /// The hosted shape's `message`, echoed on `GET`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The hosted shape's `include_reply`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_reply: Option<bool>,
    /// The hosted shape's `response_options`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_options: Option<BTreeMap<String, String>>,
}

impl Workflow {
    /// Every text the call may speak, as templates, in step order.
    pub fn templates(&self) -> Vec<Template> {
        self.steps
            .iter()
            .filter_map(|s| match s {
                Step::Say(t) => Some(Template::parse(t)),
                Step::Gather(g) => Some(Template::parse(&g.prompt)),
                _ => None,
            })
            .collect()
    }

    /// Variables used anywhere in the workflow, in order of first use.
    pub fn variables(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for t in self.templates() {
            for v in t.variables() {
                if !names.iter().any(|n| n == v) {
                    names.push(v.to_string());
                }
            }
        }
        names
    }

    /// Index of the gather whose answer is the call's result (the first one).
    pub fn result_gather(&self) -> Option<usize> {
        self.steps.iter().position(|s| matches!(s, Step::Gather(_)))
    }

    /// Audio ids referenced by `play` steps.
    pub fn audio_ids(&self) -> Vec<&str> {
        self.steps
            .iter()
            .filter_map(|s| match s {
                Step::Play(m) => Some(m.values().map(String::as_str)),
                _ => None,
            })
            .flatten()
            .collect()
    }
}
