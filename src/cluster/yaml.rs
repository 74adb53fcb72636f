//! YAML with positions: every node and every mapping key keeps the line and
//! column it was read at, so a checker can say `file:12:7:
//! spec.template.spec.providerSpec.value.numCPUs: ...` about any node, not
//! only about the first syntax error (which is all serde gives positions
//! for).
//!
//! Built on yaml-rust2's event parser (each event comes with a marker); the
//! tree is small and owned, and scalars are resolved the way the YAML 1.2
//! core schema does (what the Kubernetes API server sees after its YAML to
//! JSON step for everything a MachineSet contains).

use serde_json::Value as Json;
use std::collections::HashMap;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};

use yaml_rust2::scanner::{Marker, TScalarStyle};

/// 1-based line and column.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Mark {
    pub line: usize,
    pub col: usize,
}

impl From<Marker> for Mark {
    fn from(m: Marker) -> Self {
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
}

/// One `---` document of a stream, with the duplicate keys found in it
/// (the API server's strict decoding rejects those; yaml-rust2 keeps the
/// last one silently).
#[derive(Clone, Debug)]
pub struct Document {
    pub root: Node,
    pub duplicate_keys: Vec<(String, Mark)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct YamlError {
    pub mark: Mark,
    pub message: String,
}

impl std::fmt::Display for YamlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.mark.line, self.mark.col, self.message)
    }
}

/// Aliases can multiply a small file into a huge tree ("billion laughs");
/// no manifest gild reads comes near this many nodes.
const MAX_NODES: usize = 200_000;

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
            message: e.info().to_string(),
        })?;
        if event == Event::StreamEnd {
            break;
        }
        if matches!(event, Event::SequenceStart(..) | Event::MappingStart(..))
            && builder.stack.len() >= MAX_DEPTH
        {
            return Err(YamlError {
                mark: marker.into(),
                message: format!("nested deeper than {MAX_DEPTH} levels"),
            });
        }
        builder.on_event(event, marker);
        if let Some(err) = builder.error.take() {
            return Err(err);
        }
    }
    Ok(builder.documents)
}

enum Frame {
    Seq {
        items: Vec<Node>,
        mark: Mark,
        anchor: usize,
        /// `Builder::nodes` when the collection started: its subtree size
        /// is the difference at its end.
        start: usize,
    },
    Map {
        entries: Vec<(Key, Node)>,
        pending_key: Option<Key>,
        mark: Mark,
        anchor: usize,
        start: usize,
    },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    documents: Vec<Document>,
    /// Anchored nodes with their subtree sizes, so an alias counts as
    /// every node it repeats.
    anchors: HashMap<usize, (Node, usize)>,
    duplicates: Vec<(String, Mark)>,
    nodes: usize,
    error: Option<YamlError>,
}

impl Builder {
    fn fail(&mut self, mark: Mark, message: impl Into<String>) {
        if self.error.is_none() {
            self.error = Some(YamlError {
                mark,
                message: message.into(),
            });
        }
    }

    /// Attaches a finished node of `size` nodes (itself and everything
    /// under it) to its parent.
    fn finish(&mut self, node: Node, anchor: usize, size: usize) {
        if self.nodes > MAX_NODES {
            self.fail(
                node.mark,
                format!("more than {MAX_NODES} nodes (alias expansion?)"),
            );
            return;
        }
        if anchor > 0 {
            self.anchors.insert(anchor, (node.clone(), size));
        }
        match self.stack.last_mut() {
            None => self.documents.push(Document {
                root: node,
                duplicate_keys: std::mem::take(&mut self.duplicates),
            }),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                entries,
                pending_key,
                ..
            }) => match pending_key.take() {
                Some(key) => {
                    if entries.iter().any(|(k, _)| k.name == key.name) {
                        self.duplicates.push((key.name.clone(), key.mark));
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
            Event::SequenceStart(anchor, _) => self.stack.push(Frame::Seq {
                items: Vec::new(),
                mark,
                anchor,
                start: self.nodes,
            }),
            Event::MappingStart(anchor, _) => self.stack.push(Frame::Map {
                entries: Vec::new(),
                pending_key: None,
                mark,
                anchor,
                start: self.nodes,
            }),
            Event::SequenceEnd | Event::MappingEnd => {
                self.nodes += 1;
                match self.stack.pop() {
                    Some(Frame::Seq {
                        items,
                        mark,
                        anchor,
                        start,
                    }) => self.finish(node(Value::Seq(items), mark), anchor, self.nodes - start),
                    Some(Frame::Map {
                        entries,
                        mark,
                        anchor,
                        start,
                        ..
                    }) => self.finish(node(Value::Map(entries), mark), anchor, self.nodes - start),
                    None => self.fail(mark, "unbalanced collection end"),
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                self.nodes += 1;
                let mut n = node(resolve(text, style, tag.as_ref()), mark);
                n.block_scalar = matches!(style, TScalarStyle::Literal | TScalarStyle::Folded);
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
    }
}

/// YAML 1.2 core schema: plain scalars may be null, booleans or numbers;
/// quoted and block scalars, and anything tagged `!!str`, are strings.
fn resolve(text: String, style: TScalarStyle, tag: Option<&Tag>) -> Value {
    if let Some(tag) = tag {
        if (tag.handle == "tag:yaml.org,2002:" || tag.handle == "!!") && tag.suffix == "str" {
            return Value::Str(text);
        }
    }
    if style != TScalarStyle::Plain {
        return Value::Str(text);
    }
    match text.as_str() {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY)
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        _ => {}
    }
    if let Some(i) = parse_int(&text) {
        return Value::Int(i);
    }
    if looks_like_float(&text) {
        if let Ok(f) = text.parse::<f64>() {
            return Value::Float(f);
        }
    }
    Value::Str(text)
}

fn parse_int(t: &str) -> Option<i64> {
    if let Some(hex) = t.strip_prefix("0x") {
        return i64::from_str_radix(hex, 16).ok();
    }
    if let Some(oct) = t.strip_prefix("0o") {
        return i64::from_str_radix(oct, 8).ok();
    }
    let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return t.parse().ok();
    }
    None
}

fn looks_like_float(t: &str) -> bool {
    let body = t.strip_prefix(['-', '+']).unwrap_or(t);
    body.bytes().any(|b| b.is_ascii_digit())
        && body
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'))
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
        assert_eq!(docs[0].duplicate_keys[0].1.line, 2);
        assert_eq!(docs[0].root.get("a").unwrap().as_i64(), Some(2));
        assert!(docs[1].duplicate_keys.is_empty());
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
            .contains("nested deeper"));
    }

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
