//! `/api` tasks: `?vmw-task=true` runs an operation in the background and
//! answers 202 with a task id; `GET /api/cis/tasks/{task}` reports it.

use super::iso;
use crate::simulator::error::{ApiError, ApiResult};
use crate::simulator::state::{ApiTask, Shared};
use crate::vsphere::wire::TaskStatus;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::future::Future;

pub fn router() -> Router<Shared> {
    Router::new().route("/api/cis/tasks/{task}", get(task_get))
}

/// Records a RUNNING task, runs `work` on the runtime, and stores its
/// outcome; returns the task id.
pub fn spawn(
    s: &Shared,
    operation: &'static str,
    service: &'static str,
    user: String,
    work: impl Future<Output = ApiResult<Value>> + Send + 'static,
) -> String {
    let id = format!("{}:{service}", super::session::new_token());
    let task = ApiTask {
        operation,
        service,
        user,
        status: TaskStatus::Running,
        result: None,
        error: None,
        start_time: chrono::Utc::now(),
        end_time: None,
    };
    s.world().api_tasks.insert(id.clone(), task);
    let shared = s.clone();
    let key = id.clone();
    tokio::spawn(async move {
        let outcome = work.await;
        let mut world = shared.world();
        if let Some(task) = world.api_tasks.get_mut(&key) {
            task.end_time = Some(chrono::Utc::now());
            match outcome {
                Ok(result) => {
                    task.status = TaskStatus::Succeeded;
                    task.result = Some(result);
                }
                Err(e) => {
                    task.status = TaskStatus::Failed;
                    task.error = Some(e.body);
                }
            }
        }
    });
    id
}

async fn task_get(State(s): State<Shared>, Path(task): Path<String>) -> ApiResult<Json<Value>> {
    let world = s.world();
    let t = world
        .api_tasks
        .get(&task)
        .ok_or_else(|| ApiError::not_found("Task", &task))?;
    let mut info = json!({
        "status": t.status,
        "description": {"id": format!("{}.{}", t.service, t.operation), "default_message": t.operation, "args": []},
        "service": t.service,
        "operation": t.operation,
        "cancelable": false,
        "start_time": iso(t.start_time),
        "user": t.user,
    });
    if let Some(end) = t.end_time {
        info["end_time"] = json!(iso(end));
    }
    if let Some(result) = &t.result {
        info["result"] = result.clone();
    }
    if let Some(error) = &t.error {
        info["error"] = serde_json::to_value(error).unwrap_or(Value::Null);
    }
    Ok(Json(info))
}
