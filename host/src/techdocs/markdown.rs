//! Markdown to HTML that is safe to put in a page. pulldown-cmark renders it (tables,
//! footnotes, definition lists, task lists, `~~del~~`, `~sub~`, `^sup^`, heading attributes,
//! GitHub's `> [!NOTE]` callouts) together with the blocks MkDocs sites use (admonitions
//! `!!!`, collapsible `???`/`???+`, tabs `===`, Mermaid fences); in a docs page, headings get
//! Python-Markdown's ids with permalinks and relative links are rewritten to the site's URLs.
//! ammonia then cleans the result, so no script, handler or unsafe URL survives, whoever
//! wrote the markdown.

use std::collections::{BTreeMap, HashSet};

use pulldown_cmark::{CodeBlockKind, CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use super::nav::{self, SiteFile};

/// A heading of a page, for its table of contents.
#[derive(Debug, Clone, PartialEq)]
pub struct Heading {
    pub level: u8,
    pub id: String,
    pub text: String,
}

/// A page rendered.
#[derive(Debug, Clone, Default)]
pub struct Rendered {
    pub html: String,
    /// The text of the first level-1 heading.
    pub first_h1: Option<String>,
    pub headings: Vec<Heading>,
}

/// Where a docs page sits, for rewriting its links.
pub struct PageLinks<'a> {
    /// The page's source path in the docs folder.
    pub src: &'a str,
    /// Its URL relative to the site root.
    pub url: &'a str,
    pub files: &'a BTreeMap<&'a str, &'a SiteFile>,
    /// The text of heading permalinks; none when `None`.
    pub permalink: Option<&'a str>,
}

/// Markdown from anywhere (a plugin's UI tree), rendered and cleaned.
pub fn to_safe_html(markdown: &str) -> String {
    static SANITIZER: std::sync::LazyLock<Sanitizer> = std::sync::LazyLock::new(Sanitizer::default);
    let mut renderer = Renderer::default();
    SANITIZER.clean(&renderer.render(markdown, None, &mut Vec::new()))
}

/// A docs page rendered and cleaned; problems with its links are added to `warnings`.
pub fn render_page(
    markdown: &str,
    links: &PageLinks,
    sanitizer: &Sanitizer,
    warnings: &mut Vec<String>,
) -> Rendered {
    let mut renderer = Renderer::default();
    let html = renderer.render(markdown, Some(links), warnings);
    Rendered {
        html: sanitizer.clean(&html),
        first_h1: renderer.first_h1,
        headings: renderer.headings,
    }
}

/// State shared by a page and the blocks nested in it: heading ids are unique across the
/// page, tab sets are numbered through it.
#[derive(Default)]
struct Renderer {
    ids: HashSet<String>,
    headings: Vec<Heading>,
    first_h1: Option<String>,
    tab_sets: usize,
}

/// A block the markdown parser does not know, cut out of the text and rendered on its own.
enum Block {
    /// `!!! kinds "title"` or `??? kinds "title"` (`open` for `???+`).
    Admonition {
        kinds: Vec<String>,
        title: Option<String>,
        collapsible: bool,
        open: bool,
        body: String,
    },
    /// Consecutive `=== "title"` blocks.
    Tabs(Vec<(String, String)>),
}

const PLACEHOLDER: &str = "GREENROOMBLOCK";

impl Renderer {
    fn render(
        &mut self,
        markdown: &str,
        links: Option<&PageLinks>,
        warnings: &mut Vec<String>,
    ) -> String {
        let (text, blocks) = cut_blocks(markdown);
        let options = Options::ENABLE_TABLES
            | Options::ENABLE_FOOTNOTES
            | Options::ENABLE_STRIKETHROUGH
            | Options::ENABLE_TASKLISTS
            | Options::ENABLE_HEADING_ATTRIBUTES
            | Options::ENABLE_GFM
            | Options::ENABLE_DEFINITION_LIST
            | Options::ENABLE_SUPERSCRIPT
            | Options::ENABLE_SUBSCRIPT;
        let events: Vec<Event> = Parser::new_ext(&text, options).collect();
        let events = self.rewrite(events, links, warnings);
        let mut html = String::new();
        pulldown_cmark::html::push_html(&mut html, events.into_iter());
        for (i, block) in blocks.into_iter().enumerate() {
            let rendered = self.render_block(block, links, warnings);
            html = html.replacen(&format!("<p>{PLACEHOLDER}{i}</p>"), &rendered, 1);
        }
        html
    }

