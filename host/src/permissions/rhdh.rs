//! Imports Red Hat Developer Hub (RHDH) RBAC policy files — the casbin-style policy CSV and the
//! optional conditional-policies YAML — into Greenroom's policy YAML, so an RHDH installation can
//! move its access rules over without rewriting them by hand.

use serde::Deserialize;
use serde_yaml::{Mapping, Value};

const HEADER: &str = "# Imported from RHDH RBAC policy files by `greenroom policy import`.\n";
const ACTIONS: [&str; 5] = ["read", "create", "update", "delete", "use"];
const ROLE_FORM: &str = "`role:<namespace>/<name>`";

/// Converts an RHDH policy CSV and, optionally, an RHDH conditional-policies YAML (one or more
/// `---`-separated documents) into Greenroom policy YAML text.
///
/// Errors name the offending CSV line (`line N: ...`) or YAML document and field
/// (`conditional policy document N: <field>: ...`).
pub fn import(csv: &str, conditional: Option<&str>) -> Result<String, String> {
    let mut roles = Roles::default();
    for (index, line) in csv.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        apply_csv_line(&mut roles, line)
            .map_err(|error| format!("line {}: {error}: `{line}`", index + 1))?;
    }
    if let Some(yaml) = conditional {
        apply_conditional_yaml(&mut roles, yaml)?;
    }
    render(&roles.0)
}

struct Role {
    namespace: String,
    name: String,
    members: Vec<String>,
    allow: Vec<Grant>,
    deny: Vec<Grant>,
}

enum Grant {
    Permission(String),
    ResourceType {
        resource_type: String,
        actions: Vec<String>,
    },
    Conditional {
        resource_type: String,
        actions: Vec<String>,
        conditions: Value,
    },
}

impl Grant {
    fn to_value(&self) -> Value {
        let (resource_type, actions, conditions) = match self {
            Grant::Permission(name) => return Value::from(name.as_str()),
            Grant::ResourceType {
                resource_type,
                actions,
            } => (resource_type, actions, None),
            Grant::Conditional {
                resource_type,
                actions,
                conditions,
            } => (resource_type, actions, Some(conditions)),
        };
        let mut entry = Mapping::new();
        entry.insert("resourceType".into(), resource_type.as_str().into());
        entry.insert("actions".into(), strings(actions));
        if let Some(conditions) = conditions {
            entry.insert("conditions".into(), conditions.clone());
        }
        Value::Mapping(entry)
    }
}

/// Roles in first-seen order; a Vec because output order matters and role counts are small.
#[derive(Default)]
struct Roles(Vec<Role>);

impl Roles {
    /// Looks up a role by its entity ref, creating it on first mention.
    fn get(&mut self, role_ref: &str) -> Result<&mut Role, String> {
        let (namespace, name) = role_ref
            .strip_prefix("role:")
            .and_then(|rest| rest.split_once('/'))
            .filter(|(namespace, name)| {
                !namespace.is_empty() && !name.is_empty() && !name.contains('/')
            })
            .ok_or_else(|| format!("role must be of the form {ROLE_FORM}, got `{role_ref}`"))?;
        let index = match self
            .0
            .iter()
            .position(|role| role.namespace == namespace && role.name == name)
        {
            Some(index) => index,
            None => {
                self.0.push(Role {
                    namespace: namespace.to_owned(),
                    name: name.to_owned(),
                    members: Vec::new(),
                    allow: Vec::new(),
                    deny: Vec::new(),
                });
                self.0.len() - 1
            }
        };
        Ok(&mut self.0[index])
    }
}

