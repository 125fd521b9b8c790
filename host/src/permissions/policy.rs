//! The policy file: roles with members and grants, decided the way the README states.
//!
//! ```yaml
//! defaultRole: viewer            # every caller has it besides their own roles
//! roles:
//!   admin:
//!     members: [group:default/platform]
//!     allow: ["*"]
//!   developer:
//!     members: [group:default/engineering]
//!     allow:
//!       - catalog-entity                        # every permission on a resource type
//!       - permission: catalog.entity.delete     # only what the caller owns
//!         conditions: {rule: IS_ENTITY_OWNER, params: {claims: $ownerRefs}}
//!   viewer:
//!     members: ["*"]
//!     allow: [catalog.entity.read, {resourceType: catalog-entity, actions: [read]}]
//!     deny: [catalog.location.create]
//! ```
//!
//! A caller's roles are those listing them (`user:…`, a group they belong to, directly or
//! through parent groups, `service:<subject>` for an API token, or `*` for everyone) plus
//! the default role. A grant naming a permission is more specific than one naming its
//! resource type, which is more specific than `*`. Allows add up: any role's allow allows
//! (several conditional allows: any of them). A deny overrides the allows no more specific
//! than itself (so `deny: [catalog-entity]` beside `allow: ["*"]` denies, while `allow:
//! [catalog.entity.read]` beside `deny: [catalog-entity]` still reads); a conditional deny
//! at least as specific as the allow holds back the resources it matches. Nothing covering
//! a permission denies it.

use serde::Deserialize;
use serde_json::Value;

use super::Identity;
use super::criteria::Criteria;
use super::model::{self, Permission};

/// What a policy decides for one caller and permission.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Allow,
    Deny,
    /// Allowed for the resources that meet the criteria (already bound to the caller).
    Conditional(Criteria),
}

/// A decision and why, for people (`greenroom policy check`, 403 messages).
#[derive(Debug, Clone)]
pub struct Verdict {
    pub decision: Decision,
    /// The caller's roles, each with why they have it.
    pub roles: Vec<(String, String)>,
    pub reason: String,
}

#[derive(Debug, Clone)]
pub struct Policy {
    default_role: Option<String>,
    roles: Vec<Role>,
}

#[derive(Debug, Clone)]
pub struct Role {
    pub name: String,
    members: Vec<String>,
    allow: Vec<Grant>,
    deny: Vec<Grant>,
}

#[derive(Debug, Clone)]
struct Grant {
    target: Target,
    actions: Option<Vec<String>>,
    conditions: Option<Criteria>,
}

#[derive(Debug, Clone, PartialEq)]
enum Target {
    Everything,
    ResourceType(String),
    Permission(String),
}

impl Target {
    fn specificity(&self) -> u8 {
        match self {
            Target::Everything => 0,
            Target::ResourceType(_) => 1,
            Target::Permission(_) => 2,
        }
    }

    fn text(&self) -> &str {
        match self {
            Target::Everything => "*",
            Target::ResourceType(t) | Target::Permission(t) => t,
        }
    }
}

impl Grant {
    fn covers(&self, permission: &Permission) -> bool {
        let target = match &self.target {
            Target::Everything => true,
            Target::ResourceType(t) => permission.resource_type == Some(t.as_str()),
            Target::Permission(name) => permission.name == name,
        };
        target
            && self.actions.as_ref().is_none_or(|actions| {
                permission
                    .action
                    .is_some_and(|a| actions.iter().any(|x| x == a))
            })
    }

    fn describe(&self) -> String {
        let mut text = self.target.text().to_string();
        if let Some(actions) = &self.actions {
            text.push_str(&format!(" ({})", actions.join(", ")));
        }
        if let Some(conditions) = &self.conditions {
            text.push_str(&format!(" if {}", conditions.describe()));
        }
        text
    }
}

// The file's shape.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PolicyFile {
    default_role: Option<String>,
    #[serde(default)]
    roles: indexmap_like::Ordered<RoleFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleFile {
    #[serde(default)]
    members: Vec<String>,
    #[serde(default)]
    allow: Vec<GrantFile>,
    #[serde(default)]
    deny: Vec<GrantFile>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum GrantFile {
    Name(String),
    Full(FullGrant),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct FullGrant {
    permission: Option<String>,
    resource_type: Option<String>,
    actions: Option<Vec<String>>,
    conditions: Option<Value>,
}

/// Roles in the order the file lists them.
mod indexmap_like {
    use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};

    pub struct Ordered<T>(pub Vec<(String, T)>);

    impl<T> Default for Ordered<T> {
        fn default() -> Self {
            Self(Vec::new())
        }
    }

    impl<'de, T: Deserialize<'de>> Deserialize<'de> for Ordered<T> {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct Entries<T>(std::marker::PhantomData<T>);
            impl<'de, T: Deserialize<'de>> Visitor<'de> for Entries<T> {
                type Value = Ordered<T>;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("a map of roles")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                    let mut entries = Vec::new();
                    while let Some((key, value)) = map.next_entry::<String, T>()? {
                        entries.push((key, value));
                    }
                    Ok(Ordered(entries))
                }
            }
            deserializer.deserialize_map(Entries(std::marker::PhantomData))
        }
    }
}

