//! Keeping secrets out of everything a task writes: each secret value, and its base64,
//! URL-encoded and JSON-escaped forms, becomes `***` in events, errors and outputs.

use base64::Engine;
use serde_json::{Map, Value};

pub const MASK: &str = "***";

#[derive(Default, Clone)]
pub struct Redactor {
    /// Longest first, so a secret inside another is not half-masked.
    needles: Vec<String>,
}

impl Redactor {
    pub fn new(secrets: &Map<String, Value>) -> Self {
        let mut needles = Vec::new();
        for value in secrets.values() {
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Null => continue,
                other => other.to_string(),
            };
            if text.is_empty() {
                continue;
            }
            let engines = [
                &base64::engine::general_purpose::STANDARD,
                &base64::engine::general_purpose::STANDARD_NO_PAD,
                &base64::engine::general_purpose::URL_SAFE,
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            ];
            for engine in engines {
                needles.push(engine.encode(&text));
            }
            needles.push(url::form_urlencoded::byte_serialize(text.as_bytes()).collect());
            let escaped = Value::String(text.clone()).to_string();
            needles.push(escaped[1..escaped.len() - 1].to_string());
            needles.push(text);
        }
        needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
        needles.dedup();
        Self { needles }
    }

    pub fn text(&self, text: &str) -> String {
        let mut out = text.to_string();
        for needle in &self.needles {
            if out.contains(needle.as_str()) {
                out = out.replace(needle.as_str(), MASK);
            }
        }
        out
    }

    /// Every string (and key) of a JSON value.
    pub fn json(&self, value: &Value) -> Value {
        if self.needles.is_empty() {
            return value.clone();
        }
        match value {
            Value::String(s) => Value::String(self.text(s)),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.json(v)).collect()),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (self.text(k), self.json(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_are_masked_in_every_form() {
        let secrets = json!({"token": "s3cr3t/value+1", "empty": ""});
        let r = Redactor::new(secrets.as_object().unwrap());
        let b64 = base64::engine::general_purpose::STANDARD.encode("s3cr3t/value+1");
        let url: String = url::form_urlencoded::byte_serialize(b"s3cr3t/value+1").collect();
        for leak in [
            "s3cr3t/value+1".to_string(),
            b64,
            url,
            "Bearer s3cr3t/value+1!".to_string(),
        ] {
            let masked = r.text(&leak);
            assert!(!masked.contains("s3cr3t"), "{masked}");
            assert!(masked.contains(MASK), "{masked}");
        }
        assert_eq!(
            r.json(&json!({"a": ["x s3cr3t/value+1"], "n": 1})),
            json!({"a": ["x ***"], "n": 1})
        );
        assert_eq!(r.text("nothing here"), "nothing here");
    }
}
