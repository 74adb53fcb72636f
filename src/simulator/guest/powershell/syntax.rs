//! PowerShell's surface syntax as far as the interpreter needs it: words,
//! quotes, comments, balanced groups and `-Name value` parameters.

/// Drops `# ...` line comments and `<# ... #>` blocks outside strings.
pub(super) fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut quote: Option<char> = None;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => {
                quote = None;
                out.push(c);
            }
            (Some(_), c) => out.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                out.push(c);
            }
            (None, '<') if chars.peek() == Some(&'#') => {
                let mut previous = ' ';
                for c in chars.by_ref() {
                    if previous == '#' && c == '>' {
                        break;
                    }
                    previous = c;
                }
            }
            (None, '#') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            (None, '\r') => {}
            (None, c) => out.push(c),
        }
    }
    out
}

/// Splits `text` at the first top-level `open`…`close` group: returns its
/// inside and what follows.
pub(super) fn take_balanced(text: &str, open: char, close: char) -> Option<(&str, &str)> {
    let body = text.strip_prefix(open)?;
    let mut depth = 1usize;
    let mut quote: Option<char> = None;
    for (i, c) in body.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, c) if c == open => depth += 1,
            (None, c) if c == close => {
                depth -= 1;
                if depth == 0 {
                    return Some((&body[..i], &body[i + 1..]));
                }
            }
            _ => {}
        }
    }
    None
}

/// `a -eq b` / `a -ne b` (case-insensitive, like PowerShell's operators).
pub(super) fn split_comparison(text: &str) -> Option<(&str, &str, bool)> {
    let lower = text.to_ascii_lowercase();
    for (op, negate) in [(" -eq ", false), (" -ne ", true)] {
        if let Some(i) = lower.find(op) {
            return Some((&text[..i], &text[i + op.len()..], negate));
        }
    }
    None
}

/// PowerShell argument words: whitespace-separated, single or double quotes
/// group and are removed.
pub(super) fn ps_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    let mut in_word = false;
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => current.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut current));
                    in_word = false;
                }
            }
            (None, c) => {
                current.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(current);
    }
    words
}

/// The value of `-Name value` or `-Name:value`.
pub(super) fn named(args: &[String], name: &str) -> Option<String> {
    args.iter().enumerate().find_map(|(i, arg)| {
        let flag = arg.strip_prefix('-')?;
        match flag.split_once(':') {
            Some((key, value)) if key.eq_ignore_ascii_case(name) => Some(value.to_string()),
            None if flag.eq_ignore_ascii_case(name) => args.get(i + 1).cloned(),
            _ => None,
        }
    })
}

pub(super) fn has_switch(args: &[String], name: &str) -> bool {
    args.iter().any(|arg| {
        arg.strip_prefix('-').is_some_and(|f| {
            f.split(':')
                .next()
                .is_some_and(|k| k.eq_ignore_ascii_case(name))
        })
    })
}

/// `-Name value`, or else the `position`-th argument that is neither a
/// `-Flag` nor a flag's value.
pub(super) fn named_or_positional(args: &[String], name: &str, position: usize) -> Option<String> {
    if let Some(value) = named(args, name) {
        return Some(value);
    }
    let mut positional = Vec::new();
    let mut skip_next = false;
    for arg in args {
        if skip_next {
            skip_next = false;
        } else if let Some(flag) = arg.strip_prefix('-') {
            // Known switches take no value; every other flag consumes the next word.
            skip_next =
                !flag.contains(':') && !SWITCHES.iter().any(|s| s.eq_ignore_ascii_case(flag));
        } else {
            positional.push(arg.clone());
        }
    }
    positional.into_iter().nth(position)
}

const SWITCHES: &[&str] = &[
    "force", "recurse", "passthru", "confirm", "whatif", "verbose",
];
