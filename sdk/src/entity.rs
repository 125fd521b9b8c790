//! Reading entities: annotations, relations, and `spec` parsed into typed structs.
//!
//! The spec structs follow Backstage's kinds; fields a plugin does not know stay readable
//! through [`Entity::spec`](crate::types::Entity::spec) into a type of its own.

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::types::Entity;

impl Entity {
    /// The value of an annotation, if the entity has it.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Target refs of this entity's relations of one type (`ownedBy`, `hasMember`, ...).
    pub fn related(&self, relation_type: &str) -> impl Iterator<Item = &str> {
        self.relations
            .iter()
            .filter(move |r| r.type_ == relation_type)
            .map(|r| r.target_ref.as_str())
    }

    /// The title if set, else the name.
    pub fn display_name(&self) -> &str {
        self.title.as_deref().unwrap_or(&self.name)
    }

    /// `spec` parsed into `T`: one of this module's structs, or a plugin's own.
    pub fn spec<T: DeserializeOwned>(&self) -> Result<T, String> {
        serde_json::from_str(&self.spec_json)
            .map_err(|e| format!("{}: spec does not parse: {e}", self.entity_ref))
    }

    /// The path of this entity's page in the portal.
    pub fn portal_path(&self) -> String {
        portal_path(&self.entity_ref)
    }
}

pub use greenroom_api::entity::page_path as portal_path;

/// `spec` of a Component.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComponentSpec {
    #[serde(rename = "type")]
    pub type_: String,
    pub lifecycle: String,
    pub owner: String,
    pub system: Option<String>,
    pub subcomponent_of: Option<String>,
    #[serde(default)]
    pub provides_apis: Vec<String>,
    #[serde(default)]
    pub consumes_apis: Vec<String>,
    #[serde(default)]
    pub depends_on: Vec<String>,
}

/// `spec` of an API. `definition` is the text after `$text`/`$json`/`$yaml` substitution.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiSpec {
    #[serde(rename = "type")]
    pub type_: String,
    pub lifecycle: String,
    pub owner: String,
    pub system: Option<String>,
    pub definition: String,
}

/// `spec` of a Resource.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceSpec {
    #[serde(rename = "type")]
    pub type_: String,
    pub owner: String,
    pub system: Option<String>,
    #[serde(default)]
    pub depends_on: Vec<String>,
}

/// `spec` of a System.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SystemSpec {
    pub owner: String,
    pub domain: Option<String>,
}

/// `spec` of a Group.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupSpec {
    #[serde(rename = "type")]
    pub type_: String,
    pub parent: Option<String>,
    #[serde(default)]
    pub children: Vec<String>,
    #[serde(default)]
    pub members: Vec<String>,
}

/// `spec` of a User.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserSpec {
    #[serde(default)]
    pub member_of: Vec<String>,
}
