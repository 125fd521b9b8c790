//! Multi-document YAML, split before parsing so that one broken document never hides its
//! siblings (a streaming YAML parser cannot resume after a syntax error).

use serde_json::Value;

/// One document of a file: its 1-based index and what it parsed to (errors give the line in
/// the file).
pub struct Document {
    pub index: usize,
    pub parsed: Result<Value, String>,
}

/// The non-empty documents of `text`, each parsed on its own.
pub fn documents(text: &str) -> Vec<Document> {
    let mut chunks: Vec<(usize, String)> = vec![(1, String::new())];
    for (number, line) in text.lines().enumerate() {
        if is_document_start(line) {
            let rest = line[3..].trim_start();
            let mut chunk = String::new();
            if !rest.is_empty() && !rest.starts_with('#') {
                chunk.push_str(rest);
                chunk.push('\n');
            }
            chunks.push((number + 1, chunk));
        } else if line == "..." {
            chunks.push((number + 2, String::new()));
        } else if let Some((_, chunk)) = chunks.last_mut() {
            chunk.push_str(line);
            chunk.push('\n');
        }
    }
    // A leading chunk with nothing in it (the file starts with `---`) is not a document.
    if chunks.len() > 1 && is_blank(&chunks[0].1) {
        chunks.remove(0);
    }
    chunks
        .into_iter()
        .enumerate()
        .filter(|(_, (_, chunk))| !is_blank(chunk))
        .map(|(i, (line, chunk))| Document {
            index: i + 1,
            parsed: serde_yaml::from_str::<Value>(&chunk).map_err(|e| match e.location() {
                Some(at) => format!(
                    "invalid YAML at line {}, column {}: {}",
                    line + at.line() - 1,
                    at.column(),
                    e.to_string().split(" at line ").next().unwrap_or_default()
                ),
                None => format!("invalid YAML: {e}"),
            }),
        })
        .filter(|d| !matches!(d.parsed, Ok(Value::Null)))
        .collect()
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
        let docs = documents("---\na: 1\n---\nb: [unclosed\n---\n# only a comment\n---\nc: 3\n");
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
    fn a_file_without_markers_is_one_document_and_block_text_is_kept() {
        let docs = documents("a: |\n  --- not a marker\nb: 2\n");
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0].parsed.as_ref().unwrap()["a"], "--- not a marker\n");
    }
}
