//! The entity envelope and Backstage's field rules for `apiVersion`, `kind` and `metadata`.
//! The per-kind `spec` rules live in [`super::kinds`].

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value};

use super::kinds;
use greenroom_api::EntityRef;
use greenroom_api::entity::is_safe_link;

/// The root keys a source may give; `relations` and `status` are the server's to write.
const ROOT_KEYS: &[&str] = &["apiVersion", "kind", "metadata", "spec"];
/// Metadata the server sets; values given in a source are ignored.
const SERVER_METADATA: &[&str] = &["uid", "etag", "generation"];

static OBJECT_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$").unwrap());
static DNS_LABEL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9]+(?:-+[a-z0-9]+)*$").unwrap());
static TAG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9:+#]+(?:-[a-z0-9:+#]+)*$").unwrap());
static KIND: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[a-zA-Z][a-z0-9A-Z]*$").unwrap());
static VERSION: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[a-z0-9A-Z]+$").unwrap());

/// A field that broke a rule: the dotted path and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A validated entity: the JSON document (namespace filled in, server fields removed) and its
/// canonical ref.
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
        &self.entity_ref.namespace
    }

    pub fn metadata_mut(&mut self) -> &mut Map<String, Value> {
        self.body["metadata"]
            .as_object_mut()
            .expect("validated entities have metadata")
    }

    /// Sets an annotation, creating `metadata.annotations` if needed.
    pub fn annotate(&mut self, key: &str, value: &str) {
        let annotations = self
            .metadata_mut()
            .entry("annotations")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(map) = annotations.as_object_mut() {
            map.insert(key.into(), Value::String(value.into()));
        }
    }
}

/// The ref a document claims, if its kind, namespace and name can be read at all. Used to
/// attach a validation failure to the entity it belongs to.
pub fn claimed_ref(document: &Value) -> Option<EntityRef> {
    let kind = document["kind"].as_str()?;
    let name = document["metadata"]["name"].as_str()?;
    let namespace = document["metadata"]["namespace"]
        .as_str()
        .unwrap_or("default");
    (!kind.is_empty() && !name.is_empty()).then(|| EntityRef::new(kind, namespace, name))
}

/// Checks every rule and returns every broken one, or the entity with its namespace defaulted.
pub fn validate(mut body: Value) -> Result<Entity, Vec<FieldError>> {
    let Some(root) = body.as_object_mut() else {
        return Err(vec![FieldError::new(
            "",
            "a catalog document must be a mapping",
        )]);
    };
    let mut errors = Vec::new();
    for key in root.keys().filter(|k| !ROOT_KEYS.contains(&k.as_str())) {
        errors.push(FieldError::new(
            key.as_str(),
            "is not an entity field (allowed: apiVersion, kind, metadata, spec)",
        ));
    }
    let api_version = check_string(root, "apiVersion", "apiVersion", &mut errors);
    if let Some(v) = api_version.filter(|v| !is_valid_api_version(v)) {
        errors.push(FieldError::new(
            "apiVersion",
            format!("'{v}' is not of the form group/version"),
        ));
    }
    let kind = check_string(root, "kind", "kind", &mut errors).filter(|k| {
        let ok = k.len() <= 63 && KIND.is_match(k);
        if !ok {
            errors.push(FieldError::new(
                "kind",
                format!("'{k}' must be a letter followed by letters and digits, at most 63"),
            ));
        }
        ok
    });
    let (api_version, kind) = (api_version.map(str::to_owned), kind.map(str::to_owned));
    match root.get_mut("spec") {
        None => {
            root.insert("spec".into(), Value::Object(Map::new()));
        }
        Some(Value::Object(_)) => {}
        Some(_) => errors.push(FieldError::new("spec", "must be a mapping")),
    }
    let identity = match root.get_mut("metadata") {
        None => {
            errors.push(FieldError::new("metadata", "is required"));
            None
        }
        Some(Value::Object(metadata)) => check_metadata(metadata, &mut errors),
        Some(_) => {
            errors.push(FieldError::new("metadata", "must be a mapping"));
            None
        }
    };
    if let (Some(api_version), Some(kind)) = (&api_version, &kind)
        && is_valid_api_version(api_version)
    {
        kinds::check_spec(api_version, kind, &root["spec"], &mut errors);
    }
    match (kind, identity) {
        (Some(kind), Some((namespace, name))) if errors.is_empty() => Ok(Entity {
            entity_ref: EntityRef::new(&kind, &namespace, &name),
            body,
        }),
        _ => Err(errors),
    }
}