impl Policy {
    /// Reads a policy from YAML text; errors name the role and field.
    pub fn parse(text: &str) -> Result<Self, String> {
        let file: PolicyFile = serde_yaml::from_str(text).map_err(|e| e.to_string())?;
        let mut roles = Vec::new();
        for (name, role) in file.roles.0 {
            let at = format!("roles.{name}");
            if roles.iter().any(|r: &Role| r.name == name) {
                return Err(format!("{at}: the role is defined twice"));
            }
            for member in &role.members {
                if member != "*" && !valid_member(member) {
                    return Err(format!(
                        "{at}.members: '{member}' is not `*`, a user or group ref (user:default/ada, group:default/team) or service:<token subject>"
                    ));
                }
            }
            let grants = |list: Vec<GrantFile>, kind: &str| -> Result<Vec<Grant>, String> {
                list.into_iter()
                    .enumerate()
                    .map(|(i, g)| grant(g).map_err(|e| format!("{at}.{kind}[{i}]: {e}")))
                    .collect()
            };
            roles.push(Role {
                members: role.members.iter().map(|m| m.to_lowercase()).collect(),
                allow: grants(role.allow, "allow")?,
                deny: grants(role.deny, "deny")?,
                name,
            });
        }
        if let Some(default) = &file.default_role
            && !roles.iter().any(|r| &r.name == default)
        {
            return Err(format!("defaultRole: there is no role '{default}'"));
        }
        Ok(Self {
            default_role: file.default_role,
            roles,
        })
    }

    pub fn role_names(&self) -> impl Iterator<Item = &str> {
        self.roles.iter().map(|r| r.name.as_str())
    }

    /// The caller's roles, each with why they have it.
    pub fn roles_of(&self, caller: Option<&Identity>) -> Vec<(&Role, String)> {
        let refs: Vec<String> = match caller {
            Some(Identity::User {
                user_ref,
                ownership_refs,
            }) => std::iter::once(user_ref)
                .chain(ownership_refs)
                .map(|r| r.to_lowercase())
                .collect(),
            Some(Identity::Service { subject }) => {
                vec![format!("service:{subject}").to_lowercase()]
            }
            None => Vec::new(),
        };
        self.roles
            .iter()
            .filter_map(|role| {
                if let Some(through) = refs.iter().find(|r| role.members.contains(r)) {
                    let why = if Some(through) == refs.first() {
                        "a member".to_string()
                    } else {
                        format!("member through {through}")
                    };
                    return Some((role, why));
                }
                if role.members.iter().any(|m| m == "*") {
                    return Some((role, "everyone".to_string()));
                }
                (self.default_role.as_deref() == Some(role.name.as_str()))
                    .then(|| (role, "the default role".to_string()))
            })
            .collect()
    }

