//! What a docs page gets once it is in the document: code blocks coloured and given a copy
//! button, and diagrams drawn. The page's HTML arrives sanitized; this only adds to it.

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

/// Enhances the page inside `container` (a CSS selector).
pub fn enhance(container: &'static str) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    if let Ok(blocks) =
        document.query_selector_all(&format!("{container} pre:not(.mermaid) > code"))
    {
        for i in 0..blocks.length() {
            let Some(code) = blocks
                .item(i)
                .and_then(|n| n.dyn_into::<web_sys::Element>().ok())
            else {
                continue;
            };
            if code.get_attribute("data-coloured").is_some() {
                continue;
            }
            code.set_attribute("data-coloured", "").ok();
            let language = code
                .class_name()
                .split_whitespace()
                .find_map(|c| c.strip_prefix("language-"))
                .unwrap_or_default()
                .to_string();
            let source = code.text_content().unwrap_or_default();
            crate::highlight::colour_in_place(&code, &language);
            if let Some(pre) = code.parent_element() {
                add_copy_button(&document, &pre, source);
            }
        }
    }
    crate::diagrams::draw(container);
}

fn add_copy_button(document: &web_sys::Document, pre: &web_sys::Element, source: String) {
    let Ok(button) = document.create_element("button") else {
        return;
    };
    button.set_class_name("copy small");
    button.set_text_content(Some("Copy"));
    let shown = button.clone();
    let copy = Closure::<dyn Fn()>::new(move || {
        if let Some(window) = web_sys::window() {
            let _ = window.navigator().clipboard().write_text(&source);
        }
        shown.set_text_content(Some("Copied"));
    });
    let _ = button.add_event_listener_with_callback("click", copy.as_ref().unchecked_ref());
    // The button lives as long as the page; so does its handler.
    copy.forget();
    let _ = pre.prepend_with_node_1(&button);
}
