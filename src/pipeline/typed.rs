//! Typing a loaded YAML tree: deserializing it into [`Pipeline`] with
//! serde, and explaining a failure at the field it is about — the path from
//! serde_path_to_error, the position from the tree, and for an unknown key
//! or value the closest allowed one ("did you mean").

use super::config::{
    CommonOptions, ContainerRuntimeOptions, FirewallOptions, HardwareOptions,
    KubernetesNodeOptions, NetworkOptions, OpensshOptions, Pipeline, ScriptsOptions, ToolsOptions,
    WindowsUpdateOptions,
};
use super::load::Problem;
use super::rules;
use super::yaml::{path_string, Node, Seg};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Deserializes the (interpolated) tree into the pipeline types.
pub(crate) fn typed(doc: &Node) -> Result<Pipeline, Box<Problem>> {
    match deserialize_at::<Pipeline>(doc.to_json()) {
        Ok(p) => Ok(p),
        Err((mut path, mut message)) => {
            // Inside a stage serde buffers the mapping (the `stage:` tag is
            // internally tagged), which hides the field path: deserialize
            // that stage's options alone to find it.
            let in_stage = matches!(path.as_slice(), [Seg::Key(k), Seg::Index(_)] if k == "stages");
            if in_stage && !message.starts_with("unknown variant") {
                if let Some((inner, m)) = doc.at(&path).and_then(stage_error) {
                    path.extend(inner);
                    message = m;
                }
            }
            Err(Box::new(describe(doc, path, message)))
        }
    }
}

fn deserialize_at<T: DeserializeOwned>(v: Value) -> Result<T, (Vec<Seg>, String)> {
    serde_path_to_error::deserialize::<_, T>(v).map_err(|e| {
        let path = e
            .path()
            .iter()
            .filter_map(|s| match s {
                serde_path_to_error::Segment::Seq { index } => Some(Seg::Index(*index)),
                serde_path_to_error::Segment::Map { key } => Some(Seg::Key(key.clone())),
                serde_path_to_error::Segment::Enum { .. }
                | serde_path_to_error::Segment::Unknown => None,
            })
            .collect();
        (path, e.into_inner().to_string())
    })
}

/// The options type of each stage name (the variants of `StageConfig`); a
/// test keeps this in step with the enum.
fn stage_options_error(name: &str, options: Value) -> Option<Result<(), (Vec<Seg>, String)>> {
    fn check<T: DeserializeOwned>(v: Value) -> Result<(), (Vec<Seg>, String)> {
        deserialize_at::<T>(v).map(|_| ())
    }
    Some(match name {
        "preflight" | "clone" | "tools_conf" | "unattend" | "sysprep" | "template" | "publish"
        | "machineset" => check::<CommonOptions>(options),
        "hardware" => check::<HardwareOptions>(options),
        "tools" => check::<ToolsOptions>(options),
        "network" => check::<NetworkOptions>(options),
        "openssh" => check::<OpensshOptions>(options),
        "container_runtime" => check::<ContainerRuntimeOptions>(options),
        "firewall" => check::<FirewallOptions>(options),
        "kubernetes_node" => check::<KubernetesNodeOptions>(options),
        "windows_update" => check::<WindowsUpdateOptions>(options),
        "scripts" => check::<ScriptsOptions>(options),
        _ => return None,
    })
}

fn stage_error(stage: &Node) -> Option<(Vec<Seg>, String)> {
    let name = stage.get("stage")?.as_str()?.to_string();
    let Value::Object(mut map) = stage.to_json() else {
        return None;
    };
    map.remove("stage");
    stage_options_error(&name, Value::Object(map))?.err()
}

/// serde's `unknown field `x`, expected one of `a`, `b`` and `unknown
/// variant ...` messages quote the offending name first, then every
/// allowed one.
fn quoted_names(message: &str) -> Vec<&str> {
    message.split('`').skip(1).step_by(2).collect()
}

/// The closest allowed name, when one is close enough to be a typo.
pub fn did_you_mean<'a>(given: &str, allowed: &[&'a str]) -> Option<&'a str> {
    let g = given.to_ascii_lowercase();
    allowed
        .iter()
        .map(|a| (strsim::levenshtein(&g, &a.to_ascii_lowercase()), *a))
        .filter(|(d, a)| *d <= (a.chars().count() / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, a)| a)
}

fn describe(doc: &Node, path: Vec<Seg>, message: String) -> Problem {
    let names = quoted_names(&message);
    if message.starts_with("unknown field") && !names.is_empty() {
        // serde_path_to_error's path ends with the unknown key itself.
        let mut path = path;
        if path.last() == Some(&Seg::Key(names[0].to_string())) {
            path.pop();
        }
        let mut key_path = path.clone();
        key_path.push(Seg::Key(names[0].to_string()));
        let mut p = Problem::new(
            rules::UNKNOWN_KEY,
            doc.key_pos(&key_path),
            &key_path,
            format!(
                "unknown key `{}` in {}",
                names[0],
                if path.is_empty() {
                    "the pipeline".to_string()
                } else {
                    format!("`{}`", path_string(&path))
                }
            ),
        );
        p.help = Some(suggestion(names[0], &names[1..], "allowed keys"));
        return p;
    }
    if message.starts_with("unknown variant") && !names.is_empty() {
        // A stage's `stage:` value, or a plain enum field such as `target`.
        let mut at = path.clone();
        if doc.at(&path).is_some_and(|n| n.get("stage").is_some()) {
            at.push(Seg::Key("stage".into()));
        }
        let mut p = Problem::new(
            rules::SCHEMA,
            doc.value_pos(&at),
            &at,
            format!("`{}`: unknown value `{}`", path_string(&at), names[0]),
        );
        p.help = Some(suggestion(names[0], &names[1..], "expected one of"));
        return p;
    }
    let shown = if path.is_empty() {
        "the pipeline".to_string()
    } else {
        format!("`{}`", path_string(&path))
    };
    Problem::new(
        rules::SCHEMA,
        doc.value_pos(&path),
        &path,
        format!("{shown}: {message}"),
    )
}

fn suggestion(given: &str, allowed: &[&str], label: &str) -> String {
    let list = allowed
        .iter()
        .map(|a| format!("`{a}`"))
        .collect::<Vec<_>>()
        .join(", ");
    match did_you_mean(given, allowed) {
        Some(best) => format!("did you mean `{best}`? {label}: {list}"),
        None if allowed.is_empty() => "this place takes no keys".to_string(),
        None => format!("{label}: {list}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::config::STAGE_NAMES;

    #[test]
    fn every_stage_name_has_an_options_type() {
        for name in STAGE_NAMES {
            assert!(
                stage_options_error(name, Value::Object(Default::default())).is_some(),
                "{name}"
            );
        }
    }

    #[test]
    fn did_you_mean_picks_close_names_only() {
        let allowed = ["password_env", "password_file", "user", "url"];
        assert_eq!(did_you_mean("pasword_env", &allowed), Some("password_env"));
        assert_eq!(did_you_mean("URL", &allowed), Some("url"));
        assert_eq!(did_you_mean("datastore", &allowed), None);
    }

    #[test]
    fn serde_names_are_read_from_its_message() {
        let m = "unknown field `pasword`, expected one of `url`, `user`";
        assert_eq!(quoted_names(m), vec!["pasword", "url", "user"]);
    }
}
