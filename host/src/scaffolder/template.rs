//! A `scaffolder.backstage.io/v1beta3` Template entity as the scaffolder reads it: parameter
//! pages, steps, output, and the folder relative URLs resolve against. Also the server-side
//! validation of the form's values, page by page, in Backstage's `errors[]` shape.

use std::path::PathBuf;

use serde_json::{Map, Value, json};

pub const API_VERSION: &str = "scaffolder.backstage.io/v1beta3";

/// One step of `spec.steps`.
#[derive(Debug, Clone)]
pub struct Step {
    pub id: String,
    pub name: String,
    pub action: String,
    pub input: Value,
    /// `if:`, kept unrendered (a boolean or an expression).
    pub condition: Option<Value>,
    pub each: Option<Value>,
}

impl Step {
    /// The step as the task spec stores it (Backstage's `TaskStep`).
    pub fn to_json(&self) -> Value {
        let mut step = json!({"id": self.id, "name": self.name, "action": self.action});
        if !self.input.is_null() {
            step["input"] = self.input.clone();
        }
        if let Some(condition) = &self.condition {
            step["if"] = condition.clone();
        }
        if let Some(each) = &self.each {
            step["each"] = each.clone();
        }
        step
    }

    pub fn from_json(index: usize, step: &Value) -> Result<Self, String> {
        let field = |name: &str| step.get(name).filter(|v| !v.is_null());
        let id = match field("id") {
            None => format!("step-{}", index + 1),
            Some(Value::String(id)) if !id.is_empty() => id.clone(),
            Some(_) => return Err(format!("spec.steps[{index}].id must be a non-empty string")),
        };
        let action = match field("action") {
            Some(Value::String(action)) if !action.is_empty() => action.clone(),
            _ => {
                return Err(format!(
                    "spec.steps[{index}].action is required and must be a string"
                ));
            }
        };
        let name = match field("name") {
            Some(Value::String(name)) => name.clone(),
            Some(_) => return Err(format!("spec.steps[{index}].name must be a string")),
            None => action.clone(),
        };
        let input = field("input").cloned().unwrap_or(Value::Null);
        if !(input.is_null() || input.is_object()) {
            return Err(format!("spec.steps[{index}].input must be an object"));
        }
        Ok(Self {
            id,
            name,
            action,
            input,
            condition: field("if").cloned(),
            each: field("each").cloned(),
        })
    }
}

/// What a task runs, read from the Template entity.
#[derive(Debug, Clone)]
pub struct Template {
    /// `template:namespace/name`.
    pub entity_ref: String,
    pub title: String,
    pub description: Option<String>,
    /// Each page a JSON Schema object.
    pub pages: Vec<Value>,
    pub steps: Vec<Step>,
    pub output: Value,
    pub presentation: Option<Value>,
    /// The folder of the file that defines it: relative URLs resolve against it and may not
    /// leave it.
    pub base_dir: Option<PathBuf>,
    pub entity: Value,
}

impl Template {
    /// Reads a Template entity; every problem names its field.
    pub fn from_entity(entity: &Value) -> Result<Self, String> {
        if entity["apiVersion"] != API_VERSION {
            return Err(format!(
                "apiVersion must be {API_VERSION}, not {}",
                entity["apiVersion"]
            ));
        }
        if entity["kind"] != "Template" {
            return Err(format!("kind must be Template, not {}", entity["kind"]));
        }
        let metadata = &entity["metadata"];
        let name = metadata["name"]
            .as_str()
            .filter(|n| !n.is_empty())
            .ok_or("metadata.name is required")?;
        let namespace = metadata["namespace"].as_str().unwrap_or("default");
        let spec = &entity["spec"];
        let pages = match &spec["parameters"] {
            Value::Null => Vec::new(),
            Value::Array(pages) => pages.clone(),
            page @ Value::Object(_) => vec![page.clone()],
            _ => return Err("spec.parameters must be an object or a list of objects".into()),
        };
        if let Some(i) = pages.iter().position(|p| !p.is_object()) {
            return Err(format!("spec.parameters[{i}] must be an object"));
        }
        let steps = match &spec["steps"] {
            Value::Null => Vec::new(),
            Value::Array(steps) => steps
                .iter()
                .enumerate()
                .map(|(i, s)| Step::from_json(i, s))
                .collect::<Result<_, _>>()?,
            _ => return Err("spec.steps must be a list".into()),
        };
        let mut ids = std::collections::HashSet::new();
        if let Some(step) = steps.iter().find(|s| !ids.insert(s.id.as_str())) {
            return Err(format!("spec.steps: the id '{}' is used twice", step.id));
        }
        let base_dir = metadata["annotations"]["backstage.io/managed-by-location"]
            .as_str()
            .and_then(|l| l.strip_prefix("file:"))
            .and_then(|file| std::path::Path::new(file).parent().map(PathBuf::from));
        Ok(Self {
            entity_ref: format!(
                "template:{}/{}",
                namespace.to_lowercase(),
                name.to_lowercase()
            ),
            title: metadata["title"].as_str().unwrap_or(name).to_string(),
            description: metadata["description"].as_str().map(str::to_string),
            pages,
            steps,
            output: spec["output"].clone(),
            presentation: spec.get("presentation").cloned(),
            base_dir,
            entity: entity.clone(),
        })
    }

