//! Multi-document YAML, split before parsing so that one broken document never hides its
//! siblings (a streaming YAML parser cannot resume after a syntax error).

use serde_json::Value;

use crate::support::files::line_of;

/// One document of a file: its 1-based index and what it parsed to (errors give the line in
/// the file).
pub struct Document {
    pub index: usize,
    /// Bytes of its text.
    pub size: usize,
    pub parsed: Result<Value, String>,
}

/// Deepest nesting of flow collections (`[`, `{`) a document may have. Real catalog files
/// stay under ten; the YAML scanner takes quadratic time in this depth (40k levels took 5 s,
/// a 2 MB file never finished), so deeper documents are refused before it sees them.
const MAX_FLOW_DEPTH: usize = 64;

/// The same counting every bracket, quoted or not; text with this many unbalanced brackets
/// is still cheap to parse.
const MAX_RAW_DEPTH: usize = 1000;

/// `text` (a placeholder's `$yaml` file) parsed, refused first when nested too deep.
pub fn parse_one(text: &str) -> Result<Value, String> {
    if let Some(line) = too_deep(text) {
        return Err(format!(
            "YAML nested deeper than {MAX_FLOW_DEPTH} levels at line {line}"
        ));
    }
    serde_yaml::from_str(text).map_err(|e| e.to_string())
}

/// The non-empty documents of a file's `bytes`, each parsed on its own. Bytes that are not
/// UTF-8 fail only the documents holding them.
pub fn documents(bytes: &[u8]) -> Vec<Document> {
    let text = String::from_utf8_lossy(bytes);
    let not_utf8: Vec<usize> = match std::str::from_utf8(bytes) {
        Ok(_) => Vec::new(),
        Err(_) => bytes
            .utf8_chunks()
            .scan(0, |offset, chunk| {
                let at = *offset + chunk.valid().len();
                *offset = at + chunk.invalid().len();
                Some((!chunk.invalid().is_empty()).then(|| line_of(bytes, at)))
            })
            .flatten()
            .collect(),
    };
    // (first line, last line, text) of each chunk between markers: the file's lines of the
    // chunk's first and last, where YAML errors are counted from. A marker's line belongs to
    // the chunk when something follows the marker on it.
    let mut chunks: Vec<(usize, usize, String)> = vec![(1, 1, String::new())];
    for (number, line) in text.lines().enumerate() {
        if is_document_start(line) {
            let rest = line[3..].trim_start();
            let mut chunk = String::new();
            let mut first = number + 2;
            if !rest.is_empty() && !rest.starts_with('#') {
                chunk.push_str(rest);
                chunk.push('\n');
                first = number + 1;
            }
            chunks.push((first, number + 1, chunk));
        } else if line == "..." {
            chunks.push((number + 2, number + 2, String::new()));
        } else if let Some((_, last, chunk)) = chunks.last_mut() {
            chunk.push_str(line);
            chunk.push('\n');
            *last = number + 1;
        }
    }
    // A leading chunk with nothing in it (the file starts with `---`) is not a document.
    if chunks.len() > 1 && is_blank(&chunks[0].2) {
        chunks.remove(0);
    }
    chunks
        .into_iter()
        .enumerate()
        .filter(|(_, (_, _, chunk))| !is_blank(chunk))
        .map(|(i, (first, last, chunk))| Document {
            index: i + 1,
            size: chunk.len(),
            parsed: match not_utf8.iter().find(|l| (first..=last).contains(*l)) {
                Some(line) => Err(format!("not UTF-8 text at line {line}")),
                None => parse(&chunk, first, last),
            },
        })
        .filter(|d| !matches!(d.parsed, Ok(Value::Null)))
        .collect()
}

/// One document's text, from the line `first` of its file to the line `last`.
fn parse(chunk: &str, first: usize, last: usize) -> Result<Value, String> {
    if let Some(line) = too_deep(chunk) {
        // Counted back from the end: the chunk holds every line up to `last`.
        let lines = chunk.lines().count();
        return Err(format!(
            "YAML nested deeper than {MAX_FLOW_DEPTH} levels at line {}",
            last + line - lines
        ));
    }
    serde_yaml::from_str::<Value>(chunk).map_err(|e| match e.location() {
        // An error found at the end (an unclosed bracket) is on the document's last line.
        Some(at) => format!(
            "invalid YAML at line {}, column {}: {}",
            (first + at.line() - 1).min(last.max(first)),
            at.column(),
            e.to_string().split(" at line ").next().unwrap_or_default()
        ),
        None => format!("invalid YAML: {e}"),
    })
}

