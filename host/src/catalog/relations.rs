//! Relations emitted from spec fields, each in both directions, as Backstage does.

use serde_json::Value;

use super::model::{Entity, FieldError};
use greenroom_api::EntityRef;

/// A directed relation; `source` and `target` are canonical refs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Relation {
    pub source: EntityRef,
    pub relation_type: &'static str,
    pub target: EntityRef,
}

/// One spec field that names other entities, and the relation pair it produces.
struct RelationField {
    /// Kinds (lowercase) that carry this field.
    kinds: &'static [&'static str],
    field: &'static str,
    /// Kind assumed when a ref in the field leaves it out.
    default_kind: Option<&'static str>,
    /// From this entity to the referenced one.
    forward: &'static str,
    /// From the referenced entity back to this one.
    reverse: &'static str,
}

const RELATION_FIELDS: &[RelationField] = &[
    RelationField {
        kinds: &[
            "component",
            "api",
            "resource",
            "system",
            "domain",
            "template",
        ],
        field: "owner",
        default_kind: Some("group"),
        forward: "ownedBy",
        reverse: "ownerOf",
    },
    RelationField {
        kinds: &["component", "api", "resource"],
        field: "system",
        default_kind: Some("system"),
        forward: "partOf",
        reverse: "hasPart",
    },
    RelationField {
        kinds: &["system"],
        field: "domain",
        default_kind: Some("domain"),
        forward: "partOf",
        reverse: "hasPart",
    },
    RelationField {
        kinds: &["component"],
        field: "subcomponentOf",
        default_kind: Some("component"),
        forward: "partOf",
        reverse: "hasPart",
    },
    RelationField {
        kinds: &["domain"],
        field: "subdomainOf",
        default_kind: Some("domain"),
        forward: "partOf",
        reverse: "hasPart",
    },
    RelationField {
        kinds: &["component"],
        field: "providesApis",
        default_kind: Some("api"),
        forward: "providesApi",
        reverse: "apiProvidedBy",
    },
    RelationField {
        kinds: &["component"],
        field: "consumesApis",
        default_kind: Some("api"),
        forward: "consumesApi",
        reverse: "apiConsumedBy",
    },
    RelationField {
        kinds: &["component", "resource"],
        field: "dependsOn",
        default_kind: None,
        forward: "dependsOn",
        reverse: "dependencyOf",
    },
    RelationField {
        kinds: &["component", "resource"],
        field: "dependencyOf",
        default_kind: None,
        forward: "dependencyOf",
        reverse: "dependsOn",
    },
    RelationField {
        kinds: &["user"],
        field: "memberOf",
        default_kind: Some("group"),
        forward: "memberOf",
        reverse: "hasMember",
    },
    RelationField {
        kinds: &["group"],
        field: "members",
        default_kind: Some("user"),
        forward: "hasMember",
        reverse: "memberOf",
    },
    RelationField {
        kinds: &["group"],
        field: "parent",
        default_kind: Some("group"),
        forward: "childOf",
        reverse: "parentOf",
    },
    RelationField {
        kinds: &["group"],
        field: "children",
        default_kind: Some("group"),
        forward: "parentOf",
        reverse: "childOf",
    },
];

/// The canonical (camelCase) spelling of a relation type written in any case; unknown types
/// are returned as given.
pub fn canonical_relation_type(name: &str) -> &str {
    RELATION_FIELDS
        .iter()
        .flat_map(|r| [r.forward, r.reverse])
        .find(|t| t.eq_ignore_ascii_case(name))
        .unwrap_or(name)
}

/// The type of the relation that runs the other way, for a canonical type.
pub fn reverse_relation_type(name: &str) -> Option<&'static str> {
    RELATION_FIELDS.iter().find_map(|r| {
        if r.forward == name {
            Some(r.reverse)
        } else if r.reverse == name {
            Some(r.forward)
        } else {
            None
        }
    })
}

/// All relations an entity's spec implies. Refs default to the entity's own namespace.
pub fn relations_of(entity: &Entity) -> Result<Vec<Relation>, FieldError> {
    let kind = entity.kind().to_lowercase();
    let mut relations = Vec::new();
    for rule in RELATION_FIELDS
        .iter()
        .filter(|r| r.kinds.contains(&kind.as_str()))
    {
        let path = format!("spec.{}", rule.field);
        let refs: Vec<&str> = match &entity.spec()[rule.field] {
            Value::Null => continue,
            Value::String(one) => vec![one],
            Value::Array(many) => many
                .iter()
                .map(|v| {
                    v.as_str()
                        .ok_or_else(|| field_error(&path, "must list entity refs as strings"))
                })
                .collect::<Result<_, _>>()?,
            _ => {
                return Err(field_error(
                    &path,
                    "must be an entity ref or a list of them",
                ));
            }
        };
        for text in refs {
            let target = EntityRef::parse(text, rule.default_kind, entity.namespace())
                .map_err(|message| field_error(&path, &message))?;
            relations.push(Relation {
                source: entity.entity_ref.clone(),
                relation_type: rule.forward,
                target: target.clone(),
            });
            relations.push(Relation {
                source: target,
                relation_type: rule.reverse,
                target: entity.entity_ref.clone(),
            });
        }
    }
    Ok(relations)
}

fn field_error(field: &str, message: &str) -> FieldError {
    FieldError {
        field: field.to_string(),
        message: message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::model::validate;
    use serde_json::json;

    fn pairs(body: Value) -> Vec<String> {
        let e = validate(body).unwrap();
        relations_of(&e)
            .unwrap()
            .iter()
            .map(|r| format!("{} {} {}", r.source, r.relation_type, r.target))
            .collect()
    }

    #[test]
    fn spec_refs_default_to_the_entity_namespace_and_field_kind_both_ways() {
        let rels = pairs(
            json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component",
            "metadata": {"name": "checkout", "namespace": "shop"},
            "spec": {"type": "service", "lifecycle": "production", "owner": "Payments", "system": "default/store", "providesApis": ["checkout-api"]}}),
        );
        assert_eq!(
            rels,
            vec![
                "component:shop/checkout ownedBy group:shop/payments",
                "group:shop/payments ownerOf component:shop/checkout",
                "component:shop/checkout partOf system:default/store",
                "system:default/store hasPart component:shop/checkout",
                "component:shop/checkout providesApi api:shop/checkout-api",
                "api:shop/checkout-api apiProvidedBy component:shop/checkout",
            ]
        );
    }

    #[test]
    fn group_members_and_parent_emit_membership_and_hierarchy() {
        let rels = pairs(
            json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Group",
            "metadata": {"name": "payments"}, "spec": {"type": "team", "parent": "engineering", "members": ["ann"], "children": []}}),
        );
        assert!(rels.contains(&"group:default/payments hasMember user:default/ann".to_string()));
        assert!(rels.contains(&"user:default/ann memberOf group:default/payments".to_string()));
        assert!(
            rels.contains(&"group:default/payments childOf group:default/engineering".to_string())
        );
        assert!(
            rels.contains(&"group:default/engineering parentOf group:default/payments".to_string())
        );
    }

    #[test]
    fn a_ref_without_a_kind_where_none_is_assumed_names_the_field() {
        let e = validate(
            json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component",
            "metadata": {"name": "a"}, "spec": {"type": "service", "lifecycle": "x", "owner": "o", "dependsOn": ["b"]}}),
        )
        .unwrap();
        assert_eq!(relations_of(&e).unwrap_err().field, "spec.dependsOn");
    }
}
