//! A pipeline file as a YAML tree that remembers where every key and value
//! was written, so any check — the loader's, or a semantic one in
//! `validate` — can name `file:line:column` for a field path such as
//! `stages[3].min_version`.
//!
//! Built from yaml-rust2's event parser, driven in a loop (its `load` helper
//! recurses once per nesting level; this builder keeps an explicit stack and
//! refuses nesting deeper than [`MAX_DEPTH`]). Scalars keep their text and
//! style: `${VAR}` interpolation happens on the text, and only afterwards are
//! plain scalars typed (YAML 1.2 core schema, as yaml-rust2 resolves them),
//! so `keep: ${KEEP}` becomes a number and a quoted `"15"` stays a string.
//! Aliases are expanded (bounded by [`MAX_NODES`], so a "billion laughs"
//! file cannot exhaust memory); duplicate keys are errors, because every
//! YAML library resolves them differently.

use serde_json::{Map, Number, Value};
use std::fmt;
use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};
use yaml_rust2::Yaml;

/// Deeper nesting than any pipeline needs; bounds the converters' recursion.
pub const MAX_DEPTH: usize = 64;
/// Nodes after alias expansion.
pub const MAX_NODES: usize = 100_000;

/// 1-based line and column (columns count characters).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

impl Pos {
    fn from_marker(m: &Marker) -> Self {
        // yaml-rust2 counts lines from 1 and columns from 0.
        Pos {
            line: m.line().max(1),
            col: m.col() + 1,
        }
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

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
    /// scalars are typed here, after interpolation.
    pub fn to_json(&self) -> Value {
        match self {
            Node::Scalar(s) if !s.plain => Value::String(s.text.clone()),
            Node::Scalar(s) => match Yaml::from_str(&s.text) {
                Yaml::Null => Value::Null,
                Yaml::Boolean(b) => Value::Bool(b),
                Yaml::Integer(i) => Value::Number(i.into()),
                Yaml::Real(r) => Yaml::Real(r.clone())
                    .as_f64()
                    .and_then(Number::from_f64)
                    .map_or(Value::String(r), Value::Number),
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

/// An open collection while events stream in.
enum Open {
    Seq {
        items: Vec<Node>,
        pos: Pos,
        anchor: usize,
    },
    Map {
        entries: Vec<Entry>,
        pos: Pos,
        anchor: usize,
        /// The key read, waiting for its value.
        key: Option<(String, Pos)>,
    },
}

struct Builder {
    stack: Vec<Open>,
    anchors: Vec<(usize, Node)>,
    documents: Vec<Node>,
    nodes: usize,
    errors: Vec<TreeError>,
}

/// Parses one YAML document into a [`Node`] tree. An empty file is an
/// error (a pipeline needs content); so is a second document.
pub fn parse(text: &str) -> Result<Node, Vec<TreeError>> {
    let mut parser = Parser::new_from_str(text);
    let mut b = Builder {
        stack: Vec::new(),
        anchors: Vec::new(),
        documents: Vec::new(),
        nodes: 0,
        errors: Vec::new(),
    };
    loop {
        let (event, mark) = match parser.next_token() {
            Ok(x) => x,
            Err(e) => {
                return Err(vec![TreeError {
                    pos: Pos::from_marker(e.marker()),
                    path: String::new(),
                    message: format!("YAML syntax: {}", e.info()),
                }])
            }
        };
        if event == Event::StreamEnd {
            break;
        }
        if let Err(e) = b.event(event, Pos::from_marker(&mark)) {
            b.errors.push(e);
            return Err(b.errors);
        }
    }
    if !b.errors.is_empty() {
        return Err(b.errors);
    }
    match b.documents.len() {
        0 => Err(vec![TreeError {
            pos: Pos { line: 1, col: 1 },
            path: String::new(),
            message: "the file is empty; a pipeline is a YAML mapping".into(),
        }]),
        1 => Ok(b.documents.remove(0)),
        _ => Err(vec![TreeError {
            pos: b.documents[1].pos(),
            path: String::new(),
            message: "a second YAML document (`---`); a pipeline file holds exactly one".into(),
        }]),
    }
}

impl Builder {
    fn path(&self) -> String {
        let segs: Vec<Seg> = self
            .stack
            .iter()
            .filter_map(|o| match o {
                Open::Seq { items, .. } => Some(Seg::Index(items.len())),
                Open::Map {
                    key: Some((k, _)), ..
                } => Some(Seg::Key(k.clone())),
                Open::Map { key: None, .. } => None,
            })
            .collect();
        path_string(&segs)
    }

    fn error(&self, pos: Pos, message: impl Into<String>) -> TreeError {
        TreeError {
            pos,
            path: self.path(),
            message: message.into(),
        }
    }

    fn count(&mut self, n: usize, pos: Pos) -> Result<(), TreeError> {
        self.nodes += n;
        if self.nodes > MAX_NODES {
            return Err(self.error(
                pos,
                format!("more than {MAX_NODES} values (after expanding aliases)"),
            ));
        }
        Ok(())
    }

    fn event(&mut self, event: Event, pos: Pos) -> Result<(), TreeError> {
        match event {
            Event::StreamStart | Event::DocumentStart | Event::DocumentEnd | Event::Nothing => {
                Ok(())
            }
            Event::StreamEnd => Ok(()),
            Event::Scalar(text, style, anchor, tag) => {
                let plain = match (tag, style) {
                    (None, TScalarStyle::Plain) => true,
                    (None, _) => false,
                    (Some(Tag { handle, suffix }), _) if handle == "!!" && suffix == "str" => false,
                    (Some(Tag { handle, suffix }), _) => {
                        return Err(self.error(
                            pos,
                            format!("YAML tag `{handle}{suffix}` is not supported (only `!!str`)"),
                        ))
                    }
                };
                self.count(1, pos)?;
                self.finish(Node::Scalar(Scalar { text, plain, pos }), anchor)
            }
            Event::Alias(id) => {
                let Some(node) = self.anchors.iter().rev().find(|(a, _)| *a == id) else {
                    return Err(self.error(pos, "alias to an unknown anchor"));
                };
                let node = node.1.clone();
                let mut n = 0;
                node.walk(&mut |_, _| n += 1);
                self.count(n, pos)?;
                self.finish(node, 0)
            }
            Event::SequenceStart(anchor, tag) | Event::MappingStart(anchor, tag)
                if tag.is_some() =>
            {
                let _ = anchor;
                Err(self.error(pos, "YAML tags on collections are not supported"))
            }
            Event::SequenceStart(anchor, _) => self.open(
                Open::Seq {
                    items: Vec::new(),
                    pos,
                    anchor,
                },
                pos,
            ),
            Event::MappingStart(anchor, _) => self.open(
                Open::Map {
                    entries: Vec::new(),
                    pos,
                    anchor,
                    key: None,
                },
                pos,
            ),
            Event::SequenceEnd | Event::MappingEnd => match self.stack.pop() {
                Some(Open::Seq { items, pos, anchor }) => {
                    self.finish(Node::Seq { items, pos }, anchor)
                }
                Some(Open::Map {
                    entries,
                    pos,
                    anchor,
                    ..
                }) => self.finish(Node::Map { entries, pos }, anchor),
                None => Err(self.error(pos, "unbalanced collection end")),
            },
        }
    }

    fn open(&mut self, open: Open, pos: Pos) -> Result<(), TreeError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(self.error(pos, format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        self.count(1, pos)?;
        self.stack.push(open);
        Ok(())
    }

    /// A complete node: the document, a sequence item, a key or a value.
    fn finish(&mut self, node: Node, anchor: usize) -> Result<(), TreeError> {
        if anchor != 0 {
            self.anchors.push((anchor, node.clone()));
        }
        let path = self.path();
        match self.stack.last_mut() {
            None => {
                self.documents.push(node);
                Ok(())
            }
            Some(Open::Seq { items, .. }) => {
                items.push(node);
                Ok(())
            }
            Some(Open::Map { entries, key, .. }) => match key.take() {
                None => match node {
                    Node::Scalar(s) => {
                        if let Some(first) = entries.iter().find(|e| e.key == s.text) {
                            let message = format!(
                                "duplicate key `{}` (first at line {})",
                                s.text, first.key_pos.line
                            );
                            return Err(TreeError {
                                pos: s.pos,
                                path,
                                message,
                            });
                        }
                        *key = Some((s.text, s.pos));
                        Ok(())
                    }
                    other => Err(TreeError {
                        pos: other.pos(),
                        path,
                        message: "a mapping key must be a plain string".into(),
                    }),
                },
                Some((k, key_pos)) => {
                    entries.push(Entry {
                        key: k,
                        key_pos,
                        value: node,
                    });
                    Ok(())
                }
            },
        }
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