/// Checks `metadata`; returns the namespace (defaulted) and name when both are valid.
fn check_metadata(
    metadata: &mut Map<String, Value>,
    errors: &mut Vec<FieldError>,
) -> Option<(String, String)> {
    for key in SERVER_METADATA {
        metadata.remove(*key);
    }
    let name = check_string(metadata, "name", "metadata.name", errors)
        .filter(|name| {
            let ok = name.len() <= 63 && OBJECT_NAME.is_match(name);
            if !ok {
                errors.push(FieldError::new(
                    "metadata.name",
                    format!(
                        "'{name}' must be 1-63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
                    ),
                ));
            }
            ok
        })
        .map(str::to_owned);
    let namespace = match metadata.get("namespace") {
        None => Some("default".to_owned()),
        Some(Value::String(ns)) if is_dns_label(ns) => Some(ns.clone()),
        Some(Value::String(ns)) => {
            errors.push(FieldError::new(
                "metadata.namespace",
                format!("'{ns}' must be a lowercase DNS label (a-z, 0-9 and '-', at most 63)"),
            ));
            None
        }
        Some(_) => {
            errors.push(FieldError::new("metadata.namespace", "must be a string"));
            None
        }
    };
    if let Some(ns) = &namespace {
        metadata.insert("namespace".into(), Value::String(ns.clone()));
    }
    for field in ["title", "description"] {
        if metadata.get(field).is_some_and(|v| !v.is_string()) {
            errors.push(FieldError::new(
                format!("metadata.{field}"),
                "must be a string",
            ));
        }
    }
    check_map(metadata, "labels", errors, |value| match value {
        Value::String(v) if v.is_empty() || (v.len() <= 63 && OBJECT_NAME.is_match(v)) => None,
        Value::String(v) => Some(format!(
            "'{v}' must be empty or 1-63 letters, digits, '-', '_' or '.'"
        )),
        _ => Some("must be a string".into()),
    });
    check_map(metadata, "annotations", errors, |value| {
        (!value.is_string()).then(|| "must be a string".into())
    });
    check_tags(metadata, errors);
    check_links(metadata, errors);
    Some((namespace?, name?))
}

fn check_map(
    metadata: &Map<String, Value>,
    field: &str,
    errors: &mut Vec<FieldError>,
    check_value: impl Fn(&Value) -> Option<String>,
) {
    match metadata.get(field) {
        None => {}
        Some(Value::Object(map)) => {
            for (key, value) in map {
                let path = format!("metadata.{field}.{key}");
                if !is_valid_key(key) {
                    errors.push(FieldError::new(
                        path.as_str(),
                        format!("'{key}' is not a valid key: an optional DNS-subdomain prefix and '/', then 1-63 letters, digits, '-', '_' or '.'"),
                    ));
                }
                if let Some(message) = check_value(value) {
                    errors.push(FieldError::new(path, message));
                }
            }
        }
        Some(_) => errors.push(FieldError::new(
            format!("metadata.{field}"),
            "must be a mapping",
        )),
    }
}

fn check_tags(metadata: &Map<String, Value>, errors: &mut Vec<FieldError>) {
    match metadata.get("tags") {
        None => {}
        Some(Value::Array(tags)) => {
            for (i, tag) in tags.iter().enumerate() {
                let field = format!("metadata.tags[{i}]");
                match tag.as_str() {
                    Some(t) if t.len() <= 63 && TAG.is_match(t) => {}
                    Some(t) => errors.push(FieldError::new(
                        field,
                        format!("'{t}' must be 1-63 lowercase letters, digits, ':', '+' or '#', separated by single '-'"),
                    )),
                    None => errors.push(FieldError::new(field, "must be a string")),
                }
            }
        }
        Some(_) => errors.push(FieldError::new("metadata.tags", "must be a list")),
    }
}

