//! A template's parameter pages read from JSON Schema into the fields the form draws: the
//! widget each property gets (from `type`, `enum`, `ui:field` and `ui:widget`), its labels
//! and `ui:*` options, the order (`ui:order`), and the defaults the form fills in (the
//! server fills none). Also the checks the catalog pickers make on their own.

use serde_json::{Map, Value};

/// One page of the wizard.
#[derive(Clone)]
pub struct Page {
    pub title: String,
    pub description: String,
    pub fields: Vec<Field>,
}

#[derive(Clone)]
pub struct Field {
    pub name: String,
    pub label: String,
    pub description: String,
    pub help: String,
    pub placeholder: String,
    pub required: bool,
    pub readonly: bool,
    pub autofocus: bool,
    pub kind: Kind,
}

/// How a property is entered.
#[derive(Clone)]
pub enum Kind {
    Text {
        multiline: bool,
        password: bool,
    },
    Number {
        integer: bool,
    },
    Checkbox,
    /// `enum` (or `oneOf` consts): one of the choices.
    Choice(Vec<Choice>),
    /// An array whose items are choices: any of them, each once.
    MultiChoice(Vec<Choice>),
    /// `EntityNamePicker`.
    EntityName,
    /// `EntityPicker`, `OwnerPicker` (one ref) and `MultiEntityPicker` (an array of refs).
    Entity {
        query: EntityQuery,
        multiple: bool,
    },
    /// `EntityTagsPicker`: suggestions are the tags of entities of `kinds` (all when empty).
    Tags {
        kinds: Vec<String>,
    },
    /// An array of free strings.
    List,
    /// `ui:field: Secret`: its value travels in the request's `secrets`, never in `values`.
    Secret,
    /// Anything else (objects, mixed arrays): JSON text.
    Json,
}

#[derive(Clone, PartialEq)]
pub struct Choice {
    pub value: Value,
    pub label: String,
}

/// Which catalog entities a picker offers, and how a typed name becomes a ref.
#[derive(Clone, Default)]
pub struct EntityQuery {
    /// Backstage `filter` parameters: several are ORed, the conditions inside one ANDed.
    pub filters: Vec<String>,
    pub default_kind: Option<String>,
    pub default_namespace: String,
}

impl Field {
    /// Whether the review shows the value masked.
    pub fn is_masked(&self) -> bool {
        matches!(self.kind, Kind::Secret | Kind::Text { password: true, .. })
    }
}

/// The pages of a `parameter-schema` answer.
pub fn pages(schema: &Value) -> Vec<Page> {
    let steps = schema["steps"].as_array().cloned().unwrap_or_default();
    steps
        .iter()
        .map(|step| {
            let schema = &step["schema"];
            let text = |value: &Value| value.as_str().unwrap_or_default().to_string();
            Page {
                title: text(&step["title"]),
                description: step["description"]
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| text(&schema["description"])),
                fields: fields(schema),
            }
        })
        .collect()
}

fn fields(schema: &Value) -> Vec<Field> {
    let Some(properties) = schema["properties"].as_object() else {
        return Vec::new();
    };
    let required: Vec<&str> = schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let order: Vec<&str> = schema["ui:order"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let names: Vec<&str> = properties.keys().map(String::as_str).collect();
    in_order(&names, &order)
        .into_iter()
        .filter(|name| properties[*name]["ui:widget"] != "hidden")
        .map(|name| field(name, &properties[name], required.contains(&name)))
        .collect()
}

/// `ui:order`: the listed names first, `*` standing for every name not listed (at the end
/// when there is no `*`); names listed but not defined are skipped.
fn in_order<'a>(names: &[&'a str], order: &[&str]) -> Vec<&'a str> {
    if order.is_empty() {
        return names.to_vec();
    }
    let listed = |name: &str| names.iter().find(|n| **n == name).copied();
    let rest: Vec<&str> = names
        .iter()
        .filter(|n| !order.contains(n))
        .copied()
        .collect();
    let (before, after) = match order.iter().position(|o| *o == "*") {
        Some(star) => (&order[..star], &order[star + 1..]),
        None => (order, &[][..]),
    };
    let mut out: Vec<&str> = before.iter().filter_map(|n| listed(n)).collect();
    out.extend(rest);
    out.extend(after.iter().filter_map(|n| listed(n)));
    out
}

