//! A small element tree built from quick-xml's streaming reader.
//!
//! Why a tree at all: the rules look at siblings and ancestors (which pass a
//! setting sits in, whether a password has `PlainText`), and answer files are
//! a few kilobytes. The tree is an arena (`Vec<Element>` with indices), built
//! with an explicit stack, so hostile nesting costs heap, not call stack, and
//! it is cut off at [`MAX_DEPTH`] anyway. Every node keeps byte spans so the
//! rules can point at the exact name, attribute value or text.

use super::diagnostic::Span;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

/// Real answer files nest about 8 deep; anything past this is hostile or broken.
pub const MAX_DEPTH: usize = 256;
/// Answer files are kilobytes; refuse before parsing rather than risk memory.
pub const MAX_INPUT_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct Attr {
    /// Name as written, with any prefix (`wcm:action`).
    pub name: String,
    pub value: String,
    pub value_span: Span,
}

#[derive(Debug, Clone)]
pub struct Element {
    /// Local name (prefix removed).
    pub name: String,
    /// Resolved namespace URI, if any.
    pub namespace: Option<String>,
    /// Span of the element name inside its start tag.
    pub name_span: Span,
    pub attrs: Vec<Attr>,
    pub children: Vec<usize>,
    pub parent: Option<usize>,
    /// Trimmed, unescaped character data directly inside the element.
    pub text: String,
    /// Span of the trimmed text, or of the start tag when there is none.
    pub text_span: Span,
}

impl Element {
    pub fn attr(&self, name: &str) -> Option<&Attr> {
        self.attrs.iter().find(|a| a.name == name)
    }
}

#[derive(Debug, Default)]
pub struct Document {
    pub elements: Vec<Element>,
}

impl Document {
    pub fn root(&self) -> Option<&Element> {
        self.elements.first()
    }

    pub fn children<'a>(&'a self, el: &'a Element) -> impl Iterator<Item = &'a Element> + 'a {
        el.children
            .iter()
            .filter_map(move |&i| self.elements.get(i))
    }

    pub fn child<'a>(&'a self, el: &'a Element, name: &str) -> Option<&'a Element> {
        self.children(el).find(|c| c.name == name)
    }

    /// Follows a path of child names (`["UserAccounts", "AdministratorPassword"]`).
    pub fn path<'a>(&'a self, el: &'a Element, path: &[&str]) -> Option<&'a Element> {
        path.iter().try_fold(el, |cur, name| self.child(cur, name))
    }
}

/// Why the input is not a usable XML document; `span` points at the place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseFailure {
    TooLarge { len: usize },
    TooDeep { span: Span },
    Malformed { message: String, span: Span },
}

fn malformed(message: impl Into<String>, at: usize) -> ParseFailure {
    ParseFailure::Malformed {
        message: message.into(),
        span: Span::new(at, at + 1),
    }
}

