//! YAML with positions, the one layer every YAML reader in gild uses
//! (cluster manifests and net plans directly; pipeline files through
//! `pipeline::yaml`, which adds interpolation and its stricter rules):
//! every node and every mapping key keeps the line and column it was read
//! at, so a checker can say `file:12:7:
//! spec.template.spec.providerSpec.value.numCPUs: ...` about any node, not
//! only about the first syntax error (which is all serde gives positions
//! for).
//!
//! Built on yaml-rust2's event parser (each event comes with a marker),
//! driven in a loop: its `load` helper recurses once per nesting level, so
//! a hostile `[[[[...` could exhaust the stack; the builder keeps an
//! explicit stack bounded by [`MAX_DEPTH`], and aliases are expanded within
//! [`MAX_NODES`] ("billion laughs"). The tree is small and owned; scalars
//! are resolved the way the YAML 1.2 core schema does (what the Kubernetes
//! API server sees after its YAML to JSON step), and keep the text and
//! style they were written with ([`Raw`]) for readers that type them later.
//! Duplicate keys are recorded, not dropped: each reader decides whether
//! they are findings (manifests) or errors (pipelines).

mod path;
mod scalar;

pub use path::{display_path, parse_path, path_string, pointer_of, Seg};
use scalar::resolve;
pub use scalar::resolve_plain;
use serde_json::Value as Json;
use std::collections::HashMap;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};

use yaml_rust2::scanner::{Marker, TScalarStyle};

/// 1-based line and column (columns count characters).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Mark {
    pub line: usize,
    pub col: usize,
}

impl std::fmt::Display for Mark {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

impl From<Marker> for Mark {
    fn from(m: Marker) -> Self {
        // yaml-rust2 counts lines from 1 and columns from 0.
        Mark {
            line: m.line().max(1),
            col: m.col() + 1,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Key, Node)>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Key {
    pub name: String,
    pub mark: Mark,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub value: Value,
    pub mark: Mark,
    /// Block literal (`|`) or folded (`>`) scalar: `mark` is where its text
    /// starts (first content line, after the indentation), which
    /// embedded-JSON checks need to map positions.
    pub block_scalar: bool,
    /// A scalar as written; `None` for collections.
    pub raw: Option<Raw>,
    /// The node's YAML tag (`!!str`, `!custom`), handle and suffix joined.
    pub tag: Option<String>,
}

/// A scalar's text before typing, for readers that rewrite it first
/// (pipeline `${VAR}` interpolation) and type it afterwards.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Raw {
    pub text: String,
    /// Written plain (unquoted, not a block scalar): only plain scalars
    /// may be typed as null, boolean or number.
    pub plain: bool,
}

/// A key written twice in one mapping. The API server's strict decoding
/// rejects those; yaml-rust2 keeps the last one silently; the tree keeps
/// both entries ([`Node::get`] finds the last, as yaml-rust2 would).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DuplicateKey {
    pub key: String,
    /// The second occurrence.
    pub mark: Mark,
    pub first: Mark,
    /// The mapping's path from the document root.
    pub path: Vec<Seg>,
}

/// One `---` document of a stream, with the duplicate keys found in it.
#[derive(Clone, Debug)]
pub struct Document {
    pub root: Node,
    pub duplicate_keys: Vec<DuplicateKey>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct YamlError {
    pub mark: Mark,
    /// Where in the document the builder was (empty for syntax errors).
    pub path: Vec<Seg>,
    pub message: String,
    /// A scanner/parser error (the text is not YAML), not a limit.
    pub syntax: bool,
}

impl std::fmt::Display for YamlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.mark.line, self.mark.col, self.message)
    }
}

/// Aliases can multiply a small file into a huge tree ("billion laughs");
/// no manifest or pipeline gild reads comes near this many nodes.
pub const MAX_NODES: usize = 200_000;

/// Deeper nesting than any manifest has; refused before it costs anything.
pub const MAX_DEPTH: usize = 64;

