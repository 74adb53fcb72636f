//! A pipeline's published templates: found through VI/JSON (`/api` does
//! not list templates), told apart from everything else in the folder by
//! the annotation gild writes when it makes one, newest first.
//!
//! Used by the publish stage (prune after success) and by `gild templates
//! list|prune`.

use crate::vsphere::wire::{FolderId, VmId};
use crate::vsphere::{Client, VsphereError};
use std::time::Duration;

const PREFIX: &str = "gild template: ";

/// What gild writes into a template's annotation: who made it and what
/// went in, so `gild templates list` can say so without local files.
pub struct Provenance<'a> {
    pub pipeline: &'a str,
    pub build_id: &'a str,
    pub target: &'a str,
    pub os: Option<String>,
    pub tools: Option<&'a str>,
}

impl Provenance<'_> {
    pub fn annotation(&self) -> String {
        let mut text = format!(
            "{PREFIX}pipeline {}, build {}, target {}, built {}, gild {}",
            self.pipeline,
            self.build_id,
            self.target,
            chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ"),
            env!("CARGO_PKG_VERSION")
        );
        if let Some(os) = &self.os {
            text.push_str(&format!(", os {os}"));
        }
        if let Some(t) = self.tools {
            text.push_str(&format!(", tools {t}"));
        }
        text
    }
}

/// One published template of a pipeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Published {
    pub vm: VmId,
    pub name: String,
    /// Build ids start with the UTC build time, so they sort by age.
    pub build_id: String,
    pub built: Option<String>,
    pub annotation: String,
}

/// `key value` fields of a gild annotation.
fn field<'a>(annotation: &'a str, key: &str) -> Option<&'a str> {
    annotation
        .strip_prefix(PREFIX)?
        .split(", ")
        .find_map(|part| part.strip_prefix(key)?.strip_prefix(' '))
}

/// Whether an annotation says the template belongs to `pipeline`.
pub fn belongs_to(annotation: &str, pipeline: &str) -> bool {
    field(annotation, "pipeline") == Some(pipeline)
}

/// The pipeline's templates in `folder`, newest first.
pub async fn list(
    client: &Client,
    folder: &FolderId,
    pipeline: &str,
) -> Result<Vec<Published>, VsphereError> {
    let mut out: Vec<Published> = client
        .child_vms(folder)
        .await?
        .into_iter()
        .filter(|c| c.template && belongs_to(&c.annotation, pipeline))
        .map(|c| Published {
            build_id: field(&c.annotation, "build").unwrap_or("").to_string(),
            built: field(&c.annotation, "built").map(str::to_string),
            vm: c.vm,
            name: c.name,
            annotation: c.annotation,
        })
        .collect();
    // Newest first by build time, then by build id (which starts with the
    // build's start time) so equal timestamps still order the same way.
    out.sort_by(|a, b| b.built.cmp(&a.built).then(b.build_id.cmp(&a.build_id)));
    Ok(out)
}

/// Destroys all but the `keep` newest of `templates` (newest first, as
/// [`list`] returns them); `protect` is never destroyed, whatever its place.
/// Returns the names destroyed.
pub async fn prune(
    client: &Client,
    templates: &[Published],
    keep: usize,
    protect: Option<&VmId>,
    deadline: Duration,
) -> Result<Vec<String>, VsphereError> {
    // The protected one (the template just published) takes one of the
    // `keep` places wherever the listing order puts it, so a same-second
    // build id cannot make the prune keep one too many.
    let protected = templates.iter().any(|t| Some(&t.vm) == protect);
    let mut kept = usize::from(protected);
    let mut removed = Vec::new();
    for t in templates {
        if Some(&t.vm) == protect {
            continue;
        }
        if kept < keep {
            kept += 1;
            continue;
        }
        let task = client.destroy(&t.vm).await?;
        client.wait_task(&task, deadline).await?;
        removed.push(t.name.clone());
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotation_fields_read_back_and_name_the_pipeline_exactly() {
        let text = Provenance {
            pipeline: "win",
            build_id: "20261207-081000-ab12",
            target: "wmco-4.11+",
            os: Some("20348.2762".into()),
            tools: Some("12.1.5"),
        }
        .annotation();
        assert!(belongs_to(&text, "win"));
        assert!(!belongs_to(&text, "wi"));
        assert!(!belongs_to("someone else's notes, pipeline win", "win"));
        assert_eq!(field(&text, "build"), Some("20261207-081000-ab12"));
        assert_eq!(field(&text, "os"), Some("20348.2762"));
    }
}
