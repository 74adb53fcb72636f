//! The pipeline's answer file: its `unattend:` section rendered with
//! `crate::unattend` (the same renderer and linter as `gild render
//! unattend` / `gild lint`), for `gild validate` and the unattend stage.
//!
//! Values come from the values file, then `unattend.set` (top-level names;
//! a value may be a list or mapping). `uploaded_answer_file` defaults to
//! where the unattend stage
//! uploads the file ([`guest_answer_path`]), so the answer file's
//! self-removal command deletes the right file.

use super::config::Pipeline;
use super::load::LoadedPipeline;
use super::target::Target;
use crate::secret::Secret;
use crate::unattend::render::{self, RenderError};
use crate::unattend::Profile;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    #[error("the pipeline has no `unattend:` section")]
    NoSection,
    #[error("cannot read {what} {}", path.display())]
    Read {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("values file {}", path.display())]
    Values {
        path: PathBuf,
        #[source]
        source: RenderError,
    },
    #[error("rendering {}", path.display())]
    Render {
        path: PathBuf,
        #[source]
        source: RenderError,
    },
}

/// The rendered answer file (holding the encoded administrator password:
/// write it only where it is needed, never to logs).
pub struct RenderedAnswer {
    pub text: String,
    /// The linter profile the target calls for.
    pub profile: Profile,
    pub template: PathBuf,
}

/// Where the unattend stage uploads the answer file in the guest.
pub fn guest_answer_path(p: &Pipeline) -> String {
    format!(r"{}\unattend.xml", p.guest.work_dir.trim_end_matches('\\'))
}

/// WMCO images get every rule (en-US included); Kubernetes ones all but
/// the en-US rule.
pub fn lint_profile(target: Target) -> Profile {
    if target.is_wmco() {
        Profile::Wmco
    } else {
        Profile::K8s
    }
}

/// Renders the pipeline's answer file with `password`.
pub fn render_answer_file(
    loaded: &LoadedPipeline,
    password: &Secret,
) -> Result<RenderedAnswer, AnswerError> {
    render_answer(loaded.pipeline(), loaded.base_dir(), password)
}

/// [`render_answer_file`] for a pipeline already loaded, whose relative
/// paths resolve against `base_dir` (the build's job carries both).
pub fn render_answer(
    p: &Pipeline,
    base_dir: &Path,
    password: &Secret,
) -> Result<RenderedAnswer, AnswerError> {
    let u = p.unattend.as_ref().ok_or(AnswerError::NoSection)?;
    let template_path = base_dir.join(&u.template);
    let read = |what, path: &PathBuf| {
        std::fs::read_to_string(path).map_err(|source| AnswerError::Read {
            what,
            path: path.clone(),
            source,
        })
    };
    let template = read("answer-file template", &template_path)?;
    let mut values = match &u.values {
        Some(v) => {
            let path = base_dir.join(v);
            let text = read("values file", &path)?;
            render::parse_values(&text).map_err(|source| AnswerError::Values { path, source })?
        }
        None => Value::Object(Map::new()),
    };
    // parse_values returns a mapping (it refuses anything else).
    if let Value::Object(map) = &mut values {
        map.extend(u.set.iter().map(|(k, v)| (k.clone(), v.clone())));
        // `profile` in a values file picks `gild render`'s lint profile;
        // here the target does, and the template has no use for it.
        map.remove("profile");
        map.entry("uploaded_answer_file")
            .or_insert_with(|| Value::String(guest_answer_path(p)));
    }
    let name = template_path.display().to_string();
    let text = render::render(&name, &template, values, password, false).map_err(|source| {
        AnswerError::Render {
            path: template_path.clone(),
            source,
        }
    })?;
    Ok(RenderedAnswer {
        text,
        profile: lint_profile(p.target),
        template: template_path,
    })
}
