//! Entities as served: the stored JSON text with `relations` added, never parsed on the way
//! out. Parsing and re-serializing every body was most of the time of a lookup or a page.

use serde_json::Value;

/// An entity as served, as JSON text: its stored body (compact, an object without
/// `relations`, which sources may not set) followed by its relations.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityJson(String);

impl EntityJson {
    /// The stored body with `relations`, given as (type, target) pairs, added as Backstage
    /// shows them: `{"type": ..., "targetRef": ...}`.
    pub(super) fn new(body: &str, relations: &[(&str, &str)]) -> anyhow::Result<Self> {
        let open = body
            .strip_suffix('}')
            .filter(|b| b.starts_with('{'))
            .ok_or_else(|| anyhow::anyhow!("a stored entity body is not a JSON object"))?;
        let mut text = String::with_capacity(body.len() + 16 + relations.len() * 64);
        text.push_str(open);
        // `{}` cannot be stored (an entity has apiVersion, kind and metadata), so a comma
        // always separates the new key from the last one.
        text.push_str(",\"relations\":[");
        for (i, (kind, target)) in relations.iter().enumerate() {
            if i > 0 {
                text.push(',');
            }
            text.push_str("{\"type\":");
            push_string(&mut text, kind)?;
            text.push_str(",\"targetRef\":");
            push_string(&mut text, target)?;
            text.push('}');
        }
        text.push_str("]}");
        Ok(Self(text))
    }

    pub fn into_string(self) -> String {
        self.0
    }

    /// The entity parsed, for code that reads its fields.
    pub fn to_value(&self) -> anyhow::Result<Value> {
        Ok(serde_json::from_str(&self.0)?)
    }
}

/// Appends `text` as a JSON string, escaped.
fn push_string(out: &mut String, text: &str) -> anyhow::Result<()> {
    out.push_str(&serde_json::to_string(text)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn relations_are_added_to_the_stored_body_as_a_json_key() {
        let stored = json!({"kind": "Group", "metadata": {"name": "a\"b"}}).to_string();
        let served = EntityJson::new(
            &stored,
            &[("hasMember", "user:default/ann"), ("ownerOf", "x:y/\"z")],
        )
        .unwrap();
        assert_eq!(
            served.to_value().unwrap(),
            json!({"kind": "Group", "metadata": {"name": "a\"b"}, "relations": [
                {"type": "hasMember", "targetRef": "user:default/ann"},
                {"type": "ownerOf", "targetRef": "x:y/\"z"},
            ]})
        );
        let none = EntityJson::new(&stored, &[]).unwrap();
        assert_eq!(none.to_value().unwrap()["relations"], json!([]));
        assert!(EntityJson::new("[]", &[]).is_err());
    }
}
