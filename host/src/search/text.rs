//! Words as search sees them: names split on `-`, `_`, `.`, `/`, `:` and camelCase
//! (`routePlanner-v2` is `route planner v2`), lowercased; the user's text split into words
//! and "quoted phrases" — never engine syntax; and highlighting of the words a query
//! matched, marked with the response's own tags.

/// `text` as space-separated lowercase words, names split into their parts.
pub fn words(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut previous: Option<char> = None;
    for c in text.chars() {
        if c.is_alphanumeric() {
            // A lower-to-upper step starts a new word (camelCase), as does a letter-digit one.
            let boundary = previous.is_some_and(|p| {
                (p.is_lowercase() && c.is_uppercase())
                    || (p.is_alphabetic() && c.is_numeric())
                    || (p.is_numeric() && c.is_alphabetic())
            });
            if boundary {
                out.push(' ');
            }
            out.extend(c.to_lowercase());
        } else if !out.ends_with(' ') && !out.is_empty() {
            out.push(' ');
        }
        previous = Some(c);
    }
    out.trim_end().to_string()
}

/// What the user typed: loose words, "quoted phrases" (each a list of words), and whether
/// the last loose word is still being typed (matched as a prefix).
#[derive(Debug, Default, PartialEq)]
pub struct Terms {
    pub words: Vec<String>,
    pub phrases: Vec<Vec<String>>,
    pub last_is_prefix: bool,
}

impl Terms {
    pub fn parse(term: &str) -> Self {
        let mut terms = Terms::default();
        let mut loose = String::new();
        let mut rest = term;
        // Balanced quotes make phrases; an unbalanced one is plain text.
        while let Some(open) = rest.find('"') {
            let Some(close) = rest[open + 1..].find('"') else {
                break;
            };
            loose.push_str(&rest[..open]);
            loose.push(' ');
            let phrase: Vec<String> = split(&rest[open + 1..open + 1 + close]);
            if !phrase.is_empty() {
                terms.phrases.push(phrase);
            }
            rest = &rest[open + close + 2..];
        }
        loose.push_str(rest);
        terms.words = split(&loose);
        terms.last_is_prefix = !terms.words.is_empty()
            && loose
                .trim_end_matches('"')
                .chars()
                .last()
                .is_some_and(char::is_alphanumeric);
        terms
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty() && self.phrases.is_empty()
    }

    /// Whether `word` (lowercase) is one the query matches: equal to a query word or a
    /// phrase's word, a prefix of it for the word being typed, or one edit from a word of
    /// five letters or more.
    fn matches(&self, word: &str) -> bool {
        let last = self.words.len().saturating_sub(1);
        self.words.iter().enumerate().any(|(i, w)| {
            w == word
                || (i == last && self.last_is_prefix && word.starts_with(w.as_str()))
                || (w.chars().count() >= 5 && within_one_edit(w, word))
        }) || self.phrases.iter().flatten().any(|w| w == word)
    }
}

fn split(text: &str) -> Vec<String> {
    words(text)
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Levenshtein distance of at most one, a swap of neighbours counting as one.
fn within_one_edit(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a.len().abs_diff(b.len()) > 1 {
        return false;
    }
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let (ra, rb) = (&a[prefix..], &b[prefix..]);
    ra.is_empty() && rb.len() <= 1
        || rb.is_empty() && ra.len() <= 1
        || ra.get(1..) == rb.get(1..)
        || ra.get(1..) == Some(rb)
        || Some(ra) == rb.get(1..)
        || (ra.len() >= 2
            && rb.len() >= 2
            && ra[0] == rb[1]
            && ra[1] == rb[0]
            && ra[2..] == rb[2..])
}

/// `text` with the words `terms` matches between `pre` and `post`; long text is cut to
/// about `max_chars` around the first match.
pub fn highlight(text: &str, terms: &Terms, pre: &str, post: &str, max_chars: usize) -> String {
    let spans = word_spans(text);
    let hits: Vec<(usize, usize)> = spans
        .into_iter()
        .filter(|(start, end)| split(&text[*start..*end]).iter().any(|w| terms.matches(w)))
        .collect();
    let (from, to) = window(text, hits.first().map(|h| h.0), max_chars);
    let mut out = String::with_capacity(to - from + 32);
    if from > 0 {
        out.push('…');
    }
    let mut at = from;
    for (start, end) in hits.into_iter().filter(|(s, e)| *s >= from && *e <= to) {
        out.push_str(&text[at..start]);
        out.push_str(pre);
        out.push_str(&text[start..end]);
        out.push_str(post);
        at = end;
    }
    out.push_str(&text[at..to]);
    if to < text.len() {
        out.push('…');
    }
    out
}

/// Byte ranges of the runs of letters and digits in `text`.
fn word_spans(text: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                spans.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        spans.push((s, text.len()));
    }
    spans
}

/// A window of about `max_chars` bytes of `text` (on char boundaries) that shows `focus`.
fn window(text: &str, focus: Option<usize>, max_chars: usize) -> (usize, usize) {
    if text.len() <= max_chars {
        return (0, text.len());
    }
    let start = focus.map_or(0, |f| f.saturating_sub(max_chars / 4));
    let end = (start + max_chars).min(text.len());
    let boundary = |mut i: usize| {
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    (boundary(start), boundary(end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_into_their_words() {
        assert_eq!(words("route-planner"), "route planner");
        assert_eq!(words("routePlanner_v2.api"), "route planner v 2 api");
        assert_eq!(words("Checkout Service"), "checkout service");
        assert_eq!(words("group:default/payments"), "group default payments");
    }

    #[test]
    fn user_text_is_words_and_phrases_never_syntax() {
        let terms = Terms::parse(r#"pay* -ledger "checkout service" kind:api NEAR("x"#);
        assert_eq!(
            terms.words,
            ["pay", "ledger", "kind", "api", "near", "x"].map(String::from)
        );
        assert_eq!(
            terms.phrases,
            vec![vec!["checkout".to_string(), "service".to_string()]]
        );
        assert!(Terms::parse("plan").last_is_prefix);
        assert!(!Terms::parse("plan ").last_is_prefix);
        assert!(Terms::parse("\"\"").is_empty());
    }

    #[test]
    fn one_edit_is_forgiven() {
        for (a, b) in [
            ("checkout", "chekout"),
            ("checkout", "checkuot"),
            ("ledger", "ledgers"),
            ("ledger", "lodger"),
        ] {
            assert!(within_one_edit(a, b), "{a} {b}");
        }
        for (a, b) in [("checkout", "chekuot"), ("ledger", "led"), ("abc", "xyz")] {
            assert!(!within_one_edit(a, b), "{a} {b}");
        }
    }

    #[test]
    fn highlights_mark_matched_words_only() {
        let terms = Terms::parse("chekout pay");
        assert_eq!(
            highlight("Checkout takes payment <b>", &terms, "[", "]", 200),
            "[Checkout] takes [payment] <b>"
        );
        let long = format!("{} needle {}", "a ".repeat(200), "b ".repeat(200));
        let cut = highlight(&long, &Terms::parse("needle"), "[", "]", 80);
        assert!(
            cut.starts_with('…') && cut.ends_with('…') && cut.contains("[needle]"),
            "{cut}"
        );
    }
}
