//! A pipeline file as a YAML tree that remembers where every key and value
//! was written, so any check — the loader's, or a semantic one in
//! `validate` — can name `file:line:column` for a field path such as
//! `stages[3].min_version`.
//!
//! The parsing (positions, depth and alias limits, duplicate keys) is the
//! shared layer's, [`crate::yaml`]; this module is the pipeline's view of
//! it, with the pipeline's stricter rules: exactly one document, duplicate
//! keys are errors (every YAML library resolves them differently), and
//! only the `!!str` tag is allowed. Scalars keep their text and style:
//! `${VAR}` interpolation happens on the text, and only afterwards are
//! plain scalars typed (YAML 1.2 core schema, as for every YAML gild reads),
//! so `keep: ${KEEP}` becomes a number and a quoted `"15"` stays a string.

use crate::yaml::{self as shared, Value as Typed};
use serde_json::{Map, Number, Value};

pub use crate::yaml::{parse_path, path_string, Seg, MAX_DEPTH, MAX_NODES};

/// 1-based line and column (columns count characters).
pub type Pos = shared::Mark;

#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    Scalar(Scalar),
    Seq { items: Vec<Node>, pos: Pos },
    Map { entries: Vec<Entry>, pos: Pos },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Scalar {
    pub text: String,
    /// Plain scalars are typed (number, bool, null); quoted and block ones
    /// are always strings.
    pub plain: bool,
    pub pos: Pos,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub key: String,
    pub key_pos: Pos,
    pub value: Node,
}

/// Why a document could not be turned into a tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeError {
    pub pos: Pos,
    pub path: String,
    pub message: String,
}

impl Node {
    pub fn pos(&self) -> Pos {
        match self {
            Node::Scalar(s) => s.pos,
            Node::Seq { pos, .. } | Node::Map { pos, .. } => *pos,
        }
    }

    pub fn entries(&self) -> &[Entry] {
        match self {
            Node::Map { entries, .. } => entries,
            _ => &[],
        }
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|e| &e.value)
    }

    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.entries().iter().find(|e| e.key == key)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::Scalar(s) => Some(&s.text),
            _ => None,
        }
    }

    fn child(&self, seg: &Seg) -> Option<&Node> {
        match (self, seg) {
            (Node::Map { .. }, Seg::Key(k)) => self.get(k),
            (Node::Seq { items, .. }, Seg::Index(i)) => items.get(*i),
            _ => None,
        }
    }

    /// The node at `path`, if every step exists.
    pub fn at(&self, path: &[Seg]) -> Option<&Node> {
        path.iter().try_fold(self, |n, seg| n.child(seg))
    }

    /// Where the value at `path` starts; if the path goes further than the
    /// document (a field left out), where the deepest existing part starts.
    pub fn value_pos(&self, path: &[Seg]) -> Pos {
        let mut cur = self;
        for seg in path {
            match cur.child(seg) {
                Some(n) => cur = n,
                None => break,
            }
        }
        cur.pos()
    }

    /// Where the key of the last step of `path` is written (the field's
    /// line); the value's position for sequence items and the root.
    pub fn key_pos(&self, path: &[Seg]) -> Pos {
        match path.split_last() {
            Some((Seg::Key(k), parent)) => match self.at(parent).and_then(|p| p.entry(k)) {
                Some(e) => e.key_pos,
                None => self.value_pos(parent),
            },
            _ => self.value_pos(path),
        }
    }

    /// Every node in document order with its path (the root first).
    pub fn walk(&self, f: &mut dyn FnMut(&[Seg], &Node)) {
        fn go(n: &Node, path: &mut Vec<Seg>, f: &mut dyn FnMut(&[Seg], &Node)) {
            f(path, n);
            match n {
                Node::Scalar(_) => {}
                Node::Seq { items, .. } => {
                    for (i, item) in items.iter().enumerate() {
                        path.push(Seg::Index(i));
                        go(item, path, f);
                        path.pop();
                    }
                }
                Node::Map { entries, .. } => {
                    for e in entries {
                        path.push(Seg::Key(e.key.clone()));
                        go(&e.value, path, f);
                        path.pop();
                    }
                }
            }
        }
        go(self, &mut Vec::new(), f)
    }

    /// Rewrites every scalar's text in place (interpolation).
    pub fn scalars_mut(&mut self, f: &mut dyn FnMut(&[Seg], &mut Scalar)) {
        fn go(n: &mut Node, path: &mut Vec<Seg>, f: &mut dyn FnMut(&[Seg], &mut Scalar)) {
            match n {
                Node::Scalar(s) => f(path, s),
                Node::Seq { items, .. } => {
                    for (i, item) in items.iter_mut().enumerate() {
                        path.push(Seg::Index(i));
                        go(item, path, f);
                        path.pop();
                    }
                }
                Node::Map { entries, .. } => {
                    for e in entries {
                        path.push(Seg::Key(e.key.clone()));
                        go(&mut e.value, path, f);
                        path.pop();
                    }
                }
            }
        }
        go(self, &mut Vec::new(), f)
    }

    /// The JSON value serde deserializes the pipeline types from. Plain
    /// scalars are typed here, after interpolation, by the same core-schema
    /// rule as every other YAML gild reads ([`shared::resolve_plain`]).
    pub fn to_json(&self) -> Value {
        match self {
            Node::Scalar(s) if !s.plain => Value::String(s.text.clone()),
            Node::Scalar(s) => match shared::resolve_plain(s.text.clone()) {
                Typed::Null => Value::Null,
                Typed::Bool(b) => Value::Bool(b),
                Typed::Int(i) => Value::Number(i.into()),
                // JSON has no infinity: the text stays, and serde names the field.
                Typed::Float(f) => {
                    Number::from_f64(f).map_or_else(|| Value::String(s.text.clone()), Value::Number)
                }
                _ => Value::String(s.text.clone()),
            },
            Node::Seq { items, .. } => Value::Array(items.iter().map(Node::to_json).collect()),
            Node::Map { entries, .. } => Value::Object(
                entries
                    .iter()
                    .map(|e| (e.key.clone(), e.value.to_json()))
                    .collect::<Map<_, _>>(),
            ),
        }
    }
}