fn apply_csv_line(roles: &mut Roles, line: &str) -> Result<(), String> {
    let fields: Vec<&str> = line.split(',').map(str::trim).collect();
    match fields.as_slice() {
        ["p", role, target, action, effect] => {
            let deny = match *effect {
                "allow" => false,
                "deny" => true,
                other => return Err(format!("effect must be `allow` or `deny`, got `{other}`")),
            };
            check_action(action)?;
            let is_permission = target.contains('.');
            if !is_permission && !target.contains('-') {
                return Err(format!(
                    "`{target}` is neither a permission name (like `catalog.entity.read`) \
                     nor a resource type (like `catalog-entity`)"
                ));
            }
            let role = roles.get(role)?;
            let grants = if deny {
                &mut role.deny
            } else {
                &mut role.allow
            };
            if is_permission {
                // A named permission already implies its action, so only the name is kept.
                if !grants
                    .iter()
                    .any(|grant| matches!(grant, Grant::Permission(name) if name == target))
                {
                    grants.push(Grant::Permission((*target).to_owned()));
                }
            } else {
                add_resource_action(grants, target, action);
            }
            Ok(())
        }
        ["g", member, role] => {
            let is_member = ["user:", "group:"].iter().any(|kind| {
                member
                    .strip_prefix(kind)
                    .is_some_and(|rest| !rest.is_empty())
            });
            if !is_member {
                return Err(format!(
                    "member must be a `user:` or `group:` entity ref, got `{member}`"
                ));
            }
            let members = &mut roles.get(role)?.members;
            if !members.iter().any(|known| known == member) {
                members.push((*member).to_owned());
            }
            Ok(())
        }
        ["p", ..] => Err(format!(
            "a `p` line needs 5 fields (p, role, permission or resource type, action, effect), \
             got {}",
            fields.len()
        )),
        ["g", ..] => Err(format!(
            "a `g` line needs 3 fields (g, member, role), got {}",
            fields.len()
        )),
        _ => Err("expected a `p` (permission) or `g` (role membership) line".to_owned()),
    }
}

/// Merges the action into the role's plain grant for this resource type, creating it if needed.
fn add_resource_action(grants: &mut Vec<Grant>, target: &str, action: &str) {
    for grant in grants.iter_mut() {
        if let Grant::ResourceType {
            resource_type,
            actions,
        } = grant
            && resource_type == target
        {
            if !actions.iter().any(|known| known == action) {
                actions.push(action.to_owned());
            }
            return;
        }
    }
    grants.push(Grant::ResourceType {
        resource_type: target.to_owned(),
        actions: vec![action.to_owned()],
    });
}

fn check_action(action: &str) -> Result<(), String> {
    if ACTIONS.contains(&action) {
        Ok(())
    } else {
        Err(format!(
            "action must be one of {}, got `{action}`",
            ACTIONS.join(", ")
        ))
    }
}

fn apply_conditional_yaml(roles: &mut Roles, yaml: &str) -> Result<(), String> {
    for (index, document) in serde_yaml::Deserializer::from_str(yaml).enumerate() {
        let number = index + 1;
        // Returning on the first error matters: after a syntax error the document iterator
        // keeps yielding the same error forever.
        let value = Value::deserialize(document).map_err(|error| {
            format!("conditional policy document {number}: invalid YAML: {error}")
        })?;
        // An empty input or a trailing `---` yields an empty (null) document; it grants nothing.
        if value.is_null() {
            continue;
        }
        apply_conditional_document(roles, &value)
            .map_err(|error| format!("conditional policy document {number}: {error}"))?;
    }
    Ok(())
}