    /// `GET .../parameter-schema`, as Backstage answers it.
    pub fn parameter_schema(&self) -> Value {
        let steps: Vec<Value> = self
            .pages
            .iter()
            .map(|page| {
                let mut step = json!({
                    "title": page["title"].as_str().unwrap_or("Please enter the following information"),
                    "schema": page,
                });
                if let Some(description) = page["description"].as_str() {
                    step["description"] = description.into();
                }
                step
            })
            .collect();
        let mut schema = json!({"title": self.title, "steps": steps});
        if let Some(description) = &self.description {
            schema["description"] = description.as_str().into();
        }
        if let Some(presentation) = &self.presentation {
            schema["presentation"] = presentation.clone();
        }
        schema
    }

    /// Names of the properties drawn as `ui:field: Secret`: their values travel in `secrets`.
    pub fn secret_fields(&self) -> Vec<String> {
        let mut names = Vec::new();
        for page in &self.pages {
            if let Some(properties) = page["properties"].as_object() {
                for (name, property) in properties {
                    if property["ui:field"] == "Secret" {
                        names.push(name.clone());
                    }
                }
            }
        }
        names
    }

    /// Checks `values` against every page (or only page `only`), as Backstage's `POST
    /// /tasks` does; the server does not fill in defaults.
    pub fn validate(&self, values: &Value, only: Option<usize>) -> Result<(), Vec<ValueError>> {
        let mut errors = Vec::new();
        for (index, page) in self.pages.iter().enumerate() {
            if only.is_some_and(|o| o != index) {
                continue;
            }
            let schema = without_ui_keys(page);
            let validator = match jsonschema::validator_for(&schema) {
                Ok(v) => v,
                Err(e) => {
                    errors.push(ValueError {
                        path: Vec::new(),
                        property: "instance".into(),
                        message: format!(
                            "spec.parameters[{index}] is not a valid JSON Schema: {e}"
                        ),
                        name: "schema".into(),
                        argument: Value::Null,
                    });
                    continue;
                }
            };
            errors.extend(validator.iter_errors(values).map(|e| ValueError::from(&e)));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// A schema with the form's `ui:*` keys taken out: they mean nothing to validation, and
/// some (`ui:options`) look like schema keywords to a strict validator.
fn without_ui_keys(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !k.starts_with("ui:"))
                .map(|(k, v)| (k.clone(), without_ui_keys(v)))
                .collect::<Map<_, _>>(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_ui_keys).collect()),
        other => other.clone(),
    }
}

/// One validation error in the shape Backstage's `jsonschema` validator gives.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueError {
    pub path: Vec<Value>,
    pub property: String,
    pub message: String,
    pub name: String,
    pub argument: Value,
}

impl ValueError {
    fn from(error: &jsonschema::ValidationError) -> Self {
        use jsonschema::error::ValidationErrorKind as Kind;
        let path: Vec<Value> = error
            .instance_path()
            .into_iter()
            .map(|segment| match segment {
                jsonschema::paths::LocationSegment::Property(p) => Value::from(p.to_string()),
                jsonschema::paths::LocationSegment::Index(i) => Value::from(i),
            })
            .collect();
        let property = path.iter().fold("instance".to_string(), |acc, p| match p {
            Value::String(s) => format!("{acc}.{s}"),
            other => format!("{acc}[{other}]"),
        });
        let (name, message, argument) = match error.kind() {
            Kind::Required { property } => {
                let name = property.as_str().unwrap_or_default().to_string();
                (
                    "required",
                    format!("requires property \"{name}\""),
                    Value::from(name),
                )
            }
            Kind::Type { kind } => {
                let types = match kind {
                    jsonschema::error::TypeKind::Single(t) => t.to_string(),
                    jsonschema::error::TypeKind::Multiple(ts) => ts
                        .into_iter()
                        .map(|t| t.to_string())
                        .collect::<Vec<_>>()
                        .join(","),
                };
                ("type", format!("is not of a type(s) {types}"), Value::Null)
            }
            Kind::Enum { options } => {
                let listed = options
                    .as_array()
                    .map(|o| {
                        o.iter()
                            .map(|v| v.as_str().map(str::to_string).unwrap_or(v.to_string()))
                            .collect::<Vec<_>>()
                            .join(",")
                    })
                    .unwrap_or_default();
                (
                    "enum",
                    format!("is not one of enum values: {listed}"),
                    Value::clone(options),
                )
            }
            Kind::Pattern { pattern } => (
                "pattern",
                format!("does not match pattern \"{pattern}\""),
                Value::from(pattern.as_str()),
            ),
            Kind::MinLength { limit } => (
                "minLength",
                format!("does not meet minimum length of {limit}"),
                Value::from(*limit),
            ),
            Kind::MaxLength { limit } => (
                "maxLength",
                format!("does not meet maximum length of {limit}"),
                Value::from(*limit),
            ),
            _ => ("invalid", error.to_string(), Value::Null),
        };
        Self {
            path,
            property,
            message,
            name: name.into(),
            argument,
        }
    }

