//! A small element tree built from quick-xml's streaming reader.
//!
//! Why a tree at all: the rules look at siblings and ancestors (which pass a
//! setting sits in, whether a password has `PlainText`), and answer files are
//! a few kilobytes. The tree is an arena (`Vec<Element>` with indices), built
//! with an explicit stack, so hostile nesting costs heap, not call stack, and
//! it is cut off at [`MAX_DEPTH`] anyway. Every node keeps byte spans so the
//! rules can point at the exact name, attribute value or text.

use crate::report::Span;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;
use std::borrow::Cow;

/// Real answer files nest about 8 deep; anything past this is hostile or broken.
pub const MAX_DEPTH: usize = 256;
/// Answer files are kilobytes; refuse before parsing rather than risk memory.
pub const MAX_INPUT_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct Attr<'a> {
    /// Name as written, with any prefix (`wcm:action`).
    pub name: Cow<'a, str>,
    pub value: Cow<'a, str>,
    pub value_span: Span,
}

/// One element. Names, values and text borrow from the input whenever
/// they need no unescaping: the linter's cost is mostly allocation, and a
/// typical answer file has hundreds of strings.
#[derive(Debug, Clone)]
pub struct Element<'a> {
    /// Local name (prefix removed).
    pub name: Cow<'a, str>,
    /// Resolved namespace URI; kept for the root and its children only, the
    /// elements whose namespace a rule checks (`unattend`, and WSIM's
    /// `cpi:offlineImage` beside the `settings`).
    pub namespace: Option<String>,
    /// Span of the element name inside its start tag.
    pub name_span: Span,
    pub attrs: Vec<Attr<'a>>,
    pub children: Vec<usize>,
    pub parent: Option<usize>,
    /// Trimmed, unescaped character data directly inside the element.
    pub text: Cow<'a, str>,
    /// Span of the trimmed text, or of the element name when there is none.
    pub text_span: Span,
}

impl<'a> Element<'a> {
    pub fn attr(&self, name: &str) -> Option<&Attr<'a>> {
        self.attrs.iter().find(|a| a.name == name)
    }
}

#[derive(Debug, Default)]
pub struct Document<'a> {
    pub elements: Vec<Element<'a>>,
}

impl<'a> Document<'a> {
    pub fn root(&self) -> Option<&Element<'a>> {
        self.elements.first()
    }

    pub fn children<'d>(
        &'d self,
        el: &'d Element<'a>,
    ) -> impl Iterator<Item = &'d Element<'a>> + 'd {
        el.children
            .iter()
            .filter_map(move |&i| self.elements.get(i))
    }

    pub fn child<'d>(&'d self, el: &'d Element<'a>, name: &str) -> Option<&'d Element<'a>> {
        self.children(el).find(|c| c.name == name)
    }

    /// Follows a path of child names (`["UserAccounts", "AdministratorPassword"]`).
    pub fn path<'d>(&'d self, el: &'d Element<'a>, path: &[&str]) -> Option<&'d Element<'a>> {
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
pub fn parse(text: &str) -> Result<Document<'_>, ParseFailure> {
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
            ResolveResult::Bound(n) if stack.len() <= 1 => {
                Some(String::from_utf8_lossy(n.as_ref()).into_owned())
            }
            ResolveResult::Bound(_) | ResolveResult::Unbound => None,
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
                let el = element(text, start, ns, stack.last().copied(), at)?;
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
                let raw = borrow_str(text, &t);
                let raw =
                    quick_xml::escape::unescape(raw).map_err(|e| malformed(e.to_string(), at))?;
                add_text(&mut doc, &stack, raw, at, at + t.len(), root_closed)?;
            }
            Event::CData(c) => {
                let raw = Cow::Borrowed(borrow_str(text, &c));
                // `<![CDATA[` is 9 bytes; the content starts after it.
                add_text(&mut doc, &stack, raw, at + 9, at + 9 + c.len(), root_closed)?;
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

/// The input's own `&str` for a piece of an event. With a slice reader
/// every event piece points into the input; the empty-string fallback only
/// guards that assumption (it cannot be hit with `NsReader::from_str`).
fn borrow_str<'a>(text: &'a str, part: &[u8]) -> &'a str {
    offset_in(text, part)
        .and_then(|o| text.get(o..o + part.len()))
        .unwrap_or_default()
}