fn apply_conditional_document(roles: &mut Roles, document: &Value) -> Result<(), String> {
    let document = document.as_mapping().ok_or_else(|| {
        format!(
            "expected a mapping with result, roleEntityRef, resourceType, permissionMapping \
             and conditions, got {}",
            describe(document)
        )
    })?;
    match document.get("result") {
        Some(Value::String(result)) if result == "CONDITIONAL" => {}
        Some(other) => {
            return Err(format!(
                "result: must be `CONDITIONAL`, got {}",
                describe(other)
            ));
        }
        None => return Err("result: missing (must be `CONDITIONAL`)".to_owned()),
    }
    let role_ref = required_string(document, "roleEntityRef")?;
    let resource_type = required_string(document, "resourceType")?;

    let mapping = document
        .get("permissionMapping")
        .ok_or("permissionMapping: missing")?;
    let items = mapping
        .as_sequence()
        .filter(|items| !items.is_empty())
        .ok_or_else(|| {
            format!(
                "permissionMapping: expected a non-empty list of actions, got {}",
                describe(mapping)
            )
        })?;
    let mut actions: Vec<String> = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let action = item
            .as_str()
            .ok_or_else(|| format!("expected an action, got {}", describe(item)))
            .and_then(|action| check_action(action).map(|()| action))
            .map_err(|error| format!("permissionMapping[{index}]: {error}"))?;
        if !actions.iter().any(|known| known == action) {
            actions.push(action.to_owned());
        }
    }

    let conditions = document.get("conditions").ok_or("conditions: missing")?;
    let conditions = convert_condition(conditions, resource_type, "conditions")?;
    roles
        .get(role_ref)
        .map_err(|error| format!("roleEntityRef: {error}"))?
        .allow
        .push(Grant::Conditional {
            resource_type: resource_type.to_owned(),
            actions,
            conditions,
        });
    Ok(())
}

fn required_string<'a>(document: &'a Mapping, field: &str) -> Result<&'a str, String> {
    let value = document
        .get(field)
        .ok_or_else(|| format!("{field}: missing"))?;
    value
        .as_str()
        .filter(|text| !text.is_empty())
        .ok_or_else(|| {
            format!(
                "{field}: expected a non-empty string, got {}",
                describe(value)
            )
        })
}

/// Copies a condition tree, dropping each rule's `resourceType` (Greenroom takes it from the
/// grant). `path` locates the node in error messages, e.g. `conditions.allOf[1].not`.
fn convert_condition(condition: &Value, resource_type: &str, path: &str) -> Result<Value, String> {
    let shape = "a rule object or exactly one of `allOf`, `anyOf`, `not`";
    let map = condition
        .as_mapping()
        .ok_or_else(|| format!("{path}: expected {shape}, got {}", describe(condition)))?;
    if map.contains_key("rule") {
        return convert_rule(map, resource_type, path);
    }
    let mut entries = map.iter();
    let (Some((key, inner)), None) = (entries.next(), entries.next()) else {
        return Err(format!("{path}: expected {shape}"));
    };
    let converted = match key.as_str() {
        Some(key @ ("allOf" | "anyOf")) => {
            let items = inner
                .as_sequence()
                .filter(|items| !items.is_empty())
                .ok_or_else(|| {
                    format!(
                        "{path}.{key}: expected a non-empty list of conditions, got {}",
                        describe(inner)
                    )
                })?;
            let converted = items
                .iter()
                .enumerate()
                .map(|(index, item)| {
                    convert_condition(item, resource_type, &format!("{path}.{key}[{index}]"))
                })
                .collect::<Result<_, _>>()?;
            Value::Sequence(converted)
        }
        Some("not") => convert_condition(inner, resource_type, &format!("{path}.not"))?,
        _ => {
            return Err(format!(
                "{path}: expected {shape}, got key {}",
                describe(key)
            ));
        }
    };
    let mut out = Mapping::new();
    out.insert(key.clone(), converted);
    Ok(Value::Mapping(out))
}

fn convert_rule(rule: &Mapping, resource_type: &str, path: &str) -> Result<Value, String> {
    if let Some(key) = rule
        .keys()
        .find(|key| !matches!(key.as_str(), Some("rule" | "params" | "resourceType")))
    {
        return Err(format!(
            "{path}: unexpected key {} in a rule (expected rule, resourceType, params)",
            describe(key)
        ));
    }
    // The rule's own resource type is dropped, so it must agree with the grant's; otherwise the
    // rule would silently start applying to a different resource type.
    if let Some(own) = rule.get("resourceType")
        && own.as_str() != Some(resource_type)
    {
        return Err(format!(
            "{path}.resourceType: {} does not match the document's resourceType `{resource_type}`",
            describe(own)
        ));
    }
    let mut out = Mapping::new();
    match rule.get("rule") {
        Some(Value::String(name)) if !name.is_empty() => {
            out.insert("rule".into(), name.as_str().into());
        }
        other => {
            return Err(format!(
                "{path}.rule: expected a rule name, got {}",
                other.map_or_else(|| "nothing".to_owned(), describe)
            ));
        }
    }
    if let Some(params) = rule.get("params") {
        out.insert("params".into(), params.clone());
    }
    Ok(Value::Mapping(out))
}

