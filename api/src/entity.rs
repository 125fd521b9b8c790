//! Entities as JSON, the one way every part of Greenroom reads them: references
//! (`[kind:][namespace/]name`, kept in lowercased canonical form), the portal page of an
//! entity, and the few fields everything shows.

use std::fmt;

use serde_json::Value;

/// A resolved reference to an entity. All three parts are lowercase, so two refs to the same
/// entity compare equal however they were written.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntityRef {
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl EntityRef {
    pub fn new(kind: &str, namespace: &str, name: &str) -> Self {
        Self {
            kind: kind.to_lowercase(),
            namespace: namespace.to_lowercase(),
            name: name.to_lowercase(),
        }
    }

    /// Parses `[kind:][namespace/]name`, filling the parts that are left out from the defaults.
    /// A ref with no kind and no default kind is an error, as in Backstage.
    pub fn parse(
        text: &str,
        default_kind: Option<&str>,
        default_namespace: &str,
    ) -> Result<Self, String> {
        let text = text.trim();
        let (kind, rest) = match text.split_once(':') {
            Some((kind, rest)) => (Some(kind), rest),
            None => (None, text),
        };
        let (namespace, name) = match rest.split_once('/') {
            Some((namespace, name)) => (namespace, name),
            None => (default_namespace, rest),
        };
        let kind = kind
            .or(default_kind)
            .ok_or_else(|| format!("entity ref '{text}' has no kind and none can be assumed"))?;
        if kind.is_empty() || namespace.is_empty() || name.is_empty() || name.contains(['/', ':']) {
            return Err(format!(
                "'{text}' is not an entity ref of the form [kind:][namespace/]name"
            ));
        }
        Ok(Self::new(kind, namespace, name))
    }

    /// The ref of an entity given as Backstage's JSON (namespace `default` when absent).
    pub fn of(entity: &Value) -> Self {
        let metadata = &entity["metadata"];
        Self::new(
            entity["kind"].as_str().unwrap_or_default(),
            metadata["namespace"].as_str().unwrap_or("default"),
            metadata["name"].as_str().unwrap_or_default(),
        )
    }

    /// The entity's page in the portal: the UI route, and the link plugins put in their trees.
    pub fn page_path(&self) -> String {
        format!("/catalog/{}/{}/{}", self.namespace, self.kind, self.name)
    }
}

/// The portal page of the entity `entity_ref` names (kind `component` and namespace `default`
/// when left out).
pub fn page_path(entity_ref: &str) -> String {
    EntityRef::parse(entity_ref, Some("component"), "default")
        .map(|r| r.page_path())
        .unwrap_or_else(|_| format!("/catalog/default/component/{entity_ref}"))
}

/// Whether a link may be followed from the portal: a web (`http`, `https`) or mail
/// (`mailto`) address, or a path in the portal. `javascript:`, `data:` and every other scheme
/// are not: catalog validation refuses them, plugin trees may not carry them, and the UI
/// shows them as text.
pub fn is_safe_link(url: &str) -> bool {
    let scheme = url
        .trim_start()
        .get(..8)
        .unwrap_or(url)
        .to_ascii_lowercase();
    (url.starts_with('/') && !url.starts_with("//"))
        || ["http://", "https://", "mailto:"]
            .iter()
            .any(|allowed| scheme.starts_with(allowed))
}

/// A dotted field of an entity (`spec.profile.email`), or null.
pub fn field<'a>(entity: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(entity, |value, key| &value[key])
}

/// The entity's title, or its name when it has none.
pub fn display_name(entity: &Value) -> &str {
    let metadata = &entity["metadata"];
    metadata["title"]
        .as_str()
        .or(metadata["name"].as_str())
        .unwrap_or_default()
}

impl fmt::Display for EntityRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}/{}", self.kind, self.namespace, self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_parts_come_from_the_defaults_and_case_is_folded() {
        let r = EntityRef::parse("Platform-Team", Some("Group"), "Payments").unwrap();
        assert_eq!(r.to_string(), "group:payments/platform-team");
        let r = EntityRef::parse("user:ops/Ann", Some("group"), "default").unwrap();
        assert_eq!(r.to_string(), "user:ops/ann");
    }

    #[test]
    fn refs_without_kind_or_with_empty_parts_are_refused() {
        assert!(EntityRef::parse("svc", None, "default").is_err());
        assert!(EntityRef::parse("component:/svc", None, "default").is_err());
        assert!(EntityRef::parse("component:a/b/c", None, "default").is_err());
    }

    #[test]
    fn an_entity_gives_its_ref_and_page() {
        let entity = serde_json::json!({"kind": "API", "metadata": {"name": "Orders"}});
        let entity_ref = EntityRef::of(&entity);
        assert_eq!(entity_ref.to_string(), "api:default/orders");
        assert_eq!(entity_ref.page_path(), "/catalog/default/api/orders");
        assert_eq!(display_name(&entity), "Orders");
        assert_eq!(field(&entity, "metadata.name"), "Orders");
    }

    #[test]
    fn only_web_mail_and_portal_links_are_safe() {
        for safe in [
            "https://x.example/a",
            "HTTP://x.example",
            "mailto:ops@x.example",
            "/catalog/default/group/ops",
        ] {
            assert!(is_safe_link(safe), "{safe}");
        }
        for unsafe_ in [
            "javascript:alert(1)",
            " JavaScript:alert(1)",
            "java\tscript:alert(1)",
            "data:text/html,x",
            "//evil.example",
            "vbscript:x",
            "",
            "relative/path",
        ] {
            assert!(!is_safe_link(unsafe_), "{unsafe_}");
        }
    }

    #[test]
    fn entity_pages_are_addressed_by_namespace_kind_and_name() {
        assert_eq!(
            page_path("group:team-a/payments"),
            "/catalog/team-a/group/payments"
        );
        assert_eq!(page_path("checkout"), "/catalog/default/component/checkout");
        assert_eq!(page_path("group:ops/Team-A"), "/catalog/ops/group/team-a");
    }
}