/// Every document in `text`, in order.
///
/// The parser is driven event by event (yaml-rust2's `load` recurses once
/// per nesting level, so a hostile `[[[[...` could exhaust the stack); the
/// builder keeps an explicit stack bounded by [`MAX_DEPTH`].
pub fn parse(text: &str) -> Result<Vec<Document>, YamlError> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    loop {
        let (event, marker) = parser.next_token().map_err(|e| YamlError {
            mark: (*e.marker()).into(),
            path: Vec::new(),
            message: e.info().to_string(),
            syntax: true,
        })?;
        if event == Event::StreamEnd {
            break;
        }
        if matches!(event, Event::SequenceStart(..) | Event::MappingStart(..))
            && builder.stack.len() >= MAX_DEPTH
        {
            return Err(YamlError {
                mark: marker.into(),
                path: builder.path(),
                message: format!("nesting deeper than {MAX_DEPTH} levels"),
                syntax: false,
            });
        }
        builder.on_event(event, marker);
        if let Some(err) = builder.error.take() {
            return Err(err);
        }
    }
    Ok(builder.documents)
}

/// An open collection while events stream in.
struct Frame {
    open: Open,
    mark: Mark,
    tag: Option<String>,
    anchor: usize,
    /// `Builder::nodes` when the collection started: its subtree size is
    /// the difference at its end.
    start: usize,
}

enum Open {
    Seq(Vec<Node>),
    Map {
        entries: Vec<(Key, Node)>,
        pending_key: Option<Key>,
    },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    documents: Vec<Document>,
    /// Anchored nodes with their subtree sizes, so an alias counts as
    /// every node it repeats.
    anchors: HashMap<usize, (Node, usize)>,
    duplicates: Vec<DuplicateKey>,
    nodes: usize,
    error: Option<YamlError>,
}

impl Builder {
    /// Where the next node goes: each open sequence's next index, each
    /// open mapping's pending key.
    fn path(&self) -> Vec<Seg> {
        self.stack
            .iter()
            .filter_map(|f| match &f.open {
                Open::Seq(items) => Some(Seg::Index(items.len())),
                Open::Map {
                    pending_key: Some(k),
                    ..
                } => Some(Seg::Key(k.name.clone())),
                Open::Map { .. } => None,
            })
            .collect()
    }

    fn fail(&mut self, mark: Mark, message: impl Into<String>) {
        if self.error.is_none() {
            self.error = Some(YamlError {
                mark,
                path: self.path(),
                message: message.into(),
                syntax: false,
            });
        }
    }