/// Parses one YAML document into a [`Node`] tree. An empty file is an
/// error (a pipeline needs content); so is a second document.
pub fn parse(text: &str) -> Result<Node, Vec<TreeError>> {
    let docs = shared::parse(text).map_err(|e| {
        vec![TreeError {
            pos: e.mark,
            path: path_string(&e.path),
            message: if e.syntax {
                format!("YAML syntax: {}", e.message)
            } else {
                e.message
            },
        }]
    })?;
    let doc = match docs.as_slice() {
        [] => {
            return Err(vec![TreeError {
                pos: Pos { line: 1, col: 1 },
                path: String::new(),
                message: "the file is empty; a pipeline is a YAML mapping".into(),
            }])
        }
        [doc] => doc,
        [_, second, ..] => {
            return Err(vec![TreeError {
                pos: second.root.mark,
                path: String::new(),
                message: "a second YAML document (`---`); a pipeline file holds exactly one".into(),
            }])
        }
    };
    if let Some(d) = doc.duplicate_keys.first() {
        return Err(vec![TreeError {
            pos: d.mark,
            path: path_string(&d.path),
            message: format!("duplicate key `{}` (first at line {})", d.key, d.first.line),
        }]);
    }
    view(&doc.root, &mut Vec::new()).map_err(|e| vec![e])
}

