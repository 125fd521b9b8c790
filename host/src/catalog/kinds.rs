//! The built-in kinds: which apiVersions each accepts and what its `spec` must hold, after
//! Backstage's JSON schemas in `@backstage/catalog-model`.

use serde_json::Value;

use super::model::FieldError;

/// The shape a spec field must have.
#[derive(Clone, Copy)]
enum Shape {
    /// A non-empty string.
    Text,
    /// A list of strings.
    TextList,
    /// A mapping.
    Mapping,
    /// A list of anything.
    List,
    /// A mapping or a list (Template parameters).
    MappingOrList,
}

struct KindSchema {
    kind: &'static str,
    api_versions: &'static [&'static str],
    required: &'static [(&'static str, Shape)],
    optional: &'static [(&'static str, Shape)],
}

const BACKSTAGE: &[&str] = &["backstage.io/v1alpha1", "backstage.io/v1beta1"];

const KINDS: &[KindSchema] = &[
    KindSchema {
        kind: "Component",
        api_versions: BACKSTAGE,
        required: &[
            ("type", Shape::Text),
            ("lifecycle", Shape::Text),
            ("owner", Shape::Text),
        ],
        optional: &[
            ("system", Shape::Text),
            ("subcomponentOf", Shape::Text),
            ("providesApis", Shape::TextList),
            ("consumesApis", Shape::TextList),
            ("dependsOn", Shape::TextList),
            ("dependencyOf", Shape::TextList),
        ],
    },
    KindSchema {
        kind: "API",
        api_versions: BACKSTAGE,
        required: &[
            ("type", Shape::Text),
            ("lifecycle", Shape::Text),
            ("owner", Shape::Text),
            ("definition", Shape::Text),
        ],
        optional: &[("system", Shape::Text)],
    },
    KindSchema {
        kind: "Resource",
        api_versions: BACKSTAGE,
        required: &[("type", Shape::Text), ("owner", Shape::Text)],
        optional: &[
            ("system", Shape::Text),
            ("dependsOn", Shape::TextList),
            ("dependencyOf", Shape::TextList),
        ],
    },
    KindSchema {
        kind: "System",
        api_versions: BACKSTAGE,
        required: &[("owner", Shape::Text)],
        optional: &[("domain", Shape::Text), ("type", Shape::Text)],
    },
    KindSchema {
        kind: "Domain",
        api_versions: BACKSTAGE,
        required: &[("owner", Shape::Text)],
        optional: &[("subdomainOf", Shape::Text), ("type", Shape::Text)],
    },
    KindSchema {
        kind: "Group",
        api_versions: BACKSTAGE,
        required: &[("type", Shape::Text), ("children", Shape::TextList)],
        optional: &[
            ("parent", Shape::Text),
            ("members", Shape::TextList),
            ("profile", Shape::Mapping),
        ],
    },
    KindSchema {
        kind: "User",
        api_versions: BACKSTAGE,
        required: &[("memberOf", Shape::TextList)],
        optional: &[("profile", Shape::Mapping)],
    },
    KindSchema {
        kind: "Location",
        api_versions: BACKSTAGE,
        required: &[],
        optional: &[
            ("type", Shape::Text),
            ("target", Shape::Text),
            ("targets", Shape::TextList),
            ("presence", Shape::Text),
        ],
    },
    KindSchema {
        kind: "Template",
        api_versions: &["scaffolder.backstage.io/v1beta3"],
        required: &[("type", Shape::Text), ("steps", Shape::List)],
        optional: &[
            ("owner", Shape::Text),
            ("parameters", Shape::MappingOrList),
            ("output", Shape::Mapping),
        ],
    },
];

