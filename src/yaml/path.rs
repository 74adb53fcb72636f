//! Field paths two ways: `stages[3].timeout` ([`Seg`], as
//! serde_path_to_error writes them, for pipelines) and JSON pointers shown
//! as `kubectl explain` writes them (for manifests, whose schema
//! validators report instance paths as pointers).

/// One step of a field path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// Renders a path the way serde_path_to_error does: `stages[3].timeout`.
pub fn path_string(path: &[Seg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

/// Parses `stages[3].timeout` (the inverse of [`path_string`]); keys
/// cannot contain `.` or `[` in this notation, which no pipeline key does.
pub fn parse_path(path: &str) -> Vec<Seg> {
    let mut out = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (key, mut rest) = part.split_once('[').map_or((part, ""), |(k, r)| (k, r));
        if !key.is_empty() {
            out.push(Seg::Key(key.to_string()));
        }
        while let Some((idx, after)) = rest.split_once(']') {
            match idx.parse() {
                Ok(i) => out.push(Seg::Index(i)),
                Err(_) => out.push(Seg::Key(idx.to_string())),
            }
            rest = after.strip_prefix('[').unwrap_or(after);
        }
    }
    out
}

/// `spec.selector.matchLabels["machine.openshift.io/cluster-api-cluster"]`
/// from a JSON pointer: dots between plain keys, brackets for indexes and
/// for keys that contain dots or slashes (as `kubectl explain` and jq write
/// them).
pub fn display_path(pointer: &str) -> String {
    let mut out = String::new();
    for raw in pointer.split('/').skip(1) {
        let seg = raw.replace("~1", "/").replace("~0", "~");
        if seg.parse::<usize>().is_ok() {
            out.push_str(&format!("[{seg}]"));
        } else if seg.contains(['.', '/', ' ', '[', ']']) || seg.is_empty() {
            out.push_str(&format!("[{seg:?}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&seg);
        }
    }
    if out.is_empty() {
        "(document)".into()
    } else {
        out
    }
}

/// The JSON pointer for a list of keys (the inverse of [`display_path`]'s input).
pub fn pointer_of(keys: &[&str]) -> String {
    keys.iter()
        .map(|k| format!("/{}", k.replace('~', "~0").replace('/', "~1")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_read_like_kubectl_explain() {
        assert_eq!(
            display_path("/spec/selector/matchLabels/machine.openshift.io~1os-id"),
            "spec.selector.matchLabels[\"machine.openshift.io/os-id\"]"
        );
        assert_eq!(
            display_path("/a/devices/0/networkName"),
            "a.devices[0].networkName"
        );
        assert_eq!(pointer_of(&["metadata", "a/b"]), "/metadata/a~1b");
    }
}
