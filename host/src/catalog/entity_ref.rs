//! Entity references: `[kind:][namespace/]name`, kept in lowercased canonical form.

use std::fmt;

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
}