    fn render_block(
        &mut self,
        block: Block,
        links: Option<&PageLinks>,
        warnings: &mut Vec<String>,
    ) -> String {
        match block {
            Block::Admonition {
                kinds,
                title,
                collapsible,
                open,
                body,
            } => {
                let classes = kinds.join(" ");
                let inner = self.render(&body, links, warnings);
                let title = title.map(|t| escape(&t));
                if collapsible {
                    let open = if open { " open=\"open\"" } else { "" };
                    let summary = title.unwrap_or_else(|| capitalized(&kinds[0]));
                    format!(
                        "<details class=\"{classes}\"{open}>\n<summary>{summary}</summary>\n{inner}</details>\n"
                    )
                } else {
                    let title = match title {
                        Some(t) if t.is_empty() => String::new(),
                        Some(t) => format!("<p class=\"admonition-title\">{t}</p>\n"),
                        None => format!(
                            "<p class=\"admonition-title\">{}</p>\n",
                            capitalized(&kinds[0])
                        ),
                    };
                    format!("<div class=\"admonition {classes}\">\n{title}{inner}</div>\n")
                }
            }
            Block::Tabs(tabs) => {
                self.tab_sets += 1;
                let set = self.tab_sets;
                let mut inputs = String::new();
                let mut labels = String::new();
                let mut blocks = String::new();
                for (i, (title, body)) in tabs.iter().enumerate() {
                    let id = format!("__tabbed_{set}_{}", i + 1);
                    let checked = if i == 0 { "checked=\"checked\" " } else { "" };
                    inputs.push_str(&format!(
                        "<input {checked}id=\"{id}\" name=\"__tabbed_{set}\" type=\"radio\">"
                    ));
                    labels.push_str(&format!("<label for=\"{id}\">{}</label>", escape(title)));
                    let inner = self.render(body, links, warnings);
                    blocks.push_str(&format!("<div class=\"tabbed-block\">\n{inner}</div>\n"));
                }
                format!(
                    "<div class=\"tabbed-set tabbed-alternate\" data-tabs=\"{set}:{}\">{inputs}<div class=\"tabbed-labels\">{labels}</div>\n<div class=\"tabbed-content\">\n{blocks}</div>\n</div>\n",
                    tabs.len()
                )
            }
        }
    }

