//! Workflows: what a call says and asks.
//!
//! A workflow arrives in one of two input shapes (CONTRACT.md §3): the hosted product's
//! `message` + `response_options` shape, or our `steps` list. Both become one [`Workflow`]
//! model, which is what the store keeps and what the per-call runner executes. Templates
//! (`[name]` and `{{name}}`) are parsed once so intake can check every recipient's variables
//! without rendering speech.
//!
//! ```
//! use voicebot_workflow::{parse_workflow, Template};
//! let wf = parse_workflow(&serde_json::json!({
//!     "name": "Reminder",
//!     "message": "Hello [name], your appointment is tomorrow.",
//!     "include_reply": true,
//!     "response_options": {"1": "Press 1 to confirm", "2": "Press 2 to reschedule"}
//! })).unwrap();
//! assert_eq!(wf.variables(), vec!["name".to_string()]);
//! let t = Template::parse("Hi {{ name }}");
//! let vars = [("name".to_string(), "Ada".to_string())].into_iter().collect();
//! assert_eq!(t.render(&vars).unwrap(), "Hi Ada");
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod input;
mod model;
mod runner;
mod template;

pub use input::{FieldError, WorkflowError, check_http_url, parse_workflow};
pub use model::{Gather, MAX_MESSAGE_CHARS, Step, Workflow, WorkflowKind, WorkflowStatus};
pub use runner::{Action, Prompt, Runner};
pub use template::{MissingVariable, Template, Variables, variables_from_json};
