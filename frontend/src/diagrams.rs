//! Mermaid diagrams in docs pages: drawn in the browser by Mermaid (from npm, served as
//! `/vendor/mermaid.min.js`), which is loaded only when a page has a diagram. Mermaid runs
//! with its strict security level: the diagram text cannot add script or links.

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = mermaid, js_name = initialize)]
    fn mermaid_initialize(config: &JsValue);
    #[wasm_bindgen(js_namespace = mermaid, js_name = run, catch)]
    fn mermaid_run(options: &JsValue) -> Result<JsValue, JsValue>;
}

const SELECTOR: &str = "pre.mermaid:not([data-processed])";

/// Draws the diagrams (`pre.mermaid`) inside `container` (a CSS selector), loading Mermaid
/// first when needed.
pub fn draw(container: &'static str) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let selector = format!("{container} {SELECTOR}");
    let Ok(found) = document.query_selector_all(&selector) else {
        return;
    };
    if found.length() == 0 {
        return;
    }
    let loaded =
        js_sys::Reflect::get(&js_sys::global(), &"mermaid".into()).is_ok_and(|m| !m.is_undefined());
    if loaded {
        run(&selector);
        return;
    }
    let Ok(script) = document.create_element("script") else {
        return;
    };
    let script: web_sys::HtmlScriptElement = script.unchecked_into();
    script.set_src("/vendor/mermaid.min.js");
    let onload = Closure::once_into_js(move || {
        let config = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&config, &"startOnLoad".into(), &false.into());
        let _ = js_sys::Reflect::set(&config, &"securityLevel".into(), &"strict".into());
        mermaid_initialize(&config);
        run(&selector);
    });
    script.set_onload(Some(onload.unchecked_ref()));
    if let Some(head) = document.head() {
        let _ = head.append_child(&script);
    }
}

/// Mermaid reads a diagram from its element's text: the `<code>` inside is flattened first.
fn run(selector: &str) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    if let Ok(found) = document.query_selector_all(selector) {
        for i in 0..found.length() {
            if let Some(node) = found.item(i) {
                let text = node.text_content();
                node.set_text_content(text.as_deref());
            }
        }
    }
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&options, &"querySelector".into(), &selector.into());
    let _ = mermaid_run(&options);
}
