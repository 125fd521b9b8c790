//! Source shown with syntax colours: API definitions that are not OpenAPI (GraphQL, gRPC,
//! AsyncAPI...) and plugins' code blocks. A small lexer, not a parser: comments, strings,
//! numbers, the language's keywords and YAML/JSON keys, each a `<span class="tok-…">`; the
//! text itself is always inserted as text, never as HTML.

use leptos::prelude::*;

/// Colours a code block already in the page (a docs page's `<code class="language-…">`):
/// its text is read and put back as text nodes and spans, never parsed as HTML.
pub fn colour_in_place(code: &web_sys::Element, language: &str) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let source = code.text_content().unwrap_or_default();
    code.set_text_content(None);
    for (class, text) in tokens(language, &source) {
        let node: Option<web_sys::Node> = match class {
            Class::Plain => Some(document.create_text_node(text).into()),
            class => document.create_element("span").ok().map(|span| {
                span.set_class_name(class.css());
                span.set_text_content(Some(text));
                span.into()
            }),
        };
        if let Some(node) = node {
            let _ = code.append_child(&node);
        }
    }
}

/// A source block, highlighted for `language` (unknown languages still get strings, numbers
/// and comments).
pub fn code_block(language: String, source: String) -> impl IntoView {
    let tokens = tokens(&language, &source)
        .into_iter()
        .map(|(class, text)| match class {
            Class::Plain => text.to_string().into_any(),
            class => view! { <span class=class.css()>{text.to_string()}</span> }.into_any(),
        })
        .collect_view();
    view! { <pre data-language=language><code>{tokens}</code></pre> }
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Class {
    Plain,
    Keyword,
    String,
    Number,
    Comment,
    Key,
}

impl Class {
    fn css(self) -> &'static str {
        match self {
            Class::Plain => "",
            Class::Keyword => "tok-keyword",
            Class::String => "tok-string",
            Class::Number => "tok-number",
            Class::Comment => "tok-comment",
            Class::Key => "tok-key",
        }
    }
}

/// What one language family looks like.
struct Syntax {
    hash_comments: bool,
    slash_comments: bool,
    /// A word or string followed by `:` is a key (YAML, JSON).
    colon_keys: bool,
    keywords: &'static [&'static str],
}

fn syntax(language: &str) -> Syntax {
    const GRAPHQL: &[&str] = &[
        "type",
        "query",
        "mutation",
        "subscription",
        "schema",
        "input",
        "enum",
        "interface",
        "union",
        "scalar",
        "fragment",
        "on",
        "extend",
        "implements",
        "directive",
        "true",
        "false",
        "null",
    ];
    const PROTO: &[&str] = &[
        "syntax", "package", "import", "option", "message", "service", "rpc", "returns", "stream",
        "enum", "oneof", "map", "repeated", "optional", "required", "reserved", "true", "false",
    ];
    const DATA: &[&str] = &["true", "false", "null", "yes", "no", "~"];
    match language.to_lowercase().as_str() {
        "graphql" | "gql" => Syntax {
            hash_comments: true,
            slash_comments: false,
            colon_keys: false,
            keywords: GRAPHQL,
        },
        "grpc" | "proto" | "protobuf" => Syntax {
            hash_comments: false,
            slash_comments: true,
            colon_keys: false,
            keywords: PROTO,
        },
        "json" => Syntax {
            hash_comments: false,
            slash_comments: false,
            colon_keys: true,
            keywords: DATA,
        },
        // AsyncAPI, OpenAPI that did not parse, YAML and anything unknown: YAML-like.
        _ => Syntax {
            hash_comments: true,
            slash_comments: true,
            colon_keys: true,
            keywords: DATA,
        },
    }
}

/// Splits `source` into classified runs that concatenate back to it exactly.
fn tokens<'a>(language: &str, source: &'a str) -> Vec<(Class, &'a str)> {
    let syntax = syntax(language);
    let bytes = source.as_bytes();
    let mut out: Vec<(Class, &'a str)> = Vec::new();
    let mut plain_from = 0;
    let mut i = 0;
    while i < bytes.len() {
        let rest = &source[i..];
        let (class, len) = if syntax.hash_comments && rest.starts_with('#')
            || syntax.slash_comments && rest.starts_with("//")
        {
            (Class::Comment, rest.find('\n').unwrap_or(rest.len()))
        } else if syntax.slash_comments && rest.starts_with("/*") {
            (
                Class::Comment,
                rest.find("*/").map_or(rest.len(), |end| end + 2),
            )
        } else if rest.starts_with('"') || rest.starts_with('\'') {
            (Class::String, string_len(rest))
        } else if bytes[i].is_ascii_digit() && !is_word_byte(before(bytes, i)) {
            let len = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_'))
                .unwrap_or(rest.len());
            (Class::Number, len)
        } else if is_word_byte(bytes[i]) && !is_word_byte(before(bytes, i)) {
            let len = rest
                .find(|c: char| !(c.is_ascii() && is_word_byte(c as u8)))
                .unwrap_or(rest.len());
            let word = &rest[..len];
            let class = if syntax.keywords.contains(&word) {
                Class::Keyword
            } else {
                Class::Plain
            };
            (class, len)
        } else {
            (Class::Plain, rest.chars().next().map_or(1, char::len_utf8))
        };
        let class = if syntax.colon_keys
            && matches!(class, Class::Plain | Class::String | Class::Keyword)
            && len > 1
            && source[i + len..]
                .trim_start_matches([' ', '\t'])
                .starts_with(':')
        {
            Class::Key
        } else {
            class
        };
        if class == Class::Plain {
            i += len;
            continue;
        }
        if plain_from < i {
            out.push((Class::Plain, &source[plain_from..i]));
        }
        out.push((class, &source[i..i + len]));
        i += len;
        plain_from = i;
    }
    if plain_from < source.len() {
        out.push((Class::Plain, &source[plain_from..]));
    }
    out
}

/// Length of the quoted string at the start of `text` (to its closing quote, or the line's
/// end when unterminated), honouring backslash escapes.
fn string_len(text: &str) -> usize {
    let quote = text.as_bytes()[0];
    let mut escaped = false;
    for (i, b) in text.bytes().enumerate().skip(1) {
        match b {
            b'\n' => return i,
            _ if escaped => escaped = false,
            b'\\' => escaped = true,
            _ if b == quote => return i + 1,
            _ => {}
        }
    }
    text.len()
}

fn before(bytes: &[u8], i: usize) -> u8 {
    if i == 0 { b' ' } else { bytes[i - 1] }
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'$'
}