/// Short description of a YAML value for error messages.
fn describe(value: &Value) -> String {
    match value {
        Value::String(text) => format!("`{text}`"),
        Value::Number(number) => format!("`{number}`"),
        Value::Bool(flag) => format!("`{flag}`"),
        Value::Null => "null".to_owned(),
        Value::Sequence(_) => "a list".to_owned(),
        Value::Mapping(_) => "a mapping".to_owned(),
        Value::Tagged(tagged) => format!("a value tagged `{}`", tagged.tag),
    }
}

fn strings(items: &[String]) -> Value {
    Value::Sequence(items.iter().map(|item| item.as_str().into()).collect())
}

/// Greenroom role names: the bare name, or `<namespace>-<name>` when the bare name is shared by
/// roles in different namespaces.
fn greenroom_names(roles: &[Role]) -> Result<Vec<String>, String> {
    let names: Vec<String> = roles
        .iter()
        .map(|role| {
            let shared = roles
                .iter()
                .any(|other| other.name == role.name && other.namespace != role.namespace);
            if shared {
                format!("{}-{}", role.namespace, role.name)
            } else {
                role.name.clone()
            }
        })
        .collect();
    // Prefixing can itself collide (`role:x/b` and `role:y/b` next to `role:default/x-b`);
    // refuse rather than silently merge two roles.
    for (index, name) in names.iter().enumerate() {
        if let Some(earlier) = names[..index].iter().position(|other| other == name) {
            let (first, second) = (&roles[earlier], &roles[index]);
            return Err(format!(
                "roles `role:{}/{}` and `role:{}/{}` would both become Greenroom role `{name}`",
                first.namespace, first.name, second.namespace, second.name
            ));
        }
    }
    Ok(names)
}