    /// Backstage's shape: `{path, property, message, name, argument, stack}`.
    pub fn to_json(&self) -> Value {
        json!({
            "path": self.path,
            "property": self.property,
            "message": self.message,
            "name": self.name,
            "argument": self.argument,
            "stack": format!("{} {}", self.property, self.message),
        })
    }

    /// The field the error belongs to, for the form: the missing property of a `required`
    /// error, else the path.
    pub fn field_path(&self) -> Vec<Value> {
        let mut path = self.path.clone();
        if self.name == "required" {
            path.push(self.argument.clone());
        }
        path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(spec: Value) -> Value {
        json!({
            "apiVersion": API_VERSION, "kind": "Template",
            "metadata": {"name": "svc", "title": "Service",
                "annotations": {"backstage.io/managed-by-location": "file:/srv/t/template.yaml"}},
            "spec": spec,
        })
    }

    #[test]
    fn reads_pages_steps_and_defaults_step_ids() {
        let t = Template::from_entity(&template(json!({
            "parameters": {"required": ["name"], "properties": {"name": {"type": "string"}}},
            "steps": [{"action": "debug:log", "input": {"message": "hi"}}, {"id": "b", "name": "B", "action": "fs:delete"}],
        })))
        .unwrap();
        assert_eq!(t.pages.len(), 1);
        assert_eq!(t.steps[0].id, "step-1");
        assert_eq!(t.steps[0].name, "debug:log");
        assert_eq!(t.steps[1].id, "b");
        assert_eq!(t.base_dir, Some(PathBuf::from("/srv/t")));
        assert_eq!(t.entity_ref, "template:default/svc");
        let schema = t.parameter_schema();
        assert_eq!(schema["title"], "Service");
        assert_eq!(
            schema["steps"][0]["title"],
            "Please enter the following information"
        );
    }

    #[test]
    fn bad_templates_name_the_field() {
        let err = Template::from_entity(&template(json!({"steps": [{"id": "a"}]}))).unwrap_err();
        assert!(err.contains("spec.steps[0].action"), "{err}");
        let err = Template::from_entity(&template(
            json!({"steps": [{"id": "a", "action": "x"}, {"id": "a", "action": "y"}]}),
        ))
        .unwrap_err();
        assert!(err.contains("'a' is used twice"), "{err}");
        let err = Template::from_entity(&template(json!({"parameters": "x"}))).unwrap_err();
        assert!(err.contains("spec.parameters"), "{err}");
    }

    #[test]
    fn values_are_validated_per_page_in_backstages_shape() {
        let t = Template::from_entity(&template(json!({
            "parameters": [
                {"required": ["name"], "properties": {"name": {"type": "string", "pattern": "^[a-z]+$", "ui:autofocus": true}}},
                {"properties": {"size": {"type": "integer", "enum": [1, 2]}}},
            ],
        })))
        .unwrap();
        let errors = t.validate(&json!({"size": 3}), None).unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert_eq!(errors[0].to_json()["message"], "requires property \"name\"");
        assert_eq!(errors[0].field_path(), vec![json!("name")]);
        assert_eq!(errors[1].path, vec![json!("size")]);
        assert_eq!(errors[1].name, "enum");
        assert!(t.validate(&json!({"size": 3}), Some(0)).unwrap_err().len() == 1);
        let errors = t.validate(&json!({"name": "Bad!"}), Some(0)).unwrap_err();
        assert_eq!(errors[0].property, "instance.name");
        assert!(
            t.validate(&json!({"name": "good", "size": 2}), None)
                .is_ok()
        );
    }
}