fn field(name: &str, property: &Value, required: bool) -> Field {
    let text = |key: &str| property[key].as_str().unwrap_or_default().to_string();
    let options = &property["ui:options"];
    Field {
        name: name.to_string(),
        label: property["title"].as_str().unwrap_or(name).to_string(),
        description: text("description"),
        help: text("ui:help"),
        placeholder: text("ui:placeholder"),
        required,
        readonly: property["ui:readonly"] == true
            || property["ui:disabled"] == true
            || property["readOnly"] == true,
        autofocus: property["ui:autofocus"] == true,
        kind: kind(property, options),
    }
}

fn kind(property: &Value, options: &Value) -> Kind {
    match property["ui:field"].as_str().unwrap_or_default() {
        "EntityPicker" | "OwnedEntityPicker" => {
            return Kind::Entity {
                query: entity_query(options, &[]),
                multiple: false,
            };
        }
        "OwnerPicker" => {
            return Kind::Entity {
                query: entity_query(options, &["Group", "User"]),
                multiple: false,
            };
        }
        "MultiEntityPicker" => {
            return Kind::Entity {
                query: entity_query(options, &[]),
                multiple: true,
            };
        }
        "EntityNamePicker" => return Kind::EntityName,
        "EntityTagsPicker" => {
            return Kind::Tags {
                kinds: strings(&options["kinds"]),
            };
        }
        "Secret" => return Kind::Secret,
        _ => {}
    }
    if let Some(choices) = choices(property) {
        return Kind::Choice(choices);
    }
    let widget = property["ui:widget"].as_str().unwrap_or_default();
    match type_of(property) {
        "boolean" => Kind::Checkbox,
        "number" => Kind::Number { integer: false },
        "integer" => Kind::Number { integer: true },
        "array" => match choices(&property["items"]) {
            Some(choices) => Kind::MultiChoice(choices),
            None if type_of(&property["items"]) == "string" => Kind::List,
            None => Kind::Json,
        },
        "string" => Kind::Text {
            multiline: widget == "textarea",
            password: widget == "password",
        },
        _ => Kind::Json,
    }
}

/// The first type of `type` other than null; a property with none is a string.
fn type_of(schema: &Value) -> &str {
    match &schema["type"] {
        Value::String(t) => t,
        Value::Array(types) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("string"),
        _ => "string",
    }
}

/// `enum` with `enumNames` as labels, or `oneOf`/`anyOf` of `{const, title}`.
fn choices(schema: &Value) -> Option<Vec<Choice>> {
    let label = |value: &Value| match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if let Some(values) = schema["enum"].as_array() {
        let names = schema["enumNames"]
            .as_array()
            .or(schema["ui:enumNames"].as_array());
        return Some(
            values
                .iter()
                .enumerate()
                .map(|(i, value)| Choice {
                    value: value.clone(),
                    label: names
                        .and_then(|n| n.get(i))
                        .and_then(Value::as_str)
                        .map(str::to_string)
                        .unwrap_or_else(|| label(value)),
                })
                .collect(),
        );
    }
    let consts = schema["oneOf"].as_array().or(schema["anyOf"].as_array())?;
    consts
        .iter()
        .map(|option| {
            let value = option.get("const")?.clone();
            Some(Choice {
                label: option["title"]
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| label(&value)),
                value,
            })
        })
        .collect()
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// `ui:options.catalogFilter` (an object or a list of them; a list value accepts any of its
/// values), else `allowedKinds`, else the picker's default kinds.
fn entity_query(options: &Value, default_kinds: &[&str]) -> EntityQuery {
    let catalog_filter: Vec<&Map<String, Value>> = match &options["catalogFilter"] {
        Value::Object(filter) => vec![filter],
        Value::Array(filters) => filters.iter().filter_map(Value::as_object).collect(),
        _ => Vec::new(),
    };
    let mut kinds: Vec<String> = Vec::new();
    let filters: Vec<String> = if catalog_filter.is_empty() {
        kinds = strings(&options["allowedKinds"]);
        if kinds.is_empty() {
            kinds = default_kinds.iter().map(|k| k.to_string()).collect();
        }
        kinds.iter().map(|k| format!("kind={k}")).collect()
    } else {
        catalog_filter
            .iter()
            .map(|filter| {
                let mut conditions = Vec::new();
                for (key, value) in filter.iter() {
                    let values = match value {
                        // `{exists: true}`: the field is present.
                        Value::Object(_) => vec![String::new()],
                        Value::Array(_) | Value::String(_) => strings(value),
                        other => vec![other.to_string()],
                    };
                    if key.eq_ignore_ascii_case("kind") {
                        kinds.extend(values.iter().cloned());
                    }
                    conditions.extend(values.iter().map(|v| match v.as_str() {
                        "" => key.clone(),
                        v => format!("{key}={v}"),
                    }));
                }
                conditions.join(",")
            })
            .collect()
    };
    kinds.dedup();
    let default_kind = options["defaultKind"]
        .as_str()
        .map(str::to_string)
        .or_else(|| (kinds.len() == 1).then(|| kinds[0].clone()));
    EntityQuery {
        filters,
        default_kind,
        default_namespace: options["defaultNamespace"]
            .as_str()
            .unwrap_or("default")
            .to_string(),
    }
}