fn check_links(metadata: &Map<String, Value>, errors: &mut Vec<FieldError>) {
    match metadata.get("links") {
        None => {}
        Some(Value::Array(links)) => {
            for (i, link) in links.iter().enumerate() {
                let field = format!("metadata.links[{i}]");
                let Some(link) = link.as_object() else {
                    errors.push(FieldError::new(field, "must be a mapping with a url"));
                    continue;
                };
                match link.get("url").and_then(Value::as_str) {
                    Some(u) if u.starts_with('/') && is_safe_link(u) => {}
                    Some(u) if url::Url::parse(u).is_ok() && is_safe_link(u) => {}
                    Some(u) => errors.push(FieldError::new(
                        format!("{field}.url"),
                        format!("'{u}' is not an http(s) or mailto URL or a portal path"),
                    )),
                    None => errors.push(FieldError::new(format!("{field}.url"), "is required")),
                }
                for key in ["title", "icon", "type"] {
                    if link.get(key).is_some_and(|v| !v.is_string()) {
                        errors.push(FieldError::new(
                            format!("{field}.{key}"),
                            "must be a string",
                        ));
                    }
                }
            }
        }
        Some(_) => errors.push(FieldError::new("metadata.links", "must be a list")),
    }
}

/// A required, non-empty string field; records the problem and returns `None` otherwise.
fn check_string<'a>(
    map: &'a Map<String, Value>,
    key: &str,
    field: &str,
    errors: &mut Vec<FieldError>,
) -> Option<&'a str> {
    match map.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Some(s),
        Some(Value::String(_)) | None => {
            errors.push(FieldError::new(field, "is required"));
            None
        }
        Some(_) => {
            errors.push(FieldError::new(field, "must be a string"));
            None
        }
    }
}

fn is_dns_label(value: &str) -> bool {
    value.len() <= 63 && DNS_LABEL.is_match(value)
}

fn is_dns_subdomain(value: &str) -> bool {
    value.len() <= 253 && value.split('.').all(is_dns_label)
}

/// Label and annotation keys: `[dns-subdomain/]object-name`.
fn is_valid_key(key: &str) -> bool {
    let name_ok = |n: &str| n.len() <= 63 && OBJECT_NAME.is_match(n);
    match key.split_once('/') {
        Some((prefix, name)) => is_dns_subdomain(prefix) && name_ok(name),
        None => name_ok(key),
    }
}