    /// The decision for `caller` on `permission`, with the reason.
    pub fn decide(&self, caller: Option<&Identity>, permission: &Permission) -> Verdict {
        let roles = self.roles_of(caller);
        let (user, owner_refs) = match caller {
            Some(Identity::User {
                user_ref,
                ownership_refs,
            }) => (user_ref.as_str(), ownership_refs.as_slice()),
            _ => ("", &[][..]),
        };
        let covering = |deny: bool| -> Vec<(&Role, &Grant)> {
            roles
                .iter()
                .flat_map(|(role, _)| {
                    let grants = if deny { &role.deny } else { &role.allow };
                    grants.iter().map(move |g| (*role, g))
                })
                .filter(|(_, g)| g.covers(permission))
                .collect()
        };
        let (allows, denies) = (covering(false), covering(true));
        let role_list: Vec<(String, String)> = roles
            .iter()
            .map(|(r, why)| (r.name.clone(), why.clone()))
            .collect();
        let verdict = |decision, reason: String| Verdict {
            decision,
            roles: role_list.clone(),
            reason,
        };
        let described =
            |list: &[(&Role, &Grant)], verb: &str| -> Vec<(u8, String, Option<Criteria>)> {
                list.iter()
                    .map(|(role, g)| {
                        (
                            g.target.specificity(),
                            format!("role {} {verb} {}", role.name, g.describe()),
                            g.conditions.as_ref().map(|c| c.bind(user, owner_refs)),
                        )
                    })
                    .collect()
            };
        let (allows, denies) = (described(&allows, "grants"), described(&denies, "denies"));
        // An unconditional deny overrides the allows no more specific than itself.
        let deny_level = denies.iter().filter(|d| d.2.is_none()).map(|d| d.0).max();
        let standing = |level: u8| deny_level.is_none_or(|deny| level > deny);
        let outright = allows
            .iter()
            .filter(|a| a.2.is_none() && standing(a.0))
            .max_by_key(|a| a.0);
        let conditional: Vec<_> = allows
            .iter()
            .filter(|a| a.2.is_some() && standing(a.0))
            .collect();
        let (level, mut reasons, allowed_if) = match (outright, conditional.as_slice()) {
            (Some(allow), _) => (allow.0, vec![allow.1.clone()], None),
            (None, []) => {
                let reason = match denies.iter().find(|d| d.2.is_none()) {
                    Some(deny) if !allows.is_empty() => deny.1.clone(),
                    _ => format!("no role of the caller grants {}", permission.name),
                };
                return verdict(Decision::Deny, reason);
            }
            (None, some) => (
                some.iter().map(|a| a.0).max().unwrap_or_default(),
                some.iter().map(|a| a.1.clone()).collect(),
                Some(any_of(some.iter().filter_map(|a| a.2.clone()).collect())),
            ),
        };
        // Conditional denies at least as specific as the allow hold back what they match.
        let held_back: Vec<_> = denies
            .iter()
            .filter(|d| d.0 >= level)
            .filter_map(|d| Some((d.1.clone(), d.2.clone()?)))
            .collect();
        reasons.extend(held_back.iter().map(|(why, _)| why.clone()));
        let unless = (!held_back.is_empty()).then(|| Criteria::Not {
            not: Box::new(any_of(held_back.into_iter().map(|(_, c)| c).collect())),
        });
        let decision = match (allowed_if, unless) {
            (None, None) => Decision::Allow,
            (Some(c), None) | (None, Some(c)) => Decision::Conditional(c),
            (Some(allow), Some(deny)) => Decision::Conditional(Criteria::AllOf {
                all_of: vec![allow, deny],
            }),
        };
        verdict(decision, reasons.join("; "))
    }

    /// Each role with its members and grants, for the admin page and `GET policy`.
    pub fn describe(&self) -> Value {
        let grants = |list: &[Grant]| list.iter().map(Grant::describe).collect::<Vec<_>>();
        serde_json::json!({
            "defaultRole": self.default_role,
            "roles": self.roles.iter().map(|r| serde_json::json!({
                "name": r.name,
                "members": r.members,
                "allow": grants(&r.allow),
                "deny": grants(&r.deny),
            })).collect::<Vec<_>>(),
        })
    }
}

/// One condition, or `anyOf` several.
fn any_of(mut items: Vec<Criteria>) -> Criteria {
    if items.len() == 1 {
        items.remove(0)
    } else {
        Criteria::AnyOf { any_of: items }
    }
}

fn valid_member(member: &str) -> bool {
    if let Some(subject) = member.strip_prefix("service:") {
        return !subject.is_empty();
    }
    greenroom_api::EntityRef::parse(member, None, "default")
        .is_ok_and(|r| matches!(r.kind.as_str(), "user" | "group"))
        && member.contains(':')
}

