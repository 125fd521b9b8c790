//! Markdown to HTML that is safe to put in a page: rendered with pulldown-cmark, then cleaned
//! by ammonia so no script, handler or unsafe URL survives, whoever wrote the markdown.

use pulldown_cmark::{Options, Parser, html};

pub fn to_safe_html(markdown: &str) -> String {
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let mut unsafe_html = String::new();
    html::push_html(&mut unsafe_html, Parser::new_ext(markdown, options));
    ammonia::clean(&unsafe_html)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_markdown_and_strips_script_and_handlers() {
        let html = to_safe_html(
            "# Title\n\n*hi* <script>alert(1)</script><img src=x onerror=alert(1)> [x](javascript:alert(1))",
        );
        assert!(
            html.contains("<h1>Title</h1>") && html.contains("<em>hi</em>"),
            "{html}"
        );
        assert!(
            !html.contains("script") && !html.contains("onerror") && !html.contains("javascript:"),
            "{html}"
        );
    }
}