/// The line (in `chunk`) where flow collections nest deeper than [`MAX_FLOW_DEPTH`], if
/// they do. Brackets in quoted strings and comments do not count; a bracket in a plain
/// scalar does, which can only overcount, and only in a file nobody writes by hand.
fn too_deep(chunk: &str) -> Option<usize> {
    // Most documents open fewer collections than the limit in all: one quick count spares
    // them the scan.
    let opened = chunk.bytes().filter(|b| matches!(b, b'[' | b'{')).count();
    if opened <= MAX_FLOW_DEPTH {
        return None;
    }
    let (mut depth, mut line, mut quote) = (0usize, 1, None);
    // Depth counting every bracket, quoted or not: the quote tracking below is a guess at
    // where scalars start, and a stray quote must not hide a deep structure after it.
    let mut raw_depth = 0usize;
    let mut previous = ' ';
    let mut chars = chunk.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '[' | '{' => raw_depth += 1,
            ']' | '}' => raw_depth = raw_depth.saturating_sub(1),
            _ => {}
        }
        if raw_depth > MAX_RAW_DEPTH {
            return Some(line);
        }
        match (quote, c) {
            (_, '\n') => {
                line += 1;
            }
            (Some('"'), '\\') => {
                chars.next();
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') if previous.is_whitespace() || "[{,:".contains(previous) => {
                quote = Some(c)
            }
            (None, '#') if previous.is_whitespace() => {
                while chars.next_if(|c| *c != '\n').is_some() {}
            }
            (None, '[' | '{') => {
                depth += 1;
                if depth > MAX_FLOW_DEPTH {
                    return Some(line);
                }
            }
            (None, ']' | '}') => depth = depth.saturating_sub(1),
            _ => {}
        }
        previous = c;
    }
    None
}

fn is_document_start(line: &str) -> bool {
    line.strip_prefix("---")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
}

/// Only whitespace and comments.
fn is_blank(chunk: &str) -> bool {
    chunk
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_document_leaves_its_siblings_readable() {
        let docs = documents(b"---\na: 1\n---\nb: [unclosed\n---\n# only a comment\n---\nc: 3\n");
        let summary: Vec<(usize, bool)> =
            docs.iter().map(|d| (d.index, d.parsed.is_ok())).collect();
        assert_eq!(summary, [(1, true), (2, false), (4, true)]);
        let error = docs[1].parsed.as_ref().unwrap_err();
        assert!(
            error.starts_with("invalid YAML at line 4, column "),
            "{error}"
        );
        assert_eq!(docs[2].parsed.as_ref().unwrap()["c"], 3);
    }

    #[test]
    fn errors_give_the_files_line_after_bare_and_inline_markers() {
        let docs = documents(b"a: 1\n---\nb: 2\n  c: 3\nd: 4\n--- {e: 5\n");
        let error = |i: usize| docs[i].parsed.as_ref().unwrap_err().clone();
        assert!(
            error(1).starts_with("invalid YAML at line 4, column"),
            "{}",
            error(1)
        );
        // Unclosed at the end: the document's last line, not the next one.
        assert!(
            error(2).starts_with("invalid YAML at line 6, column"),
            "{}",
            error(2)
        );
    }

    #[test]
    fn a_file_without_markers_is_one_document_and_block_text_is_kept() {
        let docs = documents(b"a: |\n  --- not a marker\nb: 2\n");
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0].parsed.as_ref().unwrap()["a"], "--- not a marker\n");
    }

    #[test]
    fn bytes_that_are_not_utf8_fail_only_their_document() {
        let docs = documents(b"a: 1\n---\nb: 2\nc: \xff\xfe\n---\nd: 4\n");
        let summary: Vec<(usize, bool)> =
            docs.iter().map(|d| (d.index, d.parsed.is_ok())).collect();
        assert_eq!(summary, [(1, true), (2, false), (3, true)]);
        assert_eq!(
            docs[1].parsed.as_ref().unwrap_err(),
            "not UTF-8 text at line 4"
        );
    }

    #[test]
    fn deeply_nested_flow_collections_are_refused_before_parsing() {
        let deep = format!(
            "a: 1\n---\nx: {}{}\n---\nok: ['[', \"{{\", [[1]]] # [[[[\n",
            "[".repeat(200_000),
            "]".repeat(200_000)
        );
        let docs = documents(deep.as_bytes());
        assert_eq!(
            docs[1].parsed.as_ref().unwrap_err(),
            "YAML nested deeper than 64 levels at line 3"
        );
        assert_eq!(docs[0].parsed.as_ref().unwrap()["a"], 1);
        assert_eq!(docs[2].parsed.as_ref().unwrap()["ok"][2][0][0], 1);
        // A stray quote in a plain scalar does not hide what follows it.
        let hidden = format!(
            "title: say \"hi\nx: {}{}\n",
            "[".repeat(5_000),
            "]".repeat(5_000)
        );
        assert!(documents(hidden.as_bytes())[0].parsed.is_err());
        assert!(parse_one(&format!("x: {}1{}", "[".repeat(100), "]".repeat(100))).is_err());
    }
}
