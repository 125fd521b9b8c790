//! The entity envelope and the field rules a document must meet to enter the catalog.

use serde_json::{Map, Value};

use super::entity_ref::EntityRef;

/// apiVersions of the built-in kinds.
const API_VERSIONS: &[&str] = &[
    "backstage.io/v1alpha1",
    "backstage.io/v1beta1",
    "scaffolder.backstage.io/v1beta3",
];
const ROOT_KEYS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "spec",
    "relations",
    "status",
];
const MAX_NAME_LEN: usize = 63;

/// A field that broke a rule: the dotted path and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    fn new(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_string(),
            message: message.into(),
        }
    }
}

/// A validated entity: the JSON document (namespace filled in) and its ref.
#[derive(Debug, Clone)]
pub struct Entity {
    pub entity_ref: EntityRef,
    pub body: Value,
}

impl Entity {
    pub fn kind(&self) -> &str {
        self.body["kind"].as_str().unwrap_or_default()
    }

    pub fn spec(&self) -> &Value {
        &self.body["spec"]
    }

    pub fn namespace(&self) -> &str {
        self.body["metadata"]["namespace"]
            .as_str()
            .unwrap_or("default")
    }

    pub fn metadata_mut(&mut self) -> &mut Map<String, Value> {
        self.body["metadata"]
            .as_object_mut()
            .expect("validated entities have metadata")
    }
}

/// Checks the envelope rules and defaults the namespace. The first broken rule is returned.
pub fn validate(mut body: Value) -> Result<Entity, FieldError> {
    let root = body
        .as_object_mut()
        .ok_or_else(|| FieldError::new("", "a catalog document must be a mapping"))?;
    if let Some(key) = root.keys().find(|k| !ROOT_KEYS.contains(&k.as_str())) {
        return Err(FieldError::new(
            key,
            "is not an entity field (allowed: apiVersion, kind, metadata, spec)",
        ));
    }
    let api_version = required_str(root, "apiVersion", "apiVersion")?;
    if !API_VERSIONS.contains(&api_version) {
        return Err(FieldError::new(
            "apiVersion",
            format!("'{api_version}' is not one of {}", API_VERSIONS.join(", ")),
        ));
    }
    let kind = required_str(root, "kind", "kind")?.to_string();
    if !kind.chars().all(|c| c.is_ascii_alphanumeric()) || kind.is_empty() {
        return Err(FieldError::new(
            "kind",
            format!("'{kind}' must be letters and digits only"),
        ));
    }
    if !root.contains_key("spec") {
        root.insert("spec".into(), Value::Object(Map::new()));
    } else if !root["spec"].is_object() {
        return Err(FieldError::new("spec", "must be a mapping"));
    }
    let metadata = root
        .get_mut("metadata")
        .ok_or_else(|| FieldError::new("metadata", "is required"))?
        .as_object_mut()
        .ok_or_else(|| FieldError::new("metadata", "must be a mapping"))?;
    let name = required_str(metadata, "name", "metadata.name")?.to_string();
    check_name(&name, "metadata.name")?;
    let namespace = match metadata.get("namespace") {
        None => "default".to_string(),
        Some(Value::String(ns)) => ns.clone(),
        Some(_) => return Err(FieldError::new("metadata.namespace", "must be a string")),
    };
    check_namespace(&namespace)?;
    metadata.insert("namespace".into(), Value::String(namespace.clone()));
    Ok(Entity {
        entity_ref: EntityRef::new(&kind, &namespace, &name),
        body,
    })
}

fn required_str<'a>(
    map: &'a Map<String, Value>,
    key: &str,
    field: &str,
) -> Result<&'a str, FieldError> {
    match map.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        Some(Value::String(_)) | None => Err(FieldError::new(field, "is required")),
        Some(_) => Err(FieldError::new(field, "must be a string")),
    }
}

/// Backstage's name rule: 1–63 chars of `[a-zA-Z0-9]` separated by single `-`, `_` or `.`.
fn check_name(name: &str, field: &str) -> Result<(), FieldError> {
    let well_formed = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .split(['-', '_', '.'])
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric()));
    if well_formed {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            format!(
                "'{name}' must be 1-63 letters and digits, separated by single '-', '_' or '.'"
            ),
        ))
    }
}

/// A namespace is a lowercase DNS label.
fn check_namespace(namespace: &str) -> Result<(), FieldError> {
    let ok = !namespace.is_empty()
        && namespace.len() <= MAX_NAME_LEN
        && namespace
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !namespace.starts_with('-')
        && !namespace.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(FieldError::new(
            "metadata.namespace",
            format!("'{namespace}' must be a lowercase DNS label"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(name: &str) -> Value {
        json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {"name": name}, "spec": {}})
    }

    #[test]
    fn namespace_defaults_and_ref_is_canonical() {
        let e = validate(doc("Payments-API")).unwrap();
        assert_eq!(e.entity_ref.to_string(), "component:default/payments-api");
        assert_eq!(e.body["metadata"]["namespace"], "default");
    }

    #[test]
    fn broken_rules_name_the_field() {
        let too_long = "a".repeat(64);
        for (body, field) in [
            (doc("bad--name"), "metadata.name"),
            (doc(&too_long), "metadata.name"),
            (
                json!({"apiVersion": "v9", "kind": "Component", "metadata": {"name": "x"}}),
                "apiVersion",
            ),
            (
                json!({"apiVersion": "backstage.io/v1alpha1", "metadata": {"name": "x"}}),
                "kind",
            ),
            (
                json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {"name": "x"}, "extra": 1}),
                "extra",
            ),
            (
                json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {"name": "x", "namespace": "Ops"}}),
                "metadata.namespace",
            ),
        ] {
            assert_eq!(validate(body).unwrap_err().field, field);
        }
    }
}