/// The pipeline's view of a shared node: scalars untyped (text and
/// style), tags other than `!!str` refused.
fn view(n: &shared::Node, path: &mut Vec<Seg>) -> Result<Node, TreeError> {
    let refuse = |path: &[Seg], message: String| TreeError {
        pos: n.mark,
        path: path_string(path),
        message,
    };
    if let Some(raw) = &n.raw {
        let plain = match n.tag.as_deref() {
            None => raw.plain,
            Some("!!str" | "tag:yaml.org,2002:str") => false,
            Some(tag) => {
                return Err(refuse(
                    path,
                    format!("YAML tag `{tag}` is not supported (only `!!str`)"),
                ))
            }
        };
        return Ok(Node::Scalar(Scalar {
            text: raw.text.clone(),
            plain,
            pos: n.mark,
        }));
    }
    if n.tag.is_some() {
        return Err(refuse(
            path,
            "YAML tags on collections are not supported".into(),
        ));
    }
    match &n.value {
        Typed::Seq(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                path.push(Seg::Index(i));
                out.push(view(item, path)?);
                path.pop();
            }
            Ok(Node::Seq {
                items: out,
                pos: n.mark,
            })
        }
        Typed::Map(entries) => {
            let mut out = Vec::with_capacity(entries.len());
            for (key, value) in entries {
                path.push(Seg::Key(key.name.clone()));
                out.push(Entry {
                    key: key.name.clone(),
                    key_pos: key.mark,
                    value: view(value, path)?,
                });
                path.pop();
            }
            Ok(Node::Map {
                entries: out,
                pos: n.mark,
            })
        }
        _ => Err(refuse(path, "a scalar without its text".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_values_keep_line_and_column() {
        let doc = parse("a: 1\nb:\n  - x: \"15\"\n    y: yes\n").unwrap();
        let path = parse_path("b[0].x");
        assert_eq!(doc.key_pos(&path), Pos { line: 3, col: 5 });
        assert_eq!(doc.value_pos(&path), Pos { line: 3, col: 8 });
        assert_eq!(doc.key_pos(&parse_path("a")), Pos { line: 1, col: 1 });
        // A field that is not there points at the deepest part that is.
        assert_eq!(
            doc.value_pos(&parse_path("b[0].z")),
            doc.value_pos(&parse_path("b[0]"))
        );
    }

    #[test]
    fn plain_scalars_are_typed_and_quoted_ones_stay_strings() {
        let doc = parse("n: 15\ns: \"15\"\nb: true\nv: 11.0.6\nno: yes\nnul: ~\nf: 1.5\n").unwrap();
        let v = doc.to_json();
        assert_eq!(v["n"], serde_json::json!(15));
        assert_eq!(v["s"], serde_json::json!("15"));
        assert_eq!(v["b"], serde_json::json!(true));
        assert_eq!(v["v"], serde_json::json!("11.0.6"));
        // YAML 1.2: `yes` is a string, not a boolean.
        assert_eq!(v["no"], serde_json::json!("yes"));
        assert_eq!(v["nul"], Value::Null);
        assert_eq!(v["f"], serde_json::json!(1.5));
    }

    #[test]
    fn str_tags_make_strings_and_other_tags_are_refused() {
        let v = parse("n: !!str 15\n").unwrap().to_json();
        assert_eq!(v["n"], serde_json::json!("15"));
        let e = parse("a:\n  n: !!int 15\n").unwrap_err();
        assert_eq!((e[0].pos.line, e[0].path.as_str()), (2, "a.n"));
        assert!(e[0].message.contains("not supported"), "{:?}", e);
        assert!(parse("a: !!map {}\n").is_err());
    }

    #[test]
    fn duplicate_keys_are_errors_naming_both_lines() {
        let e = parse("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(e[0].pos, Pos { line: 3, col: 1 });
        assert!(e[0].message.contains("duplicate key `a` (first at line 1)"));
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let e = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(e[0].message.starts_with("YAML syntax"), "{:?}", e);
        assert!(e[0].pos.line >= 2, "{:?}", e);
    }

    #[test]
    fn aliases_expand_but_exponential_ones_are_refused() {
        let doc = parse("a: &x [1, 2]\nb: *x\n").unwrap();
        assert_eq!(doc.to_json()["b"], serde_json::json!([1, 2]));
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let p = i - 1;
            bomb.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let e = parse(&bomb).unwrap_err();
        assert!(e[0].message.contains("values"), "{:?}", e);
    }

    #[test]
    fn deep_nesting_is_refused_without_recursing() {
        let text = "[".repeat(10_000);
        assert!(parse(&text).is_err());
        let mut block = String::new();
        for i in 0..200 {
            block.push_str(&" ".repeat(i));
            block.push_str("k:\n");
        }
        let e = parse(&block).unwrap_err();
        assert!(e[0].message.contains("nesting"), "{:?}", e);
    }

    #[test]
    fn empty_and_multi_document_files_are_refused() {
        assert!(parse("").unwrap_err()[0].message.contains("empty"));
        assert!(parse("a: 1\n---\nb: 2\n").unwrap_err()[0]
            .message
            .contains("second YAML document"));
    }

    #[test]
    fn paths_round_trip() {
        let p = parse_path("stages[3].run[0]");
        assert_eq!(
            p,
            vec![
                Seg::Key("stages".into()),
                Seg::Index(3),
                Seg::Key("run".into()),
                Seg::Index(0)
            ]
        );
        assert_eq!(path_string(&p), "stages[3].run[0]");
    }
}