/// Checks `spec` against the schema of `kind` (matched case-insensitively, as refs are).
pub fn check_spec(api_version: &str, kind: &str, spec: &Value, errors: &mut Vec<FieldError>) {
    let Some(schema) = KINDS.iter().find(|s| s.kind.eq_ignore_ascii_case(kind)) else {
        let known: Vec<&str> = KINDS.iter().map(|s| s.kind).collect();
        errors.push(FieldError::new(
            "kind",
            format!("'{kind}' is not a known kind ({})", known.join(", ")),
        ));
        return;
    };
    if !schema.api_versions.contains(&api_version) {
        errors.push(FieldError::new(
            "apiVersion",
            format!(
                "'{api_version}' is not an apiVersion of {} (expected {})",
                schema.kind,
                schema.api_versions.join(" or ")
            ),
        ));
    }
    let Some(spec) = spec.as_object() else { return };
    for &(field, shape) in schema.required {
        match spec.get(field) {
            None | Some(Value::Null) => {
                errors.push(FieldError::new(format!("spec.{field}"), "is required"))
            }
            Some(value) => check_shape(field, shape, value, errors),
        }
    }
    for &(field, shape) in schema.optional {
        if let Some(value) = spec.get(field).filter(|v| !v.is_null()) {
            check_shape(field, shape, value, errors);
        }
    }
    if schema.kind == "Location" && !spec.contains_key("target") && !spec.contains_key("targets") {
        errors.push(FieldError::new(
            "spec.target",
            "a Location needs spec.target or spec.targets",
        ));
    }
}

fn check_shape(field: &str, shape: Shape, value: &Value, errors: &mut Vec<FieldError>) {
    let path = format!("spec.{field}");
    let problem = match (shape, value) {
        (Shape::Text, Value::String(s)) if s.is_empty() => Some("must not be empty"),
        (Shape::Text, Value::String(_)) => None,
        (Shape::Text, _) => Some("must be a string"),
        (Shape::TextList, Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                if item.as_str().is_none_or(str::is_empty) {
                    errors.push(FieldError::new(
                        format!("{path}[{i}]"),
                        "must be a non-empty string",
                    ));
                }
            }
            None
        }
        (Shape::TextList, _) => Some("must be a list of strings"),
        (Shape::Mapping, Value::Object(_)) => None,
        (Shape::Mapping, _) => Some("must be a mapping"),
        (Shape::List, Value::Array(_)) => None,
        (Shape::List, _) => Some("must be a list"),
        (Shape::MappingOrList, Value::Object(_) | Value::Array(_)) => None,
        (Shape::MappingOrList, _) => Some("must be a mapping or a list"),
    };
    if let Some(problem) = problem {
        errors.push(FieldError::new(path, problem));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn problems(api_version: &str, kind: &str, spec: Value) -> Vec<String> {
        let mut errors = Vec::new();
        check_spec(api_version, kind, &spec, &mut errors);
        errors
            .into_iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect()
    }

    const V1: &str = "backstage.io/v1alpha1";

    #[test]
    fn every_kind_names_its_missing_required_fields() {
        let cases: [(&str, &str, &[&str]); 9] = [
            (
                V1,
                "Component",
                &["spec.type", "spec.lifecycle", "spec.owner"],
            ),
            (
                V1,
                "API",
                &[
                    "spec.type",
                    "spec.lifecycle",
                    "spec.owner",
                    "spec.definition",
                ],
            ),
            (V1, "Resource", &["spec.type", "spec.owner"]),
            (V1, "System", &["spec.owner"]),
            (V1, "Domain", &["spec.owner"]),
            (V1, "Group", &["spec.type", "spec.children"]),
            (V1, "User", &["spec.memberOf"]),
            (V1, "Location", &["spec.target"]),
            (
                "scaffolder.backstage.io/v1beta3",
                "Template",
                &["spec.type", "spec.steps"],
            ),
        ];
        for (api_version, kind, missing) in cases {
            let found = problems(api_version, kind, json!({}));
            let fields: Vec<&str> = found.iter().map(|p| p.split(':').next().unwrap()).collect();
            assert_eq!(fields, missing, "{kind}: {found:?}");
        }
    }

    #[test]
    fn field_shapes_and_kind_api_versions_are_enforced() {
        assert_eq!(
            problems(
                V1,
                "component",
                json!({"type": "service", "lifecycle": "x", "owner": "a", "dependsOn": "b"})
            ),
            ["spec.dependsOn: must be a list of strings"]
        );
        assert_eq!(
            problems(V1, "User", json!({"memberOf": ["a", 3]})),
            ["spec.memberOf[1]: must be a non-empty string"]
        );
        assert_eq!(
            problems(V1, "Group", json!({"type": "", "children": []})),
            ["spec.type: must not be empty"]
        );
        assert!(problems(V1, "Template", json!({}))[0].starts_with("apiVersion:"));
        assert!(problems("example.com/v1", "Widget", json!({}))[0].starts_with("kind:"));
    }
}