    /// Attaches a finished node of `size` nodes (itself and everything
    /// under it) to its parent.
    fn finish(&mut self, node: Node, anchor: usize, size: usize) {
        if self.nodes > MAX_NODES {
            self.fail(
                node.mark,
                format!("more than {MAX_NODES} nodes (values after expanding aliases)"),
            );
            return;
        }
        if anchor > 0 {
            self.anchors.insert(anchor, (node.clone(), size));
        }
        let path = self.path();
        match self.stack.last_mut().map(|f| &mut f.open) {
            None => self.documents.push(Document {
                root: node,
                duplicate_keys: std::mem::take(&mut self.duplicates),
            }),
            Some(Open::Seq(items)) => items.push(node),
            Some(Open::Map {
                entries,
                pending_key,
            }) => match pending_key.take() {
                Some(key) => {
                    if let Some((first, _)) = entries.iter().find(|(k, _)| k.name == key.name) {
                        self.duplicates.push(DuplicateKey {
                            key: key.name.clone(),
                            mark: key.mark,
                            first: first.mark,
                            path: path[..path.len().saturating_sub(1)].to_vec(),
                        });
                    }
                    entries.push((key, node));
                }
                None => {
                    let name = match &node.value {
                        Value::Str(s) => s.clone(),
                        Value::Null => String::new(),
                        Value::Bool(b) => b.to_string(),
                        Value::Int(i) => i.to_string(),
                        Value::Float(f) => f.to_string(),
                        Value::Seq(_) | Value::Map(_) => {
                            self.fail(node.mark, "a mapping key must be a scalar");
                            return;
                        }
                    };
                    *pending_key = Some(Key {
                        name,
                        mark: node.mark,
                    });
                }
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, marker: Marker) {
        if self.error.is_some() {
            return;
        }
        let mark = Mark::from(marker);
        match ev {
            Event::SequenceStart(anchor, ref tag) | Event::MappingStart(anchor, ref tag) => {
                let open = match ev {
                    Event::SequenceStart(..) => Open::Seq(Vec::new()),
                    _ => Open::Map {
                        entries: Vec::new(),
                        pending_key: None,
                    },
                };
                self.stack.push(Frame {
                    open,
                    mark,
                    tag: tag.as_ref().map(tag_text),
                    anchor,
                    start: self.nodes,
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                self.nodes += 1;
                let Some(frame) = self.stack.pop() else {
                    return self.fail(mark, "unbalanced collection end");
                };
                let value = match frame.open {
                    Open::Seq(items) => Value::Seq(items),
                    Open::Map { entries, .. } => Value::Map(entries),
                };
                let n = Node {
                    tag: frame.tag,
                    ..node(value, frame.mark)
                };
                self.finish(n, frame.anchor, self.nodes - frame.start);
            }
            Event::Scalar(text, style, anchor, tag) => {
                self.nodes += 1;
                let raw = Raw {
                    text: text.clone(),
                    plain: style == TScalarStyle::Plain,
                };
                let n = Node {
                    block_scalar: matches!(style, TScalarStyle::Literal | TScalarStyle::Folded),
                    raw: Some(raw),
                    tag: tag.as_ref().map(tag_text),
                    ..node(resolve(text, style, tag.as_ref()), mark)
                };
                self.finish(n, anchor, 1);
            }
            Event::Alias(id) => match self.anchors.get(&id).cloned() {
                Some((mut n, size)) => {
                    self.nodes += size;
                    n.mark = mark;
                    self.finish(n, 0, size);
                }
                None => self.fail(mark, "alias to an unknown anchor"),
            },
            Event::DocumentStart => self.anchors.clear(),
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
        }
    }
}

fn node(value: Value, mark: Mark) -> Node {
    Node {
        value,
        mark,
        block_scalar: false,
        raw: None,
        tag: None,
    }
}

fn tag_text(tag: &Tag) -> String {
    format!("{}{}", tag.handle, tag.suffix)
}

impl Node {
    /// The value under `key` of a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v)
    }

    /// The key (with its position) and value under `key`.
    pub fn entry(&self, key: &str) -> Option<(&Key, &Node)> {
        match &self.value {
            Value::Map(entries) => entries
                .iter()
                .rev()
                .find(|(k, _)| k.name == key)
                .map(|(k, v)| (k, v)),
            _ => None,
        }
    }

    /// Follow mapping keys.
    pub fn path(&self, keys: &[&str]) -> Option<&Node> {
        keys.iter().try_fold(self, |n, k| n.get(k))
    }

    /// The node a JSON pointer (RFC 6901, as JSON Schema validators report
    /// instance paths) points at.
    pub fn pointer(&self, pointer: &str) -> Option<&Node> {
        if pointer.is_empty() {
            return Some(self);
        }
        let mut node = self;
        for raw in pointer.strip_prefix('/')?.split('/') {
            let seg = raw.replace("~1", "/").replace("~0", "~");
            node = match &node.value {
                Value::Map(_) => node.get(&seg)?,
                Value::Seq(items) => items.get(seg.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(node)
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self.value {
            Value::Int(i) => Some(i),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Key, Node)]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// What the API server's YAML-to-JSON step makes of this node.
    pub fn to_json(&self) -> Json {
        match &self.value {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Int(i) => Json::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
            Value::Str(s) => Json::String(s.clone()),
            Value::Seq(items) => Json::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => Json::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.name.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// A short name for the node's type, for "expected X, found Y".
    pub fn type_name(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) => "integer",
            Value::Float(_) => "number",
            Value::Str(_) => "string",
            Value::Seq(_) => "list",
            Value::Map(_) => "mapping",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_values_keep_their_line_and_column() {
        let docs = parse("a:\n  b: 1\n  c:\n  - x\n  - 'y'\n").unwrap();
        let root = &docs[0].root;
        let (key, b) = root.get("a").unwrap().entry("b").unwrap();
        assert_eq!(key.mark, Mark { line: 2, col: 3 });
        assert_eq!(b.mark, Mark { line: 2, col: 6 });
        assert_eq!(b.value, Value::Int(1));
        let c = root.pointer("/a/c/1").unwrap();
        assert_eq!(c.value, Value::Str("y".into()));
        assert_eq!(c.mark.line, 5);
    }

    #[test]
    fn scalars_resolve_like_the_core_schema() {
        let docs =
            parse("a: \"\"\nb: ''\nc:\nd: '128'\ne: 128\nf: true\ng: 1.5\nh: !!str 7\ni: 0x10\n")
                .unwrap();
        let j = docs[0].root.to_json();
        assert_eq!(j["a"], "");
        assert_eq!(j["b"], "");
        assert!(j["c"].is_null());
        assert_eq!(j["d"], "128");
        assert_eq!(j["e"], 128);
        assert_eq!(j["f"], true);
        assert_eq!(j["g"], 1.5);
        assert_eq!(j["h"], "7");
        assert_eq!(j["i"], 16);
    }

    #[test]
    fn several_documents_and_duplicate_keys_are_reported() {
        let docs = parse("a: 1\na: 2\n---\nb: 3\n").unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].duplicate_keys.len(), 1);
        assert_eq!(docs[0].duplicate_keys[0].mark.line, 2);
        assert_eq!(docs[0].duplicate_keys[0].first.line, 1);
        assert_eq!(docs[0].root.get("a").unwrap().as_i64(), Some(2));
        assert!(docs[1].duplicate_keys.is_empty());
    }

    #[test]
    fn scalars_keep_their_text_and_style_and_duplicates_their_path() {
        let docs = parse("a:\n  v: 1.10\n  q: \"x\"\n  t: !!str 7\n  v: 2\n").unwrap();
        let a = docs[0].root.get("a").unwrap();
        let raw = |k: &str| a.entry(k).unwrap().1.raw.clone().unwrap();
        assert_eq!(raw("q").text, "x");
        assert!(!raw("q").plain);
        // yaml-rust2 expands the `!!` handle.
        assert_eq!(
            a.get("t").unwrap().tag.as_deref(),
            Some("tag:yaml.org,2002:str")
        );
        let dup = &docs[0].duplicate_keys[0];
        assert_eq!(
            (dup.key.as_str(), dup.mark.line, dup.first.line),
            ("v", 5, 2)
        );
        assert_eq!(path_string(&dup.path), "a");
        // The first `v` keeps the text a later reader types itself.
        let first = &a.as_map().unwrap()[0].1;
        assert_eq!(first.raw.as_ref().unwrap().text, "1.10");
        assert!(first.raw.as_ref().unwrap().plain);
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let err = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(err.mark.line >= 1, "{err}");
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 0..6 {
            let prev = if i == 0 {
                "a".to_string()
            } else {
                format!("l{}", i - 1)
            };
            text.push_str(&format!(
                "l{i}: &l{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            ));
        }
        match parse(&text) {
            Ok(_) => panic!("an alias bomb was expanded"),
            Err(e) => assert!(e.message.contains("nodes"), "{e}"),
        }
    }

    #[test]
    fn deep_nesting_is_refused_not_recursed() {
        // yaml-rust2's scanner may refuse it first; either way an error, not a crash.
        assert!(parse(&"[".repeat(100_000)).is_err());
        let nested = format!(
            "{}1{}",
            "[".repeat(MAX_DEPTH + 1),
            "]".repeat(MAX_DEPTH + 1)
        );
        assert!(parse(&nested)
            .unwrap_err()
            .message
            .contains("nesting deeper"));
    }
}