fn grant(file: GrantFile) -> Result<Grant, String> {
    let full = match file {
        GrantFile::Name(name) => FullGrant {
            permission: None,
            resource_type: None,
            actions: None,
            conditions: None,
        }
        .named(name),
        GrantFile::Full(full) => full,
    };
    let target = match (&full.permission, &full.resource_type) {
        (Some(_), Some(_)) => return Err("name a permission or a resourceType, not both".into()),
        (None, None) => return Err("name a permission, a resourceType or `*`".into()),
        (Some(p), None) if p == "*" => Target::Everything,
        (Some(p), None) => {
            if model::permission(p).is_none() {
                return Err(format!(
                    "'{p}' is not a permission Greenroom knows ({})",
                    model::PERMISSIONS
                        .iter()
                        .map(|p| p.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            Target::Permission(p.clone())
        }
        (None, Some(t)) => {
            if !model::is_resource_type(t) {
                return Err(format!("'{t}' is not a resource type Greenroom knows"));
            }
            Target::ResourceType(t.clone())
        }
    };
    let conditions = match full.conditions {
        None => None,
        Some(value) => {
            let resource_type = match &target {
                Target::Permission(p) => model::permission(p).and_then(|p| p.resource_type),
                Target::ResourceType(t) => Some(t.as_str()),
                Target::Everything => None,
            }
            .ok_or(
                "conditions: only a resource permission or a resource type can be conditional",
            )?;
            let mut criteria: Criteria = serde_json::from_value(value)
                .map_err(|e| format!("conditions: not allOf, anyOf, not or a rule: {e}"))?;
            criteria
                .check(resource_type)
                .map_err(|e| format!("conditions: {e}"))?;
            Some(criteria)
        }
    };
    Ok(Grant {
        target,
        actions: full.actions,
        conditions,
    })
}

impl FullGrant {
    /// A grant written as a bare name: a permission, a resource type or `*`.
    fn named(mut self, name: String) -> Self {
        if model::permission(&name).is_none() && model::is_resource_type(&name) {
            self.resource_type = Some(name);
        } else {
            self.permission = Some(name);
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = r#"
defaultRole: viewer
roles:
  admin:
    members: [group:default/platform]
    allow: ["*"]
  developer:
    members: [group:default/engineering]
    allow:
      - {resourceType: catalog-entity, actions: [read]}
      - catalog.location.read
      - permission: catalog.entity.delete
        conditions: {rule: IS_ENTITY_OWNER, params: {claims: $ownerRefs}}
      - permission: catalog.entity.refresh
        conditions:
          anyOf:
            - {rule: IS_ENTITY_OWNER, params: {claims: [$currentUser]}}
            - {rule: IS_ENTITY_KIND, params: {kinds: [api]}}
    deny:
      - permission: catalog.entity.read
        conditions: {rule: HAS_LABEL, params: {label: secret}}
  viewer:
    allow:
      - {resourceType: catalog-entity, actions: [read]}
      - catalog.location.read
  robots:
    members: [service:ci]
    allow: [catalog.location.create]
"#;

    fn user(name: &str, groups: &[&str]) -> Identity {
        Identity::User {
            user_ref: format!("user:default/{name}"),
            ownership_refs: std::iter::once(format!("user:default/{name}"))
                .chain(groups.iter().map(|g| format!("group:default/{g}")))
                .collect(),
        }
    }

    fn decide(policy: &Policy, who: &Identity, name: &str) -> Decision {
        policy
            .decide(Some(who), model::permission(name).unwrap())
            .decision
    }

    fn rule(rule: &str, params: Value) -> Criteria {
        serde_json::from_value(
            serde_json::json!({"rule": rule, "resourceType": "catalog-entity", "params": params}),
        )
        .unwrap()
    }

    #[test]
    fn the_table_of_callers_and_permissions() {
        let policy = Policy::parse(POLICY).unwrap();
        let admin = user("root", &["platform"]);
        let ada = user("ada", &["payments", "engineering"]);
        let viewer = user("vic", &[]);
        let ci = Identity::Service {
            subject: "ci".into(),
        };
        let ada_owns = rule(
            "IS_ENTITY_OWNER",
            serde_json::json!({"claims": ["user:default/ada", "group:default/payments", "group:default/engineering"]}),
        );
        let not_secret = Criteria::Not {
            not: Box::new(rule("HAS_LABEL", serde_json::json!({"label": "secret"}))),
        };
        for (who, permission, expected) in [
            (&admin, "catalog.entity.delete", Decision::Allow),
            (&admin, "catalog.entity.read", Decision::Allow),
            (&admin, "greenroom.plugin.manage", Decision::Allow),
            (
                &ada,
                "catalog.entity.delete",
                Decision::Conditional(ada_owns.clone()),
            ),
            (
                &ada,
                "catalog.entity.refresh",
                Decision::Conditional(Criteria::AnyOf {
                    any_of: vec![
                        rule(
                            "IS_ENTITY_OWNER",
                            serde_json::json!({"claims": ["user:default/ada"]}),
                        ),
                        rule("IS_ENTITY_KIND", serde_json::json!({"kinds": ["api"]})),
                    ],
                }),
            ),
            // The resource type allows reading; the permission's conditional deny is more
            // specific and holds back labelled entities (the admin's `*` is less specific
            // than it).
            (
                &ada,
                "catalog.entity.read",
                Decision::Conditional(not_secret),
            ),
            (&ada, "catalog.location.create", Decision::Deny),
            (&ada, "greenroom.plugin.manage", Decision::Deny),
            (&viewer, "catalog.entity.read", Decision::Allow),
            (&viewer, "catalog.entity.delete", Decision::Deny),
            (&viewer, "catalog.location.read", Decision::Allow),
            (&ci, "catalog.location.create", Decision::Allow),
            (&ci, "catalog.location.delete", Decision::Deny),
        ] {
            assert_eq!(
                decide(&policy, who, permission),
                expected,
                "{who:?} {permission}"
            );
        }
        // Nobody signed in (no sign-in configured) has the default role only.
        assert_eq!(
            policy
                .decide(None, model::permission("catalog.entity.read").unwrap())
                .decision,
            Decision::Allow
        );
    }

    #[test]
    fn allows_add_up_and_a_deny_overrides_only_allows_no_more_specific() {
        let policy = Policy::parse(
            "roles:\n  wide:\n    members: ['*']\n    allow: ['*']\n  narrow:\n    members: ['*']\n    allow: [{permission: catalog.entity.read, conditions: {rule: IS_ENTITY_KIND, params: {kinds: [api]}}}]\n  fence:\n    members: [user:default/bob]\n    deny: [catalog-entity]\n    allow: [catalog.entity.read]\n",
        )
        .unwrap();
        let (eve, bob) = (user("eve", &[]), user("bob", &[]));
        // A narrower conditional allow does not shrink a wider outright one.
        assert_eq!(
            decide(&policy, &eve, "catalog.entity.read"),
            Decision::Allow
        );
        // The resource type's deny beats `*`, the permission's allow beats the deny.
        assert_eq!(
            decide(&policy, &bob, "catalog.entity.delete"),
            Decision::Deny
        );
        assert_eq!(
            decide(&policy, &bob, "catalog.entity.read"),
            Decision::Allow
        );
        assert_eq!(
            decide(&policy, &bob, "catalog.location.read"),
            Decision::Allow
        );
    }

    #[test]
    fn a_deny_beats_an_allow_of_the_same_weight_and_reasons_name_the_roles() {
        let policy = Policy::parse(
            "roles:\n  a:\n    members: ['*']\n    allow: [catalog.entity.delete]\n  b:\n    members: [user:default/bob]\n    deny: [catalog.entity.delete]\n",
        )
        .unwrap();
        let bob = user("bob", &[]);
        let verdict = policy.decide(
            Some(&bob),
            model::permission("catalog.entity.delete").unwrap(),
        );
        assert_eq!(verdict.decision, Decision::Deny);
        assert!(
            verdict
                .reason
                .contains("role b denies catalog.entity.delete"),
            "{}",
            verdict.reason
        );
        assert_eq!(
            verdict.roles,
            vec![
                ("a".into(), "everyone".into()),
                ("b".into(), "a member".into())
            ]
        );
        assert_eq!(
            decide(&policy, &user("eve", &[]), "catalog.entity.delete"),
            Decision::Allow
        );
    }

    #[test]
    fn mistakes_name_the_role_and_field() {
        for (text, expected) in [
            (
                "roles:\n  a:\n    allow: [catalog.entity.reed]\n",
                "roles.a.allow[0]: 'catalog.entity.reed' is not a permission",
            ),
            (
                "roles:\n  a:\n    members: [bob]\n",
                "roles.a.members: 'bob'",
            ),
            (
                "roles:\n  a:\n    allow: [{permission: catalog.location.create, conditions: {rule: IS_ENTITY_OWNER, params: {claims: []}}}]\n",
                "roles.a.allow[0]: conditions: only a resource permission",
            ),
            (
                "roles:\n  a:\n    allow: [{permission: catalog.entity.read, conditions: {rule: IS_OWNER}}]\n",
                "'IS_OWNER' is not a rule of catalog-entity",
            ),
            (
                "roles:\n  a:\n    deny: [{resourceType: catalog-entity, conditions: {rule: HAS_LABEL, params: {lable: x}}}]\n",
                "roles.a.deny[0]: conditions: rule HAS_LABEL: no parameter 'lable'",
            ),
            (
                "defaultRole: nobody\nroles: {}\n",
                "defaultRole: there is no role 'nobody'",
            ),
            ("roles:\n  a:\n    alow: []\n", "unknown field `alow`"),
        ] {
            let error = Policy::parse(text).unwrap_err();
            assert!(error.contains(expected), "{text}\n{error}");
        }
    }
}