/// Every page's `default`s, and under them `initial` (a task's parameters when starting
/// over). Secrets are never in either.
pub fn initial_values(
    pages: &[Page],
    schema: &Value,
    initial: &Map<String, Value>,
) -> Map<String, Value> {
    let mut values = Map::new();
    for (page, step) in pages
        .iter()
        .zip(schema["steps"].as_array().into_iter().flatten())
    {
        for field in &page.fields {
            let default = &step["schema"]["properties"][&field.name]["default"];
            if !default.is_null() && !matches!(field.kind, Kind::Secret) {
                values.insert(field.name.clone(), default.clone());
            }
        }
    }
    values.extend(initial.iter().map(|(k, v)| (k.clone(), v.clone())));
    values
}

/// Backstage's entity name rule (`EntityNamePicker`).
pub fn check_entity_name(name: &str) -> Result<(), String> {
    let parts_ok = name
        .split(['-', '_', '.'])
        .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric()));
    if name.len() > 63 || !parts_ok {
        return Err("must be 1–63 letters or digits, with single -, _ or . between them".into());
    }
    Ok(())
}

/// Backstage's tag rule (`EntityTagsPicker`): lowercase words of `a-z 0-9 : + #` joined by
/// single hyphens, at most 63 characters.
pub fn check_tag(tag: &str) -> Result<(), String> {
    let word = |w: &str| {
        !w.is_empty()
            && w.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ":+#".contains(c))
    };
    if tag.len() > 63 || !tag.split('-').all(word) {
        return Err(format!(
            "'{tag}' is not a valid tag: lowercase letters, digits, ':', '+' or '#', words joined by '-'"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn order_puts_listed_names_around_the_wildcard() {
        let names = ["a", "b", "c", "d"];
        assert_eq!(in_order(&names, &["c", "*", "a"]), ["c", "b", "d", "a"]);
        assert_eq!(in_order(&names, &["d", "x"]), ["d", "a", "b", "c"]);
        assert_eq!(in_order(&names, &[]), names);
    }

    #[test]
    fn pickers_query_the_catalog_by_filter() {
        let q = entity_query(
            &json!({"catalogFilter": {"kind": ["Group", "User"], "spec.type": "team"}}),
            &[],
        );
        assert_eq!(q.filters, ["kind=Group,kind=User,spec.type=team"]);
        assert_eq!(q.default_kind, None);
        let q = entity_query(&json!({}), &["Group", "User"]);
        assert_eq!(q.filters, ["kind=Group", "kind=User"]);
        let q = entity_query(
            &json!({"catalogFilter": [{"kind": "Group"}, {"metadata.annotations.x": {"exists": true}}]}),
            &[],
        );
        assert_eq!(q.filters, ["kind=Group", "metadata.annotations.x"]);
        assert_eq!(q.default_kind.as_deref(), Some("Group"));
    }

    #[test]
    fn names_and_tags_follow_backstages_rules() {
        assert!(check_entity_name("my-service.v2").is_ok());
        for bad in ["", "-a", "a--b", "a_", "ä", &"a".repeat(64)] {
            assert!(check_entity_name(bad).is_err(), "{bad}");
        }
        assert!(check_tag("c++").is_ok() && check_tag("team:a-b").is_ok());
        for bad in ["Rust", "a--b", "-a", "a b", ""] {
            assert!(check_tag(bad).is_err(), "{bad}");
        }
    }
}