    /// Heading ids and permalinks, links and images pointed at the site's URLs, Mermaid
    /// fences left for the browser to draw.
    fn rewrite<'a>(
        &mut self,
        events: Vec<Event<'a>>,
        links: Option<&PageLinks>,
        warnings: &mut Vec<String>,
    ) -> Vec<Event<'a>> {
        // The parser splits text at characters it tried as delimiters: joined again, so marks
        // in text are seen whole.
        let mut joined: Vec<Event<'a>> = Vec::with_capacity(events.len());
        for event in events {
            match (joined.last_mut(), event) {
                (Some(Event::Text(before)), Event::Text(text)) => {
                    *before = CowStr::from(format!("{before}{text}"));
                }
                (_, event) => joined.push(event),
            }
        }
        let events = joined;
        let mut out = Vec::with_capacity(events.len());
        // Code blocks keep their text as written.
        let mut in_code = false;
        let mut i = 0;
        while i < events.len() {
            match &events[i] {
                Event::Start(Tag::Heading {
                    level,
                    id,
                    classes,
                    attrs,
                }) if links.is_some() => {
                    let end = events[i..]
                        .iter()
                        .position(|e| matches!(e, Event::End(TagEnd::Heading(_))))
                        .map_or(events.len(), |p| i + p);
                    let text: String = events[i + 1..end]
                        .iter()
                        .filter_map(|e| match e {
                            Event::Text(t) | Event::Code(t) => Some(t.as_ref()),
                            _ => None,
                        })
                        .collect();
                    let text = text.trim().to_string();
                    let id = match id {
                        Some(id) => id.to_string(),
                        None => unique(slugify(&text), &mut self.ids),
                    };
                    let level_number = heading_number(*level);
                    if level_number == 1 && self.first_h1.is_none() {
                        self.first_h1 = Some(text.clone());
                    }
                    self.headings.push(Heading {
                        level: level_number,
                        id: id.clone(),
                        text,
                    });
                    out.push(Event::Start(Tag::Heading {
                        level: *level,
                        id: Some(CowStr::from(id.clone())),
                        classes: classes.clone(),
                        attrs: attrs.clone(),
                    }));
                    out.extend(events[i + 1..end].iter().cloned());
                    if let Some(text) = links.and_then(|l| l.permalink) {
                        out.push(Event::Html(CowStr::from(format!(
                            "<a class=\"headerlink\" href=\"#{id}\" title=\"Permanent link\">{}</a>",
                            escape(text)
                        ))));
                    }
                    if end < events.len() {
                        out.push(events[end].clone());
                    }
                    i = end + 1;
                    continue;
                }
                // Links and images of a docs page point at the site's URLs.
                Event::Start(tag @ (Tag::Link { .. } | Tag::Image { .. }))
                    if let Some(page) = links =>
                {
                    let mut tag = tag.clone();
                    if let Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. } = &mut tag {
                        *dest_url = CowStr::from(rewrite_link(dest_url, page, warnings));
                    }
                    out.push(Event::Start(tag));
                }
                Event::Text(text) if !in_code && text.contains([':', '=', '~', '^']) => {
                    out.extend(marked(&emoji(text)));
                }
                Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(lang)))
                    if lang.as_ref() == "mermaid" =>
                {
                    let end = events[i..]
                        .iter()
                        .position(|e| matches!(e, Event::End(TagEnd::CodeBlock)))
                        .map_or(events.len(), |p| i + p);
                    let source: String = events[i + 1..end]
                        .iter()
                        .filter_map(|e| match e {
                            Event::Text(t) => Some(t.as_ref()),
                            _ => None,
                        })
                        .collect();
                    out.push(Event::Html(CowStr::from(format!(
                        "<pre class=\"mermaid\"><code>{}</code></pre>\n",
                        escape(&source)
                    ))));
                    i = end + 1;
                    continue;
                }
                other => {
                    match other {
                        Event::Start(Tag::CodeBlock(_)) => in_code = true,
                        Event::End(TagEnd::CodeBlock) => in_code = false,
                        _ => {}
                    }
                    out.push(other.clone());
                }
            }
            i += 1;
        }
        out
    }
}

/// Inline marks pulldown-cmark leaves as text, within one run of text: pymdownx.mark's
/// `==text==`, and pymdownx.tilde/caret's `~sub~` and `^sup^` inside a word (`H~2~O`),
/// which pulldown-cmark only reads between spaces. A mark's text has no spaces at its ends
/// (sub and sup: none at all).
fn marked<'a>(text: &str) -> Vec<Event<'a>> {
    const MARKS: [(&str, &str, bool); 3] = [
        ("==", "mark", true),
        ("~", "sub", false),
        ("^", "sup", false),
    ];
    let mut out = Vec::new();
    let mut rest = text;
    loop {
        let next = MARKS
            .iter()
            .filter_map(|m| Some((rest.find(m.0)?, m)))
            .min_by_key(|(at, _)| *at);
        let Some((start, &(delimiter, tag, spaces_inside))) = next else {
            break;
        };
        let inner = &rest[start + delimiter.len()..];
        let end = inner.find(delimiter).filter(|&end| {
            let body = &inner[..end];
            end > 0 && body.trim() == body && (spaces_inside || !body.contains(char::is_whitespace))
        });
        let Some(end) = end else {
            // Not a mark: the delimiter stays text, and the scan goes on after it.
            let keep = start + delimiter.len();
            out.push(Event::Text(CowStr::from(rest[..keep].to_string())));
            rest = &rest[keep..];
            continue;
        };
        if start > 0 {
            out.push(Event::Text(CowStr::from(rest[..start].to_string())));
        }
        out.push(Event::Html(CowStr::from(format!("<{tag}>"))));
        out.push(Event::Text(CowStr::from(inner[..end].to_string())));
        out.push(Event::Html(CowStr::from(format!("</{tag}>"))));
        rest = &inner[end + delimiter.len()..];
    }
    if !rest.is_empty() {
        out.push(Event::Text(CowStr::from(rest.to_string())));
    }
    out
}