fn render(roles: &[Role]) -> Result<String, String> {
    let mut rendered = Mapping::new();
    for (role, name) in roles.iter().zip(greenroom_names(roles)?) {
        let mut entry = Mapping::new();
        entry.insert("members".into(), strings(&role.members));
        for (key, grants) in [("allow", &role.allow), ("deny", &role.deny)] {
            if !grants.is_empty() {
                let grants = grants.iter().map(Grant::to_value).collect();
                entry.insert(key.into(), Value::Sequence(grants));
            }
        }
        rendered.insert(name.into(), Value::Mapping(entry));
    }
    let mut root = Mapping::new();
    root.insert("roles".into(), Value::Mapping(rendered));
    let yaml = serde_yaml::to_string(&root)
        .map_err(|error| format!("could not write the policy YAML: {error}"))?;
    Ok(format!("{HEADER}{yaml}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str = "\
# RHDH permission policies
p, role:default/team_a, catalog-entity, read, allow
p, role:default/team_a, catalog.entity.create, create, allow
p,role:default/team_a,catalog-entity,update,allow
p, role:default/team_a, catalog-entity, read, allow
p, role:default/team_a, catalog.entity.create, create, allow
p, role:default/team_a, scaffolder-template, read, deny
p, role:default/team_a, scaffolder-template, use, allow
p, role:default/admins, scaffolder.task.read, read, allow
p, role:default/admins, scaffolder-action, use, allow
p, role:default/admins, catalog-entity, delete, deny
p, role:default/admins, catalog-entity, update, deny

g, user:default/bob, role:default/team_a
g, group:default/engineering, role:default/team_a
g, user:default/bob, role:default/team_a
g, user:default/alice, role:default/admins
g, group:default/viewers, role:default/viewers
";

    const CONDITIONAL: &str = "\
result: CONDITIONAL
roleEntityRef: 'role:default/team_a'
pluginId: catalog
resourceType: catalog-entity
permissionMapping:
  - read
  - update
conditions:
  rule: IS_ENTITY_OWNER
  resourceType: catalog-entity
  params:
    claims:
      - $currentUser
---
result: CONDITIONAL
roleEntityRef: 'role:default/owners'
pluginId: catalog
resourceType: catalog-entity
permissionMapping: [delete]
conditions:
  allOf:
    - rule: IS_ENTITY_OWNER
      resourceType: catalog-entity
      params:
        claims: [$ownerRefs]
    - not:
        rule: IS_ENTITY_KIND
        resourceType: catalog-entity
        params:
          kinds: ['*']
    - anyOf:
        - rule: HAS_LABEL
          resourceType: catalog-entity
          params: {label: 'true'}
        - rule: HAS_SPEC
          params: {key: lifecycle}
---
";

    /// Asserts equal structure and, via re-serialisation, equal key order (Mapping's `==`
    /// ignores order).
    fn assert_yaml(actual: &Value, expected: &str) {
        let expected: Value = serde_yaml::from_str(expected).expect("expected YAML parses");
        assert_eq!(actual, &expected);
        assert_eq!(
            serde_yaml::to_string(actual).expect("serialises"),
            serde_yaml::to_string(&expected).expect("serialises")
        );
    }

    fn parse(output: &str) -> Value {
        serde_yaml::from_str(output).expect("output is valid YAML")
    }

    fn import_err(csv: &str, conditional: Option<&str>) -> String {
        import(csv, conditional).expect_err("import should fail")
    }

    #[test]
    fn converts_csv_and_conditional_policies() {
        let output = import(CSV, Some(CONDITIONAL)).expect("import succeeds");
        assert!(output.starts_with(HEADER), "{output}");
        assert_yaml(
            &parse(&output),
            r#"
roles:
  team_a:
    members: [user:default/bob, group:default/engineering]
    allow:
      - {resourceType: catalog-entity, actions: [read, update]}
      - catalog.entity.create
      - {resourceType: scaffolder-template, actions: [use]}
      - resourceType: catalog-entity
        actions: [read, update]
        conditions: {rule: IS_ENTITY_OWNER, params: {claims: [$currentUser]}}
    deny:
      - {resourceType: scaffolder-template, actions: [read]}
  admins:
    members: [user:default/alice]
    allow:
      - scaffolder.task.read
      - {resourceType: scaffolder-action, actions: [use]}
    deny:
      - {resourceType: catalog-entity, actions: [delete, update]}
  viewers:
    members: [group:default/viewers]
  owners:
    members: []
    allow:
      - resourceType: catalog-entity
        actions: [delete]
        conditions:
          allOf:
            - {rule: IS_ENTITY_OWNER, params: {claims: [$ownerRefs]}}
            - not: {rule: IS_ENTITY_KIND, params: {kinds: ['*']}}
            - anyOf:
                - {rule: HAS_LABEL, params: {label: 'true'}}
                - {rule: HAS_SPEC, params: {key: lifecycle}}
"#,
        );
    }

    #[test]
    fn role_only_in_p_lines_gets_empty_members() {
        let output = import(
            "p, role:default/auditors, catalog-entity, read, allow",
            None,
        )
        .expect("import succeeds");
        assert_yaml(
            &parse(&output),
            "roles: {auditors: {members: [], allow: [{resourceType: catalog-entity, actions: [read]}]}}",
        );
    }

    #[test]
    fn comments_and_blank_lines_are_ignored() {
        let plain =
            "p, role:default/a, catalog-entity, read, allow\ng, user:default/bob, role:default/a\n";
        let noisy = "# header\n\n   \n  # indented comment, with, commas\r\n\
                     p, role:default/a, catalog-entity, read, allow\r\n\n\
                     #g, user:default/eve, role:default/a\n\
                     \tg , user:default/bob ,role:default/a  \n# trailing\n";
        assert_eq!(import(noisy, None), import(plain, None));
        assert_eq!(
            import("# only comments\n\n", Some("")),
            Ok(format!("{HEADER}roles: {{}}\n"))
        );
    }

    #[test]
    fn roles_sharing_a_name_get_namespace_prefixes() {
        let csv = "g, user:default/bob, role:default/admins\n\
                   g, user:ops/carol, role:ops/admins\n\
                   g, user:default/dan, role:default/devs\n";
        let output = import(csv, None).expect("import succeeds");
        assert_yaml(
            &parse(&output),
            "roles:
               default-admins: {members: [user:default/bob]}
               ops-admins: {members: ['user:ops/carol']}
               devs: {members: [user:default/dan]}",
        );
    }

    #[test]
    fn error_when_prefixed_names_still_collide() {
        let csv = "g, user:default/a, role:x/b\ng, user:default/a, role:y/b\ng, user:default/a, role:default/x-b\n";
        let error = import_err(csv, None);
        assert!(
            error.contains("`role:x/b` and `role:default/x-b`") && error.contains("`x-b`"),
            "{error}"
        );
    }

    #[test]
    fn error_on_unknown_line_type() {
        let error = import_err("# c\nx, role:default/a, catalog-entity\n", None);
        assert!(error.starts_with("line 2: "), "{error}");
        assert!(
            error.contains("`x, role:default/a, catalog-entity`"),
            "{error}"
        );
    }

    #[test]
    fn error_on_wrong_field_counts() {
        let error = import_err("p, role:default/a, catalog-entity, read", None);
        assert!(
            error.starts_with("line 1: a `p` line needs 5 fields"),
            "{error}"
        );
        assert!(error.contains("got 4"), "{error}");
        let error = import_err("\ng, user:default/bob, role:default/a, extra", None);
        assert!(
            error.starts_with("line 2: a `g` line needs 3 fields"),
            "{error}"
        );
        assert!(
            error.contains("`g, user:default/bob, role:default/a, extra`"),
            "{error}"
        );
    }

    #[test]
    fn error_on_bad_effect() {
        let error = import_err("p, role:default/a, catalog-entity, read, permit", None);
        assert!(
            error.starts_with("line 1: effect must be `allow` or `deny`"),
            "{error}"
        );
        assert!(error.contains("`permit`"), "{error}");
    }

    #[test]
    fn error_on_bad_role_in_csv() {
        for role in [
            "team_a",
            "user:default/a",
            "role:a",
            "role:/a",
            "role:default/",
        ] {
            let csv = format!("# c\n\np, {role}, catalog-entity, read, allow");
            let error = import_err(&csv, None);
            assert!(
                error.starts_with("line 3: role must be of the form"),
                "{error}"
            );
            assert!(error.contains(&format!("got `{role}`")), "{error}");
        }
        let error = import_err("g, user:default/bob, team_a", None);
        assert!(
            error.starts_with("line 1: role must be of the form"),
            "{error}"
        );
    }

    #[test]
    fn error_on_bad_member() {
        for member in ["role:default/b", "bob", "user:"] {
            let error = import_err(&format!("g, {member}, role:default/a"), None);
            assert!(
                error.starts_with("line 1: member must be a `user:` or `group:`"),
                "{error}"
            );
            assert!(error.contains(&format!("got `{member}`")), "{error}");
        }
    }

    #[test]
    fn error_on_bad_action_in_csv() {
        let error = import_err("p, role:default/a, catalog-entity, write, allow", None);
        assert!(
            error.starts_with("line 1: action must be one of read, create"),
            "{error}"
        );
        assert!(error.contains("`write`"), "{error}");
    }

    #[test]
    fn error_on_unclassifiable_permission() {
        let error = import_err("p, role:default/a, catalog, read, allow", None);
        assert!(error.starts_with("line 1: `catalog` is neither"), "{error}");
    }

    fn document(result: &str, omit: &str) -> String {
        let fields = [
            ("result", result),
            ("roleEntityRef", "'role:default/a'"),
            ("resourceType", "catalog-entity"),
            ("permissionMapping", "[read]"),
            (
                "conditions",
                "{rule: IS_ENTITY_OWNER, params: {claims: [$currentUser]}}",
            ),
        ];
        fields
            .iter()
            .filter(|(field, _)| *field != omit)
            .map(|(field, value)| format!("{field}: {value}\n"))
            .collect()
    }

    /// The bad document is second, so the message must count documents.
    fn conditional_err(bad: &str) -> String {
        let yaml = format!("{}---\n{bad}", document("CONDITIONAL", ""));
        import_err("", Some(&yaml))
    }

    #[test]
    fn error_when_result_is_not_conditional() {
        let error = conditional_err(&document("ALLOW", ""));
        assert_eq!(
            error,
            "conditional policy document 2: result: must be `CONDITIONAL`, got `ALLOW`"
        );
        let error = conditional_err(&document("CONDITIONAL", "result"));
        assert_eq!(
            error,
            "conditional policy document 2: result: missing (must be `CONDITIONAL`)"
        );
    }

    #[test]
    fn error_when_a_required_field_is_missing() {
        for field in [
            "roleEntityRef",
            "resourceType",
            "permissionMapping",
            "conditions",
        ] {
            let error = conditional_err(&document("CONDITIONAL", field));
            assert_eq!(
                error,
                format!("conditional policy document 2: {field}: missing")
            );
        }
    }

    #[test]
    fn error_on_bad_fields_in_conditional_document() {
        let valid = document("CONDITIONAL", "");
        let cases = [
            (
                "'role:default/a'",
                "team_a",
                "roleEntityRef: role must be of the form",
            ),
            (
                "[read]",
                "[read, write]",
                "permissionMapping[1]: action must be one of",
            ),
            (
                "[read]",
                "[]",
                "permissionMapping: expected a non-empty list",
            ),
            (
                "catalog-entity",
                "[x]",
                "resourceType: expected a non-empty string, got a list",
            ),
        ];
        for (from, to, expected) in cases {
            let error = conditional_err(&valid.replacen(from, to, 1));
            let expected = format!("conditional policy document 2: {expected}");
            assert!(error.starts_with(&expected), "{error}");
        }
        let error = conditional_err("- not a mapping\n");
        assert!(
            error.starts_with("conditional policy document 2: expected a mapping"),
            "{error}"
        );
    }

    #[test]
    fn error_on_bad_conditions() {
        let valid = document("CONDITIONAL", "");
        let original = "{rule: IS_ENTITY_OWNER, params: {claims: [$currentUser]}}";
        let cases = [
            (
                "{allOf: [{rule: A}, {not: {rule: B, resourceType: scaffolder-template}}]}",
                "conditions.allOf[1].not.resourceType: `scaffolder-template` does not match",
            ),
            ("{anyOf: []}", "conditions.anyOf: expected a non-empty list"),
            (
                "{allOf: [{rule: A}], not: {rule: B}}",
                "conditions: expected a rule object",
            ),
            ("{oneOf: [{rule: A}]}", "conditions: expected a rule object"),
            (
                "{not: {rule: A, extra: 1}}",
                "conditions.not: unexpected key `extra`",
            ),
            (
                "{anyOf: [{params: {}, rule: 3}]}",
                "conditions.anyOf[0].rule: expected a rule name",
            ),
            ("rule", "conditions: expected a rule object"),
        ];
        for (conditions, expected) in cases {
            let error = conditional_err(&valid.replace(original, conditions));
            let expected = format!("conditional policy document 2: {expected}");
            assert!(error.starts_with(&expected), "{error}");
        }
    }

    #[test]
    fn error_on_invalid_conditional_yaml() {
        let error = conditional_err("result: [CONDITIONAL\n");
        assert!(
            error.starts_with("conditional policy document 2: invalid YAML:"),
            "{error}"
        );
    }
}
