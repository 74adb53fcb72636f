//! `gild schema`: the JSON Schema of pipeline files, generated from the
//! Rust types the loader deserializes into, so an editor (VS Code's YAML
//! extension: `# yaml-language-server: $schema=gild.schema.json`) checks
//! exactly what gild accepts.
use super::Outcome;
use crate::pipeline::config::Pipeline;
use std::io::Write;

#[derive(clap::Args, Debug)]
pub struct SchemaArgs {}

/// The schema as JSON.
pub fn pipeline_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Pipeline)).unwrap_or_default()
}

pub async fn run(_args: SchemaArgs) -> anyhow::Result<Outcome> {
    let text = serde_json::to_string_pretty(&pipeline_schema())? + "\n";
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(Outcome::Success)
}
