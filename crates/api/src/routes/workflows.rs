//! Workflow CRUD (CONTRACT.md §3). `PUT` to an unused id creates, so integrators keep the
//! ids their code already sends. Ids are per integrator: two may use the same one.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use serde::Serialize;
use voicebot_store::report::format_timestamp;
use voicebot_store::{WorkflowRow, now_micros};
use voicebot_workflow::{Step, Workflow, WorkflowKind, WorkflowStatus, parse_workflow};

use super::ok;
use crate::auth::Caller;
use crate::body::json_body;
use crate::{ApiError, AppState};

#[derive(Serialize)]
struct WorkflowView {
    workflow_id: String,
    name: String,
    description: Option<String>,
    workflow_type: &'static str,
    status: WorkflowStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    include_reply: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_options: Option<std::collections::BTreeMap<String, String>>,
    call_back_url: Option<String>,
    opt_out_digit: Option<String>,
    variables: Vec<String>,
    steps: Vec<Step>,
    created_at: String,
    updated_at: String,
}

fn view(row: &WorkflowRow) -> Result<WorkflowView, ApiError> {
    let wf: Workflow = serde_json::from_str(&row.definition).map_err(ApiError::internal)?;
    let variables = wf.variables();
    Ok(WorkflowView {
        workflow_id: row.id.clone(),
        name: wf.name,
        description: wf.description,
        workflow_type: "ROBOCALL",
        status: wf.status,
        message: wf.message.filter(|_| wf.kind == WorkflowKind::Robocall),
        include_reply: wf.include_reply,
        response_options: wf.response_options,
        call_back_url: wf.call_back_url,
        opt_out_digit: wf.opt_out_digit,
        variables,
        steps: wf.steps,
        created_at: format_timestamp(row.created_at),
        updated_at: format_timestamp(row.updated_at),
    })
}

fn parse_id(id: &str) -> Result<String, ApiError> {
    uuid::Uuid::parse_str(id)
        .map(|u| u.hyphenated().to_string())
        .map_err(|_| ApiError::unprocessable("workflow_id", "must be a UUID"))
}

async fn save(
    state: &AppState,
    integrator_id: &str,
    id: String,
    headers: &HeaderMap,
    body: Body,
) -> Result<(bool, WorkflowRow), ApiError> {
    let body = json_body(headers, body, state.config.max_body_bytes).await?;
    let wf = parse_workflow(&body)?;
    if let Some(url) = &wf.call_back_url
        && let Err(why) = voicebot_callback::check_url(url, state.config.allow_private_callbacks)
    {
        return Err(ApiError::unprocessable("call_back_url", why.to_string()));
    }
    check_audio(state, &wf).await?;
    let now = now_micros();
    let row = WorkflowRow {
        integrator_id: integrator_id.to_string(),
        id,
        name: wf.name.clone(),
        definition: serde_json::to_string(&wf).map_err(ApiError::internal)?,
        created_at: now,
        updated_at: now,
    };
    let created = state.store.put_workflow(&row).await?;
    let stored = state
        .store
        .get_workflow(integrator_id, &row.id)
        .await?
        .ok_or_else(|| ApiError::internal("workflow vanished"))?;
    Ok((created, stored))
}

/// Every recording a `play` step names must have been uploaded.
async fn check_audio(state: &AppState, wf: &Workflow) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    for (i, step) in wf.steps.iter().enumerate() {
        let Step::Play(by_accent) = step else { continue };
        for (accent, id) in by_accent {
            let known = match id.parse::<voicebot_tts::AudioId>() {
                Ok(id) => state.audio.get(&id).await.map_err(ApiError::internal)?.is_some(),
                Err(_) => false,
            };
            if !known {
                errors.push(voicebot_workflow::FieldError::new(
                    format!("steps[{i}].play.{accent}"),
                    format!("no uploaded audio with id '{id}'"),
                ));
            }
        }
    }
    if errors.is_empty() {
        return Ok(());
    }
    Err(ApiError::with_errors(axum::http::StatusCode::UNPROCESSABLE_ENTITY, "invalid workflow", errors))
}

pub(crate) async fn create(
    Caller(integrator): Caller,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<impl IntoResponse, ApiError> {
    let id = uuid::Uuid::new_v4().to_string();
    let (_, row) = save(&state, &integrator.id, id, &headers, body).await?;
    Ok(ok(view(&row)?, "workflow created successfully"))
}

pub(crate) async fn put(
    Caller(integrator): Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id(&id)?;
    let (created, row) = save(&state, &integrator.id, id, &headers, body).await?;
    let message = if created { "workflow created successfully" } else { "workflow updated successfully" };
    Ok(ok(view(&row)?, message))
}

pub(crate) async fn get(
    Caller(integrator): Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let not_found = || ApiError::not_found("workflow not found");
    let id = parse_id(&id).map_err(|_| not_found())?;
    let row = state.store.get_workflow(&integrator.id, &id).await?.ok_or_else(not_found)?;
    Ok(ok(view(&row)?, "workflow found"))
}

pub(crate) async fn list(
    Caller(integrator): Caller,
    State(state): State<AppState>,
) -> Result<impl IntoResponse, ApiError> {
    let rows = state.store.list_workflows(&integrator.id).await?;
    let views = rows.iter().map(view).collect::<Result<Vec<_>, _>>()?;
    Ok(ok(serde_json::json!({"workflows": views}), "workflows found"))
}

pub(crate) async fn delete(
    Caller(integrator): Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let not_found = || ApiError::not_found("workflow not found");
    let id = parse_id(&id).map_err(|_| not_found())?;
    if !state.store.delete_workflow(&integrator.id, &id, now_micros()).await? {
        return Err(not_found());
    }
    Ok(ok(serde_json::json!({"workflow_id": id}), "workflow deleted successfully"))
}
