//! A dry run's result: the files the template would produce (click one to read it), its log
//! and its output.

use leptos::prelude::*;
use serde_json::Value;

use super::output::output_view;
use crate::api::text;

#[component]
pub fn DryRunResult(result: Value) -> impl IntoView {
    let files: Vec<(String, Value)> = result["directoryContents"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| (text(&f["path"]), f["base64Content"].clone()))
        .collect();
    let open = RwSignal::new(None::<usize>);
    let log: Vec<String> = result["log"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|entry| {
            let body = &entry["body"];
            match body["stepId"].as_str() {
                Some(step) => format!("[{step}] {}", text(&body["message"])),
                None => text(&body["message"]),
            }
        })
        .collect();
    let shown = {
        let files = files.clone();
        move || {
            open.get()
                .and_then(|i| files.get(i))
                .map(|(path, content)| {
                    let content = file_text(content.as_str().unwrap_or_default());
                    view! {
                        <div id="dry-run-file-content" data-path=path.clone()>
                            <h3>{path.clone()}</h3>
                            <pre>{content}</pre>
                        </div>
                    }
                })
        }
    };
    let list = files
        .iter()
        .enumerate()
        .map(|(i, (path, _))| {
            view! {
                <li><button type="button" class="link dry-run-file" data-path=path.clone()
                    class:active=move || open.get() == Some(i)
                    on:click=move |_| open.set(Some(i))>{path.clone()}</button></li>
            }
        })
        .collect_view();
    view! {
        <div class="card" id="dry-run">
            <h2>"Dry run"</h2>
            <div class="dry-run-files">
                <div>
                    <h3>"Files"</h3>
                    {if files.is_empty() {
                        view! { <p class="empty">"No files."</p> }.into_any()
                    } else {
                        view! { <ul id="dry-run-files">{list}</ul> }.into_any()
                    }}
                </div>
                <div>{shown}</div>
            </div>
            <h3>"Log"</h3>
            <pre id="dry-run-log">{log.join("\n")}</pre>
            <h3>"Output"</h3>
            {output_view("dry-run-output", &result["output"])}
        </div>
    }
}

/// A file's content as text, or what it is when it is not text.
fn file_text(base64: &str) -> String {
    match decode_base64(base64) {
        None => "not valid base64".into(),
        Some(bytes) => match String::from_utf8(bytes) {
            Ok(text) if !text.contains('\0') => text,
            Ok(text) => format!("binary, {} bytes", text.len()),
            Err(e) => format!("binary, {} bytes", e.as_bytes().len()),
        },
    }
}

/// Standard or URL-safe base64, padding and line breaks allowed.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut bits, mut count) = (0u32, 0u32);
    for c in text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
    {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(value);
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_decode_as_text_or_say_they_are_binary() {
        assert_eq!(file_text("aGVsbG8gd29ybGQ="), "hello world");
        assert_eq!(file_text("aGk"), "hi");
        assert_eq!(file_text("AAEC"), "binary, 3 bytes");
        assert_eq!(file_text("/w=="), "binary, 1 bytes");
        assert_eq!(file_text("***"), "not valid base64");
    }
}