/// Parses `text` into a [`Document`]. Never panics; every problem is a
/// [`ParseFailure`] with a position.
pub fn parse(text: &str) -> Result<Document, ParseFailure> {
    if text.len() > MAX_INPUT_BYTES {
        return Err(ParseFailure::TooLarge { len: text.len() });
    }
    let mut reader = NsReader::from_str(text);
    reader.config_mut().check_end_names = true;
    reader.config_mut().check_comments = true;
    let mut doc = Document::default();
    let mut stack: Vec<usize> = Vec::new();
    let mut root_closed = false;
    loop {
        let at = reader.buffer_position() as usize;
        let (ns, event) = match reader.read_resolved_event() {
            Ok(ev) => ev,
            Err(e) => return Err(malformed(e.to_string(), reader.error_position() as usize)),
        };
        let ns = match ns {
            ResolveResult::Bound(n) => Some(String::from_utf8_lossy(n.as_ref()).into_owned()),
            ResolveResult::Unbound => None,
            ResolveResult::Unknown(p) => {
                let p = String::from_utf8_lossy(&p).into_owned();
                return Err(malformed(
                    format!("namespace prefix `{p}` is not declared"),
                    at,
                ));
            }
        };
        match event {
            Event::Start(ref start) | Event::Empty(ref start) => {
                if root_closed || (stack.is_empty() && !doc.elements.is_empty()) {
                    return Err(malformed("more than one root element", at));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(ParseFailure::TooDeep {
                        span: Span::new(at, at + 1),
                    });
                }
                let idx = doc.elements.len();
                let el = element(start, ns, stack.last().copied(), at)?;
                if let Some(&parent) = stack.last() {
                    doc.elements[parent].children.push(idx);
                }
                doc.elements.push(el);
                if matches!(event, Event::Start(_)) {
                    stack.push(idx);
                } else if stack.is_empty() {
                    root_closed = true;
                }
            }
            Event::End(_) => {
                stack.pop();
                if stack.is_empty() {
                    root_closed = true;
                }
            }
            Event::Text(t) => {
                let raw = t.unescape().map_err(|e| malformed(e.to_string(), at))?;
                add_text(&mut doc, &stack, &raw, at, at + t.len(), root_closed)?;
            }
            Event::CData(c) => {
                let raw = String::from_utf8_lossy(&c).into_owned();
                // `<![CDATA[` is 9 bytes; the content starts after it.
                add_text(
                    &mut doc,
                    &stack,
                    &raw,
                    at + 9,
                    at + 9 + c.len(),
                    root_closed,
                )?;
            }
            Event::DocType(_) => {
                return Err(malformed(
                    "DOCTYPE declarations are not allowed in answer files",
                    at,
                ));
            }
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    if let Some(&open) = stack.last() {
        let name = doc
            .elements
            .get(open)
            .map(|e| e.name.clone())
            .unwrap_or_default();
        return Err(malformed(
            format!("element `{name}` is never closed"),
            text.len(),
        ));
    }
    if doc.elements.is_empty() {
        return Err(malformed("no root element", 0));
    }
    Ok(doc)
}

fn element(
    start: &BytesStart,
    namespace: Option<String>,
    parent: Option<usize>,
    at: usize,
) -> Result<Element, ParseFailure> {
    let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
    let raw_name_len = start.name().as_ref().len();
    let prefix_len = raw_name_len - name.len();
    // `at` is the '<'; the local name follows it and any `prefix:`.
    let name_span = Span::new(at + 1 + prefix_len, at + 1 + raw_name_len);
    let mut attrs = Vec::new();
    let tag_start = at + 1;
    let raw: &[u8] = start;
    for attr in start.attributes().with_checks(true) {
        let attr = attr.map_err(|e| malformed(e.to_string(), at))?;
        let value = attr
            .unescape_value()
            .map_err(|e| malformed(e.to_string(), at))?
            .into_owned();
        let key = String::from_utf8_lossy(attr.key.as_ref()).into_owned();
        let value_span = locate_attr_value(raw, &key)
            .map_or(name_span, |(s, e)| Span::new(tag_start + s, tag_start + e));
        attrs.push(Attr {
            name: key,
            value,
            value_span,
        });
    }
    Ok(Element {
        name,
        namespace,
        name_span,
        attrs,
        children: Vec::new(),
        parent,
        text: String::new(),
        text_span: name_span,
    })
}

/// Finds the raw value bytes of attribute `key` inside the tag content, so
/// diagnostics can underline the value rather than the whole tag.
fn locate_attr_value(raw: &[u8], key: &str) -> Option<(usize, usize)> {
    let text = std::str::from_utf8(raw).ok()?;
    let mut from = 0;
    while let Some(rel) = text.get(from..)?.find(key) {
        let pos = from + rel;
        let before_ok = pos == 0
            || text
                .as_bytes()
                .get(pos - 1)
                .is_some_and(|b| b.is_ascii_whitespace());
        let rest = text.get(pos + key.len()..)?;
        let trimmed = rest.trim_start();
        if before_ok && trimmed.starts_with('=') {
            let after_eq = trimmed.get(1..)?.trim_start();
            let quote = after_eq.chars().next()?;
            let value_start = text.len() - after_eq.len() + 1;
            let len = after_eq.get(1..)?.find(quote)?;
            return Some((value_start, value_start + len));
        }
        from = pos + key.len();
    }
    None
}

fn add_text(
    doc: &mut Document,
    stack: &[usize],
    raw: &str,
    start: usize,
    end: usize,
    root_closed: bool,
) -> Result<(), ParseFailure> {
    let trimmed = raw.trim();
    let Some(&top) = stack.last() else {
        if !trimmed.is_empty() {
            let what = if root_closed { "after" } else { "before" };
            return Err(malformed(format!("text {what} the root element"), start));
        }
        return Ok(());
    };
    if trimmed.is_empty() {
        return Ok(());
    }
    let el = &mut doc.elements[top];
    if el.text.is_empty() {
        // Offsets of the trimmed text inside the raw event: exact when the
        // text has no entities, close enough when it has (the unescaped text
        // is shorter than the source).
        let lead = raw.len() - raw.trim_start().len();
        let s = (start + lead).min(end);
        el.text_span = Span::new(s, (s + trimmed.len()).min(end.max(s + 1)));
    }
    el.text.push_str(trimmed);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_point_at_names_attribute_values_and_text() {
        let src = r#"<a xmlns="urn:x"><b k="v">  hi </b></a>"#;
        let doc = parse(src).unwrap();
        let b = &doc.elements[1];
        assert_eq!(&src[b.name_span.start..b.name_span.end], "b");
        assert_eq!(&src[b.text_span.start..b.text_span.end], "hi");
        let k = b.attr("k").unwrap();
        assert_eq!(&src[k.value_span.start..k.value_span.end], "v");
        assert_eq!(b.namespace.as_deref(), Some("urn:x"));
    }

    #[test]
    fn rejects_unclosed_second_root_and_doctype() {
        assert!(matches!(
            parse("<a><b></a>"),
            Err(ParseFailure::Malformed { .. })
        ));
        assert!(matches!(
            parse("<a/><b/>"),
            Err(ParseFailure::Malformed { .. })
        ));
        assert!(matches!(
            parse("<!DOCTYPE a><a/>"),
            Err(ParseFailure::Malformed { .. })
        ));
        assert!(matches!(parse("<a>"), Err(ParseFailure::Malformed { .. })));
        assert!(matches!(parse(""), Err(ParseFailure::Malformed { .. })));
    }

    #[test]
    fn nesting_past_the_limit_is_too_deep() {
        let src = "<a>".repeat(MAX_DEPTH + 1);
        assert!(matches!(parse(&src), Err(ParseFailure::TooDeep { .. })));
    }
}