/// `:shortcode:` emoji (GitHub's names) as the characters themselves, never as images
/// fetched from elsewhere; unknown names stay as written.
fn emoji(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(':') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let name_len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-')))
            .unwrap_or(after.len());
        let found = (name_len > 0 && after[name_len..].starts_with(':'))
            .then(|| emojis::get_by_shortcode(&after[..name_len]))
            .flatten();
        match found {
            Some(e) => {
                out.push_str(e.as_str());
                rest = &after[name_len + 1..];
            }
            None => {
                out.push(':');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn heading_number(level: HeadingLevel) -> u8 {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

/// A relative link to a file of the site, pointed at that file's URL relative to the page
/// (anchors and queries kept); other links as they are. A link to no file of the site is a
/// warning naming the page.
fn rewrite_link(dest: &str, page: &PageLinks, warnings: &mut Vec<String>) -> String {
    if dest.is_empty() || dest.starts_with('#') || dest.starts_with('/') || dest.contains(':') {
        return dest.to_string();
    }
    let (path, suffix) = match dest.find(['#', '?']) {
        Some(at) => dest.split_at(at),
        None => (dest, ""),
    };
    let path = percent_decode(path);
    let target = nav::resolve(page.src, &path);
    match target.as_deref().and_then(|t| page.files.get(t)) {
        Some(file) => format!("{}{suffix}", nav::relative_url(&file.url, page.url)),
        None => {
            warnings.push(format!(
                "{} links to '{dest}', which is not among the documentation files",
                page.src
            ));
            dest.to_string()
        }
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(value) = text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(value);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Python-Markdown's heading id: accents dropped (NFKD, then ASCII only), characters other
/// than letters, digits, `_`, `-` and spaces removed, lowercased, runs of spaces and `-`
/// joined by one `-`.
pub fn slugify(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let ascii: String = text.nfkd().filter(char::is_ascii).collect();
    let kept: String = ascii
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-' || c.is_ascii_whitespace())
        .collect();
    let lowered = kept.trim().to_lowercase();
    let mut out = String::with_capacity(lowered.len());
    let mut in_run = false;
    for c in lowered.chars() {
        if c == '-' || c.is_ascii_whitespace() {
            if !in_run {
                out.push('-');
            }
            in_run = true;
        } else {
            out.push(c);
            in_run = false;
        }
    }
    out
}

/// Python-Markdown's `unique`: a repeated (or empty) id gets `_1`, `_2`, …
fn unique(mut id: String, ids: &mut HashSet<String>) -> String {
    while id.is_empty() || ids.contains(&id) {
        id = match id
            .rsplit_once('_')
            .and_then(|(base, n)| Some((base, n.parse::<u64>().ok()?)))
        {
            Some((base, n)) => format!("{base}_{}", n + 1),
            None => format!("{id}_1"),
        };
    }
    ids.insert(id.clone());
    id
}

fn capitalized(kind: &str) -> String {
    let mut chars = kind.chars();
    match chars.next() {
        Some(first) => escape(
            &first
                .to_uppercase()
                .chain(chars.map(|c| c.to_ascii_lowercase()))
                .collect::<String>(),
        ),
        None => String::new(),
    }
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    pulldown_cmark_escape::escape_html(&mut out, text).expect("writing to a String cannot fail");
    out
}

/// Cuts the blocks pulldown-cmark does not know out of `markdown` (outside code fences),
/// leaving a placeholder paragraph for each.
fn cut_blocks(markdown: &str) -> (String, Vec<Block>) {
    let lines: Vec<&str> = markdown.lines().collect();
    let mut text = String::with_capacity(markdown.len());
    let mut blocks = Vec::new();
    let mut fence: Option<String> = None;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim_start();
        if let Some(open) = &fence {
            if trimmed.starts_with(open.as_str())
                && trimmed
                    .trim_end()
                    .chars()
                    .all(|c| c == open.chars().next().unwrap_or('`'))
            {
                fence = None;
            }
            text.push_str(line);
            text.push('\n');
            i += 1;
            continue;
        }
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            let mark = trimmed.chars().next().unwrap_or('`');
            fence = Some(trimmed.chars().take_while(|c| *c == mark).collect());
            text.push_str(line);
            text.push('\n');
            i += 1;
            continue;
        }
        let opener = opener(line);
        let Some(opener) = opener else {
            text.push_str(line);
            text.push('\n');
            i += 1;
            continue;
        };
        let (body, next) = indented_body(&lines, i + 1);
        i = next;
        let block = match opener {
            Opener::Admonition {
                kinds,
                title,
                collapsible,
                open,
            } => Block::Admonition {
                kinds,
                title,
                collapsible,
                open,
                body,
            },
            Opener::Tab(title) => {
                let mut tabs = vec![(title, body)];
                // Following tabs (blank lines between them allowed) join the set.
                loop {
                    let mut j = i;
                    while j < lines.len() && lines[j].trim().is_empty() {
                        j += 1;
                    }
                    match lines.get(j).and_then(|l| opener_tab(l)) {
                        Some(title) => {
                            let (body, next) = indented_body(&lines, j + 1);
                            tabs.push((title, body));
                            i = next;
                        }
                        None => break,
                    }
                }
                Block::Tabs(tabs)
            }
        };
        text.push_str(&format!("\n{PLACEHOLDER}{}\n\n", blocks.len()));
        blocks.push(block);
    }
    (text, blocks)
}

enum Opener {
    Admonition {
        kinds: Vec<String>,
        title: Option<String>,
        collapsible: bool,
        open: bool,
    },
    Tab(String),
}

fn opener(line: &str) -> Option<Opener> {
    if let Some(title) = opener_tab(line) {
        return Some(Opener::Tab(title));
    }
    let (collapsible, open, rest) = if let Some(rest) = line.strip_prefix("!!! ") {
        (false, false, rest)
    } else if let Some(rest) = line.strip_prefix("???+ ") {
        (true, true, rest)
    } else if let Some(rest) = line.strip_prefix("??? ") {
        (true, false, rest)
    } else {
        return None;
    };
    let (kinds, title) = match rest.find('"') {
        Some(at) => {
            let title = rest[at + 1..].trim_end();
            (
                &rest[..at],
                Some(title.strip_suffix('"').unwrap_or(title).to_string()),
            )
        }
        None => (rest, None),
    };
    let kinds: Vec<String> = kinds
        .split_whitespace()
        .filter(|k| {
            k.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
        .map(str::to_lowercase)
        .collect();
    if kinds.is_empty() {
        return None;
    }
    Some(Opener::Admonition {
        kinds,
        title,
        collapsible,
        open,
    })
}

fn opener_tab(line: &str) -> Option<String> {
    let rest = line
        .strip_prefix("=== ")
        .or_else(|| line.strip_prefix("===! "))?
        .trim();
    Some(rest.strip_prefix('"')?.strip_suffix('"')?.to_string())
}

/// The lines from `start` indented by four spaces (or blank, when more indented lines
/// follow), dedented; and the index of the first line after them.
fn indented_body(lines: &[&str], start: usize) -> (String, usize) {
    let mut body = String::new();
    let mut end = start;
    let mut j = start;
    while j < lines.len() {
        let line = lines[j];
        if line.trim().is_empty() {
            j += 1;
            continue;
        }
        if !(line.starts_with("    ") || line.starts_with('\t')) {
            break;
        }
        for blank in &lines[end..j] {
            let _ = blank;
            body.push('\n');
        }
        let dedented = line
            .strip_prefix("    ")
            .or_else(|| line.strip_prefix('\t'))
            .unwrap_or(line);
        body.push_str(dedented);
        body.push('\n');
        j += 1;
        end = j;
    }
    (body, end)
}

/// The cleaner: markdown's own tags, plus what the blocks above and the reader use
/// (`details`, radio tabs, classes and ids), and iframes only from the hosts the operator
/// allows (https, sandboxed); nothing that runs or loads anything else.
pub struct Sanitizer(ammonia::Builder<'static>);

impl Sanitizer {
    pub fn new(iframe_hosts: Vec<String>) -> Self {
        let hosts: std::sync::Arc<Vec<String>> =
            std::sync::Arc::new(iframe_hosts.into_iter().map(|h| h.to_lowercase()).collect());
        let mut builder = ammonia::Builder::default();
        builder
            .add_tags([
                "details", "summary", "input", "label", "mark", "section", "dl", "dt", "dd",
            ])
            .add_generic_attributes(["class", "id"])
            .add_tag_attributes("input", ["type", "checked", "disabled", "name"])
            .add_tag_attributes("label", ["for"])
            .add_tag_attributes("details", ["open"])
            .add_tag_attributes("div", ["data-tabs"])
            .add_tag_attributes("th", ["style"])
            .add_tag_attributes("td", ["style"])
            .link_rel(None)
            .url_schemes(["http", "https", "mailto"].into_iter().collect());
        if !hosts.is_empty() {
            builder
                .add_tags(["iframe"])
                .add_tag_attributes(
                    "iframe",
                    ["src", "width", "height", "title", "allowfullscreen"],
                )
                .set_tag_attribute_value(
                    "iframe",
                    "sandbox",
                    "allow-scripts allow-same-origin allow-presentation",
                )
                .set_tag_attribute_value("iframe", "referrerpolicy", "no-referrer");
        }
        builder.attribute_filter(
            move |element, attribute, value| match (element, attribute) {
                ("input", "type") => matches!(value, "checkbox" | "radio").then_some(value.into()),
                (_, "style") => value
                    .strip_prefix("text-align: ")
                    .filter(|a| matches!(*a, "left" | "center" | "right"))
                    .map(|_| value.into()),
                ("iframe", "src") => url::Url::parse(value)
                    .ok()
                    .filter(|u| u.scheme() == "https")
                    .filter(|u| {
                        u.host_str()
                            .is_some_and(|h| hosts.iter().any(|allowed| allowed == h))
                    })
                    .map(|_| value.into()),
                _ => Some(value.into()),
            },
        );
        Self(builder)
    }

    fn clean(&self, html: &str) -> String {
        self.0.clean(html).to_string()
    }
}

impl Default for Sanitizer {
    /// No iframes.
    fn default() -> Self {
        Self::new(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_markdown_and_strips_script_and_handlers() {
        let html = to_safe_html(
            "# Title\n\n*hi* <script>alert(1)</script><img src=x onerror=alert(1)> [x](javascript:alert(1)) <a href=\"data:text/html,x\">d</a> <iframe src=\"https://evil.example\"></iframe>",
        );
        assert!(
            html.contains("<h1>Title</h1>") && html.contains("<em>hi</em>"),
            "{html}"
        );
        for bad in ["script", "onerror", "javascript:", "data:", "iframe"] {
            assert!(!html.contains(bad), "{bad} in {html}");
        }
    }

    #[test]
    fn iframes_come_only_from_the_hosts_the_operator_allows() {
        let files = BTreeMap::new();
        let links = PageLinks {
            src: "index.md",
            url: "./",
            files: &files,
            permalink: Some("¶"),
        };
        let page = "<iframe src=\"https://www.youtube.com/embed/x\" onload=\"x()\"></iframe>\n\n<iframe src=\"https://evil.example/\"></iframe>\n\n<iframe src=\"http://www.youtube.com/embed/y\"></iframe>\n";
        let none = render_page(page, &links, &Sanitizer::default(), &mut Vec::new()).html;
        assert!(!none.contains("iframe"), "{none}");
        let allowed = Sanitizer::new(vec!["www.youtube.com".into()]);
        let html = render_page(page, &links, &allowed, &mut Vec::new()).html;
        assert!(
            html.contains("src=\"https://www.youtube.com/embed/x\""),
            "{html}"
        );
        assert!(
            html.contains("sandbox=\"allow-scripts allow-same-origin allow-presentation\""),
            "{html}"
        );
        assert!(
            !html.contains("evil.example") && !html.contains("onload") && !html.contains("embed/y"),
            "{html}"
        );
    }

    #[test]
    fn heading_ids_are_python_markdowns_with_permalinks() {
        assert_eq!(slugify("Crème Brûlée & Co."), "creme-brulee-co");
        assert_eq!(slugify("  Hello -- World_2 "), "hello-world_2");
        assert_eq!(slugify("日本語"), "");
        let files = BTreeMap::new();
        let links = PageLinks {
            src: "index.md",
            url: "./",
            files: &files,
            permalink: Some("¶"),
        };
        let rendered = render_page(
            "# Intro\n## Set up\n## Set up\n## Set up\n## 日本語\n### Custom {#mine}\n## `code` span\n",
            &links,
            &Sanitizer::default(),
            &mut Vec::new(),
        );
        let ids: Vec<&str> = rendered.headings.iter().map(|h| h.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "intro",
                "set-up",
                "set-up_1",
                "set-up_2",
                "_1",
                "mine",
                "code-span"
            ]
        );
        assert_eq!(rendered.first_h1.as_deref(), Some("Intro"));
        assert!(
            rendered.html.contains("<h2 id=\"set-up_1\">Set up<a class=\"headerlink\" href=\"#set-up_1\" title=\"Permanent link\">¶</a></h2>"),
            "{}",
            rendered.html
        );
    }

    #[test]
    fn blocks_render_like_mkdocs_extensions() {
        let html = to_safe_html(
            "!!! note\n    Plain *text*.\n\n!!! warning \"Careful now\"\n    Body\n\n??? tip \"More\"\n    Hidden\n\n???+ danger\n    Shown\n\n=== \"One\"\n    First\n\n=== \"Two\"\n    Second\n\n```python\n!!! not an admonition\n```\n\n```mermaid\ngraph TD; A-->B\n```\n\n> [!NOTE]\n> Callout\n\n- [x] done\n\na ~sub~ b ^sup^ c ~~gone~~ :rocket: :nope: 10:30 `:tada:` ==marked== a == b H~2~O x^2^ 5 ~ 6\n\n```text\n:tada:\n```\n",
        );
        for want in [
            "<div class=\"admonition note\">\n<p class=\"admonition-title\">Note</p>\n<p>Plain <em>text</em>.</p>\n</div>",
            "<p class=\"admonition-title\">Careful now</p>",
            "<details class=\"tip\">\n<summary>More</summary>",
            "<details class=\"danger\" open=\"open\">",
            "<div class=\"tabbed-set tabbed-alternate\" data-tabs=\"1:2\"><input checked=\"checked\" id=\"__tabbed_1_1\" name=\"__tabbed_1\" type=\"radio\">",
            "<label for=\"__tabbed_1_2\">Two</label>",
            "<div class=\"tabbed-block\">\n<p>Second</p>\n</div>",
            "<code class=\"language-python\">!!! not an admonition",
            "<pre class=\"mermaid\"><code>graph TD; A--&gt;B",
            "markdown-alert-note",
            "<input disabled=\"\" type=\"checkbox\" checked=\"\">",
            "a <sub>sub</sub> b",
            "<sup>sup</sup>",
            "<del>gone</del> 🚀 :nope: 10:30 <code>:tada:</code> <mark>marked</mark> a == b H<sub>2</sub>O x<sup>2</sup> 5 ~ 6",
            "<code class=\"language-text\">:tada:",
        ] {
            assert!(html.contains(want), "{want}\nnot in\n{html}");
        }
    }

    #[test]
    fn relative_links_point_at_the_sites_urls_and_missing_ones_are_warned_about() {
        let (files, _) = nav::files(
            [
                "index.md",
                "guides/intro.md",
                "guides/setup.md",
                "img/a.png",
            ]
            .map(String::from)
            .to_vec(),
            true,
        );
        let by_src = nav::by_src(&files);
        let links = PageLinks {
            src: "guides/intro.md",
            url: "guides/intro/",
            files: &by_src,
            permalink: None,
        };
        let mut warnings = Vec::new();
        let rendered = render_page(
            "[s](setup.md#install) [h](../index.md) ![i](../img/a.png) [x](https://x.example/a.md) [m](missing.md) [out](../../../etc/passwd) [a](#here)",
            &links,
            &Sanitizer::default(),
            &mut warnings,
        );
        for want in [
            "href=\"../setup/#install\"",
            "href=\"../../\"",
            "src=\"../../img/a.png\"",
            "href=\"https://x.example/a.md\"",
            "href=\"missing.md\"",
            "href=\"#here\"",
        ] {
            assert!(
                rendered.html.contains(want),
                "{want} not in {}",
                rendered.html
            );
        }
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].contains("guides/intro.md links to 'missing.md'"));
    }
}
