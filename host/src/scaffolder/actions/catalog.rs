//! `catalog:write`, `catalog:fetch`, `catalog:register`: the catalog, through its service.

use greenroom_api::EntityRef;
use serde_json::{Value, json};

use super::{ActionInfo, Output, Step, object_schema};
use crate::catalog::LocationError;

pub fn infos() -> Vec<ActionInfo> {
    vec![
        ActionInfo {
            id: "catalog:write".into(),
            description: "Writes the catalog-info.yaml for your template".into(),
            input: object_schema(
                json!({"filePath": {"title": "Catalog file path", "type": "string",
                        "description": "Defaults to catalog-info.yaml"},
                    "entity": {"title": "Entity info to write catalog-info.yaml", "type": "object"}}),
                &["entity"],
            ),
            output: json!({"type": "object", "properties": {}}),
            supports_dry_run: true,
        },
        ActionInfo {
            id: "catalog:fetch".into(),
            description: "Returns entity or entities from the catalog by entity reference(s)"
                .into(),
            input: json!({"type": "object", "properties": {
                "entityRef": {"type": "string", "description": "Entity reference of the entity to get"},
                "entityRefs": {"type": "array", "items": {"type": "string"}},
                "optional": {"type": "boolean"},
                "defaultKind": {"type": "string"},
                "defaultNamespace": {"type": "string"}}}),
            output: json!({"type": "object", "properties": {
                "entity": {"type": "object"}, "entities": {"type": "array", "items": {"type": "object"}}}}),
            supports_dry_run: true,
        },
        ActionInfo {
            id: "catalog:register".into(),
            description: "Registers entities from a catalog descriptor file in the workspace into the software catalog.".into(),
            input: json!({"type": "object", "properties": {
                "catalogInfoUrl": {"type": "string", "title": "Catalog Info URL"},
                "repoContentsUrl": {"type": "string", "title": "Repository Contents URL"},
                "catalogInfoPath": {"type": "string", "title": "Fetch URL",
                    "description": "A relative path from the repo root pointing to the catalog info file, defaults to /catalog-info.yaml"},
                "optional": {"type": "boolean", "title": "Optional"}}}),
            output: json!({"type": "object", "required": ["catalogInfoUrl"], "properties": {
                "entityRef": {"type": "string"}, "catalogInfoUrl": {"type": "string"}}}),
            supports_dry_run: false,
        },
    ]
}

pub fn write(step: &mut Step) -> Result<Output, String> {
    let path = step
        .string("filePath")
        .unwrap_or("catalog-info.yaml")
        .to_string();
    let entity = step.input.get("entity").ok_or("input.entity is required")?;
    let yaml = serde_yaml::to_string(entity).map_err(|e| format!("input.entity: {e}"))?;
    (step.log)(format!("Writing {path}"));
    step.write(&path, yaml.as_bytes())?;
    Ok(Output::new())
}

pub fn fetch(step: &mut Step) -> Result<Output, String> {
    let default_kind = step.string("defaultKind");
    let default_namespace = step.string("defaultNamespace").unwrap_or("default");
    let optional = step.flag("optional");
    let lookup = |text: &str| -> Result<Value, String> {
        let entity_ref = EntityRef::parse(text, default_kind, default_namespace)?;
        match step
            .services
            .catalog
            .get(&entity_ref)
            .map_err(|e| e.to_string())?
        {
            Some(entity) => Ok(entity),
            None if optional => Ok(Value::Null),
            None => Err(format!("Entity {entity_ref} not found")),
        }
    };
    let mut output = Output::new();
    if let Some(one) = step.string("entityRef") {
        let entity = lookup(one)?;
        if !entity.is_null() {
            output.insert("entity".into(), entity);
        }
    }
    if let Some(many) = step.input.get("entityRefs") {
        let refs = many.as_array().ok_or("input.entityRefs must be a list")?;
        let entities = refs
            .iter()
            .map(|r| lookup(r.as_str().ok_or("input.entityRefs must list strings")?))
            .collect::<Result<Vec<_>, _>>()?;
        output.insert("entities".into(), entities.into());
    }
    if output.is_empty()
        && step.string("entityRef").is_none()
        && step.input.get("entityRefs").is_none()
    {
        return Err("Missing entity reference or references".into());
    }
    Ok(output)
}

pub fn register(step: &mut Step) -> Result<Output, String> {
    let url = match (
        step.string("catalogInfoUrl"),
        step.string("repoContentsUrl"),
    ) {
        (Some(url), _) => url.to_string(),
        (None, Some(contents)) => {
            let path = step
                .string("catalogInfoPath")
                .unwrap_or("/catalog-info.yaml");
            format!(
                "{}/{}",
                contents.trim_end_matches('/'),
                path.trim_start_matches('/')
            )
        }
        (None, None) => {
            return Err("Missing repoContentsUrl and/or catalogInfoUrl input".into());
        }
    };
    // Greenroom's own repositories publish their contents as a folder; a location is a file.
    let Some(path) = url.strip_prefix("file://") else {
        return Err(format!(
            "{url}: only file:// locations (such as publish:git's repoContentsUrl) can be registered"
        ));
    };
    (step.log)(format!("Registering {url} in the catalog"));
    let catalog = &step.services.catalog;
    let registered = match catalog.add_location("file", path, true) {
        Ok(preview) => match catalog.add_location("file", path, false) {
            Ok(_) | Err(LocationError::Conflict(_)) => Ok(preview.entities),
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    let mut output = Output::new();
    output.insert("catalogInfoUrl".into(), url.clone().into());
    match registered {
        Ok(entities) => {
            let main = entities
                .iter()
                .find(|e| e["kind"] != "Location")
                .or(entities.first());
            if let Some(entity) = main {
                output.insert("entityRef".into(), EntityRef::of(entity).to_string().into());
            }
            Ok(output)
        }
        Err(e) if step.flag("optional") => {
            (step.log)(format!("Optional registration failed: {e}"));
            Ok(output)
        }
        Err(e) => Err(format!("catalog:register {url}: {e}")),
    }
}