/// `group/version` (or just `version`), as Kubernetes writes it.
fn is_valid_api_version(value: &str) -> bool {
    let version_ok = |v: &str| v.len() <= 63 && VERSION.is_match(v);
    match value.split_once('/') {
        Some((group, version)) => is_dns_subdomain(group) && version_ok(version),
        None => version_ok(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn component(metadata: Value) -> Value {
        json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": metadata,
               "spec": {"type": "service", "lifecycle": "production", "owner": "team-a"}})
    }

    fn broken_field(body: Value) -> String {
        let errors = validate(body).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        errors[0].field.clone()
    }

    #[test]
    fn namespace_defaults_ref_is_canonical_and_server_fields_are_dropped() {
        let e = validate(component(json!({"name": "Payments-API", "uid": "mine"}))).unwrap();
        assert_eq!(e.entity_ref.to_string(), "component:default/payments-api");
        assert_eq!(e.body["metadata"]["namespace"], "default");
        assert!(e.body["metadata"].get("uid").is_none());
    }

    #[test]
    fn names_follow_backstage_rules() {
        for ok in ["a", "a--b", "a_b.c", &"x".repeat(63)] {
            assert!(validate(component(json!({ "name": ok }))).is_ok(), "{ok}");
        }
        for bad in ["-a", "a-", "a b", "", &"x".repeat(64)] {
            assert_eq!(
                broken_field(component(json!({ "name": bad }))),
                "metadata.name",
                "{bad}"
            );
        }
    }

    #[test]
    fn namespace_must_be_a_dns_label() {
        for bad in ["Ops", "ops_1", "-ops", &"n".repeat(64)] {
            assert_eq!(
                broken_field(component(json!({"name": "a", "namespace": bad}))),
                "metadata.namespace"
            );
        }
        assert!(validate(component(json!({"name": "a", "namespace": "team-1"}))).is_ok());
    }

    #[test]
    fn tags_labels_annotations_and_links_are_checked_per_item() {
        assert_eq!(
            broken_field(component(json!({"name": "a", "tags": ["java", "Java"]}))),
            "metadata.tags[1]"
        );
        assert!(
            validate(component(
                json!({"name": "a", "tags": ["c++", "c#", "a:b"]})
            ))
            .is_ok()
        );
        assert_eq!(
            broken_field(component(json!({"name": "a", "labels": {"tier": "a b"}}))),
            "metadata.labels.tier"
        );
        assert_eq!(
            broken_field(component(json!({"name": "a", "labels": {"bad key!": "x"}}))),
            "metadata.labels.bad key!"
        );
        assert!(
            validate(component(
                json!({"name": "a", "labels": {"example.com/tier": "", "x": "front-end"}})
            ))
            .is_ok()
        );
        assert_eq!(
            broken_field(component(
                json!({"name": "a", "annotations": {"a/b/c": "x"}})
            )),
            "metadata.annotations.a/b/c"
        );
        assert_eq!(
            broken_field(component(json!({"name": "a", "annotations": {"ok": 3}}))),
            "metadata.annotations.ok"
        );
        assert_eq!(
            broken_field(component(
                json!({"name": "a", "links": [{"url": "not a url"}]})
            )),
            "metadata.links[0].url"
        );
        assert_eq!(
            broken_field(component(
                json!({"name": "a", "links": [{"url": "https://ok.example"}, {"url": "javascript:alert(1)"}]})
            )),
            "metadata.links[1].url"
        );
        assert_eq!(
            broken_field(component(json!({"name": "a", "links": [{"title": "x"}]}))),
            "metadata.links[0].url"
        );
    }

    #[test]
    fn envelope_rules_name_the_field_and_all_problems_are_reported() {
        for (body, field) in [
            (
                json!({"apiVersion": "not/a/version", "kind": "User", "metadata": {"name": "x"}, "spec": {"memberOf": []}}),
                "apiVersion",
            ),
            (
                json!({"apiVersion": "backstage.io/v1alpha1", "metadata": {"name": "x"}}),
                "kind",
            ),
            (
                json!({"apiVersion": "backstage.io/v1alpha1", "kind": "9lives", "metadata": {"name": "x"}}),
                "kind",
            ),
            (
                json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Group", "spec": {"type": "team", "children": []}}),
                "metadata",
            ),
            (
                json!({"apiVersion": "backstage.io/v1alpha1", "kind": "User", "metadata": {"name": "x"}, "spec": {"memberOf": []}, "status": {}}),
                "status",
            ),
        ] {
            assert_eq!(broken_field(body), field);
        }
        let errors = validate(
            json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component",
            "metadata": {"name": "-x", "title": 3}, "extra": 1, "spec": {}}),
        )
        .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "extra",
                "metadata.name",
                "metadata.title",
                "spec.type",
                "spec.lifecycle",
                "spec.owner"
            ]
        );
    }

    #[test]
    fn the_claimed_ref_is_read_even_from_an_invalid_document() {
        let doc = json!({"kind": "Component", "metadata": {"name": "Web", "namespace": "shop"}});
        assert_eq!(claimed_ref(&doc).unwrap().to_string(), "component:shop/web");
        assert!(claimed_ref(&json!({"kind": "Component"})).is_none());
    }
}
