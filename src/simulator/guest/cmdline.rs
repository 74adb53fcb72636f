//! Splitting a Windows command line into arguments.
//!
//! Windows passes a process one string; programs split it themselves, almost
//! all with the MSVC runtime rules (`CommandLineToArgvW`): whitespace
//! separates, double quotes group, `\"` is a literal quote, backslashes are
//! literal unless they precede a quote. cmd.exe is the exception and takes
//! the raw text after `/c` (see `programs`).

/// Splits `line` with the MSVC runtime rules.
pub fn split(line: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut current = String::new();
    let mut in_arg = false;
    let mut in_quotes = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let mut backslashes = 1;
                while chars.peek() == Some(&'\\') {
                    chars.next();
                    backslashes += 1;
                }
                in_arg = true;
                if chars.peek() == Some(&'"') {
                    // 2n backslashes + quote: n backslashes, the quote toggles;
                    // 2n+1: n backslashes and a literal quote.
                    current.extend(std::iter::repeat_n('\\', backslashes / 2));
                    if backslashes % 2 == 1 {
                        chars.next();
                        current.push('"');
                    }
                } else {
                    current.extend(std::iter::repeat_n('\\', backslashes));
                }
            }
            '"' => {
                in_arg = true;
                if in_quotes && chars.peek() == Some(&'"') {
                    // `""` inside quotes is a literal quote (post-2008 CRT).
                    chars.next();
                    current.push('"');
                } else {
                    in_quotes = !in_quotes;
                }
            }
            c if c.is_whitespace() && !in_quotes => {
                if in_arg {
                    args.push(std::mem::take(&mut current));
                    in_arg = false;
                }
            }
            c => {
                in_arg = true;
                current.push(c);
            }
        }
    }
    if in_arg {
        args.push(current);
    }
    args
}

/// Splits `text` on `separator` where it is outside single or double quotes
/// and outside `{ }` blocks (PowerShell statements, cmd `&` chains).
pub fn split_outside_quotes(text: &str, separator: char) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    let mut depth = 0usize;
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => {
                quote = None;
                current.push(c);
            }
            (Some(_), c) => current.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                current.push(c);
            }
            (None, '{') => {
                depth += 1;
                current.push(c);
            }
            (None, '}') => {
                depth = depth.saturating_sub(1);
                current.push(c);
            }
            (None, c) if c == separator && depth == 0 => parts.push(std::mem::take(&mut current)),
            (None, c) => current.push(c),
        }
    }
    parts.push(current);
    parts
        .into_iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

/// The first (possibly quoted) word of a raw command line and the raw rest.
pub fn split_first_word(text: &str) -> (&str, &str) {
    let text = text.trim_start();
    let end = match text.strip_prefix('"') {
        Some(rest) => rest.find('"').map(|i| i + 2).unwrap_or(text.len()),
        None => text.find(char::is_whitespace).unwrap_or(text.len()),
    };
    (&text[..end], text[end..].trim_start())
}

/// A Windows tool switch in canonical form: lowercase, and `-x` read as
/// `/x` (most System32 tools accept both prefixes).
pub fn switch_name(arg: &str) -> String {
    let lower = arg.to_ascii_lowercase();
    match lower.strip_prefix('-') {
        Some(rest) => format!("/{rest}"),
        None => lower,
    }
}

/// Removes one level of matching surrounding quotes.
pub fn unquote(text: &str) -> &str {
    let text = text.trim();
    for q in ['"', '\''] {
        if text.len() >= 2 && text.starts_with(q) && text.ends_with(q) {
            return &text[1..text.len() - 1];
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_groups_quoted_paths_with_spaces() {
        assert_eq!(
            split(r#"-File "C:\Program Files\x.ps1" -A b"#),
            vec!["-File", r"C:\Program Files\x.ps1", "-A", "b"]
        );
    }

    #[test]
    fn split_keeps_backslashes_not_before_a_quote() {
        assert_eq!(
            split(r"C:\dir\ \\server\share"),
            vec![r"C:\dir\", r"\\server\share"]
        );
    }

    #[test]
    fn split_escaped_quote_is_literal() {
        assert_eq!(split(r#"a\"b "c\\" d"#), vec![r#"a"b"#, r"c\", "d"]);
    }

    #[test]
    fn split_empty_quotes_make_an_empty_argument() {
        assert_eq!(split(r#"-X "" -Y"#), vec!["-X", "", "-Y"]);
    }

    #[test]
    fn split_outside_quotes_ignores_separators_in_strings_and_blocks() {
        assert_eq!(
            split_outside_quotes("a 'x;y'; if (1) { b; c }; d", ';'),
            vec!["a 'x;y'", "if (1) { b; c }", "d"]
        );
    }
}