fn offset_in(text: &str, part: &[u8]) -> Option<usize> {
    let base = text.as_ptr() as usize;
    let p = part.as_ptr() as usize;
    (p >= base && p + part.len() <= base + text.len()).then(|| p - base)
}

fn element<'a>(
    text: &'a str,
    start: &BytesStart,
    namespace: Option<String>,
    parent: Option<usize>,
    at: usize,
) -> Result<Element<'a>, ParseFailure> {
    let name = Cow::Borrowed(borrow_str(text, start.local_name().into_inner()));
    let raw_name_len = start.name().as_ref().len();
    let prefix_len = raw_name_len - name.len();
    // `at` is the '<'; the local name follows it and any `prefix:`.
    let name_span = Span::new(at + 1 + prefix_len, at + 1 + raw_name_len);
    let mut attrs = Vec::new();
    for attr in start.attributes().with_checks(true) {
        let attr = attr.map_err(|e| malformed(e.to_string(), at))?;
        let raw_value: &[u8] = &attr.value;
        let value_span =
            offset_in(text, raw_value).map_or(name_span, |o| Span::new(o, o + raw_value.len()));
        let value = quick_xml::escape::unescape(borrow_str(text, raw_value))
            .map_err(|e| malformed(e.to_string(), at))?;
        let key = Cow::Borrowed(borrow_str(text, attr.key.as_ref()));
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
        text: Cow::Borrowed(""),
        text_span: name_span,
    })
}

fn add_text<'a>(
    doc: &mut Document<'a>,
    stack: &[usize],
    raw: Cow<'a, str>,
    start: usize,
    end: usize,
    root_closed: bool,
) -> Result<(), ParseFailure> {
    let trimmed_len = raw.trim().len();
    let Some(&top) = stack.last() else {
        if trimmed_len > 0 {
            let what = if root_closed { "after" } else { "before" };
            return Err(malformed(format!("text {what} the root element"), start));
        }
        return Ok(());
    };
    if trimmed_len == 0 {
        return Ok(());
    }
    let lead = raw.len() - raw.trim_start().len();
    let trimmed: Cow<'a, str> = match raw {
        Cow::Borrowed(b) => Cow::Borrowed(b.trim()),
        Cow::Owned(o) => Cow::Owned(o.trim().to_string()),
    };
    let Some(el) = doc.elements.get_mut(top) else {
        return Ok(());
    };
    if el.text.is_empty() {
        // Offsets of the trimmed text inside the raw event: exact when the
        // text has no entities, close enough when it has (the unescaped text
        // is shorter than the source).
        let s = (start + lead).min(end);
        el.text_span = Span::new(s, (s + trimmed.len()).min(end.max(s + 1)));
        el.text = trimmed;
    } else {
        el.text.to_mut().push_str(&trimmed);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_point_at_names_attribute_values_text_and_root_namespace() {
        let src = r#"<a xmlns="urn:x"><b k="v">  hi <c/></b></a>"#;
        let doc = parse(src).unwrap();
        let b = &doc.elements[1];
        assert_eq!(&src[b.name_span.start..b.name_span.end], "b");
        assert_eq!(&src[b.text_span.start..b.text_span.end], "hi");
        let k = b.attr("k").unwrap();
        assert_eq!(&src[k.value_span.start..k.value_span.end], "v");
        assert_eq!(doc.elements[0].namespace.as_deref(), Some("urn:x"));
        assert_eq!(b.namespace.as_deref(), Some("urn:x"));
        assert_eq!(
            doc.elements[2].namespace, None,
            "only the root and its children keep their namespace"
        );
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
