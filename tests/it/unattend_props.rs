//! Robustness: random and mutated answer files never panic, always finish
//! with a result, and hostile depth or size gives an error diagnostic.

use gild::unattend::{lint_bytes, lint_text, Profile, Severity};
use proptest::prelude::*;

const SEED: &str = include_str!("../fixtures/unattend/seed.xml");
const CLEAN: &str = include_str!("../fixtures/unattend/clean.xml");

/// Edits that keep the file XML-ish: byte flips, deletions, insertions of
/// markup fragments, truncation.
#[derive(Debug, Clone)]
enum Edit {
    Flip(usize, u8),
    Delete(usize, usize),
    Insert(usize, &'static str),
    Truncate(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let fragments = prop::sample::select(vec![
        "<",
        ">",
        "</",
        "/>",
        "&",
        "&amp;",
        "&bogus;",
        "<![CDATA[",
        "]]>",
        "<!--",
        "-->",
        "\"",
        "'",
        "<x>",
        "</x>",
        "<!DOCTYPE x>",
        "<?pi?>",
        "xmlns:p=\"u\"",
        "<p:y/>",
        "<Value>",
        "</component>",
        "<settings pass=\"\">",
    ]);
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Flip(i, b)),
        (any::<usize>(), 0usize..64).prop_map(|(i, n)| Edit::Delete(i, n)),
        (any::<usize>(), fragments).prop_map(|(i, f)| Edit::Insert(i, f)),
        any::<usize>().prop_map(Edit::Truncate),
    ]
}

fn apply(base: &str, edits: &[Edit]) -> Vec<u8> {
    let mut b = base.as_bytes().to_vec();
    for e in edits {
        let len = b.len().max(1);
        match *e {
            Edit::Flip(i, v) => {
                if let Some(x) = b.get_mut(i % len) {
                    *x = v;
                }
            }
            Edit::Delete(i, n) => {
                let s = (i % len).min(b.len());
                let e = (s + n).min(b.len());
                b.drain(s..e);
            }
            Edit::Insert(i, f) => {
                let at = (i % len).min(b.len());
                b.splice(at..at, f.bytes());
            }
            Edit::Truncate(i) => b.truncate(i % len),
        }
    }
    b
}

fn check_sane(bytes: &[u8]) {
    let (_, diags) = lint_bytes("p.xml", bytes, Profile::Wmco);
    for d in &diags {
        assert!(
            d.line >= 1 && d.col >= 1 && d.span.start <= d.span.end,
            "{d:?}"
        );
        assert!(d.span.start <= bytes.len() + 1, "{d:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        check_sane(&bytes);
    }

    #[test]
    fn random_text_never_panics(text in "[<>/&;=\"' a-zA-Z:!?\\[\\]-]{0,400}") {
        check_sane(text.as_bytes());
    }

    #[test]
    fn mutated_seed_and_clean_files_never_panic(edits in prop::collection::vec(edit(), 1..8), which in any::<bool>()) {
        let base = if which { SEED } else { CLEAN };
        check_sane(&apply(base, &edits));
    }
}

#[test]
fn hundred_thousand_nesting_levels_give_an_error_not_a_stack_overflow() {
    let text = format!("{}{}", "<a>".repeat(100_000), "</a>".repeat(100_000));
    let diags = lint_text("deep.xml", &text, Profile::Wmco);
    assert_eq!(diags.len(), 1);
    assert_eq!(diags[0].rule_id, "xml-too-deep");
    assert_eq!(diags[0].severity, Severity::Error);
}

#[test]
fn hundred_megabyte_input_gives_an_error_without_parsing() {
    // Valid-looking XML so only the size guard can stop it.
    let mut big = String::with_capacity(100 * 1024 * 1024 + 64);
    big.push_str("<unattend xmlns=\"urn:schemas-microsoft-com:unattend\">");
    while big.len() < 100 * 1024 * 1024 {
        big.push_str("<!-- padding padding padding padding padding padding padding -->\n");
    }
    big.push_str("</unattend>");
    let (_, diags) = lint_bytes("big.xml", big.as_bytes(), Profile::Wmco);
    assert_eq!(
        diags.iter().map(|d| d.rule_id).collect::<Vec<_>>(),
        ["input-too-large"]
    );
    assert!(diags[0].is_input_failure());
}
