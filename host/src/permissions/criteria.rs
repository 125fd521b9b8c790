//! Conditions in Backstage's JSON shape: `{"allOf": [...]}`, `{"anyOf": [...]}`,
//! `{"not": {...}}` and `{"rule": NAME, "resourceType": TYPE, "params": {...}}`; the policy
//! writes `$currentUser` and `$ownerRefs` in parameters, bound to the caller per decision.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::model::{self, Param};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Criteria {
    AllOf {
        #[serde(rename = "allOf")]
        all_of: Vec<Criteria>,
    },
    AnyOf {
        #[serde(rename = "anyOf")]
        any_of: Vec<Criteria>,
    },
    Not {
        not: Box<Criteria>,
    },
    Rule(RuleCall),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleCall {
    pub rule: String,
    /// Filled from the grant's resource type when the policy leaves it out.
    #[serde(default)]
    pub resource_type: String,
    #[serde(default)]
    pub params: Map<String, Value>,
}

impl Criteria {
    /// Checks every rule against the rules of `resource_type` and their parameters, and
    /// fills in the resource type; the error names the rule and parameter.
    pub fn check(&mut self, resource_type: &str) -> Result<(), String> {
        match self {
            Criteria::AllOf { all_of: items } | Criteria::AnyOf { any_of: items } => {
                if items.is_empty() {
                    return Err("allOf and anyOf need at least one condition".into());
                }
                items.iter_mut().try_for_each(|c| c.check(resource_type))
            }
            Criteria::Not { not } => not.check(resource_type),
            Criteria::Rule(call) => {
                if call.resource_type.is_empty() {
                    call.resource_type = resource_type.to_string();
                }
                if call.resource_type != resource_type {
                    return Err(format!(
                        "rule {} is for {}, but this grant is about {resource_type}",
                        call.rule, call.resource_type
                    ));
                }
                let Some(rule) = model::rule(resource_type, &call.rule) else {
                    let known: Vec<&str> = model::rules()
                        .filter(|r| r.resource_type == resource_type)
                        .map(|r| r.name)
                        .collect();
                    return Err(format!(
                        "'{}' is not a rule of {resource_type} (its rules: {})",
                        call.rule,
                        if known.is_empty() {
                            "none".into()
                        } else {
                            known.join(", ")
                        }
                    ));
                };
                for key in call.params.keys() {
                    if !rule.params.iter().any(|(name, _)| name == key) {
                        return Err(format!("rule {}: no parameter '{key}'", rule.name));
                    }
                }
                for (name, kind) in rule.params {
                    let value = call.params.get(*name);
                    let fits = match (kind, value) {
                        (Param::OptionalString, None) => true,
                        (Param::String | Param::OptionalString, Some(Value::String(_))) => true,
                        (Param::Strings, Some(Value::String(s))) => s == OWNER_REFS,
                        (Param::Strings, Some(Value::Array(items))) => {
                            items.iter().all(Value::is_string)
                        }
                        _ => false,
                    };
                    if !fits {
                        let wanted = match kind {
                            Param::Strings => "a list of strings (or $ownerRefs)",
                            _ => "a string",
                        };
                        return Err(format!(
                            "rule {}: parameter '{name}' must be {wanted}",
                            rule.name
                        ));
                    }
                }
                Ok(())
            }
        }
    }

    /// The criteria with `$currentUser` and `$ownerRefs` replaced by the caller's.
    pub fn bind(&self, user: &str, owner_refs: &[String]) -> Criteria {
        match self {
            Criteria::AllOf { all_of } => Criteria::AllOf {
                all_of: all_of.iter().map(|c| c.bind(user, owner_refs)).collect(),
            },
            Criteria::AnyOf { any_of } => Criteria::AnyOf {
                any_of: any_of.iter().map(|c| c.bind(user, owner_refs)).collect(),
            },
            Criteria::Not { not } => Criteria::Not {
                not: Box::new(not.bind(user, owner_refs)),
            },
            Criteria::Rule(call) => {
                let bound = |value: &Value| -> Vec<Value> {
                    match value.as_str() {
                        Some(CURRENT_USER) => vec![Value::String(user.to_string())],
                        Some(OWNER_REFS) => owner_refs.iter().cloned().map(Value::String).collect(),
                        _ => vec![value.clone()],
                    }
                };
                let params = call
                    .params
                    .iter()
                    .map(|(key, value)| {
                        let value = match value {
                            Value::Array(items) => {
                                Value::Array(items.iter().flat_map(bound).collect())
                            }
                            Value::String(s) if s == OWNER_REFS => Value::Array(bound(value)),
                            other => bound(other).into_iter().next().unwrap_or(Value::Null),
                        };
                        (key.clone(), value)
                    })
                    .collect();
                Criteria::Rule(RuleCall {
                    rule: call.rule.clone(),
                    resource_type: call.resource_type.clone(),
                    params,
                })
            }
        }
    }

    /// Whether the criteria hold, `rule` answering for each rule (capabilities whose
    /// resources are few enough to test one by one use this; the catalog compiles criteria
    /// into its index instead).
    pub fn holds(&self, rule: &mut dyn FnMut(&RuleCall) -> bool) -> bool {
        match self {
            Criteria::AllOf { all_of } => all_of.iter().all(|c| c.holds(rule)),
            Criteria::AnyOf { any_of } => any_of.iter().any(|c| c.holds(rule)),
            Criteria::Not { not } => !not.holds(rule),
            Criteria::Rule(call) => rule(call),
        }
    }

    /// One line for people: `IS_ENTITY_OWNER(claims: [...])`, `not(...)`, `anyOf(...)`.
    pub fn describe(&self) -> String {
        let list = |items: &[Criteria]| {
            items
                .iter()
                .map(Criteria::describe)
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            Criteria::AllOf { all_of } => format!("allOf({})", list(all_of)),
            Criteria::AnyOf { any_of } => format!("anyOf({})", list(any_of)),
            Criteria::Not { not } => format!("not({})", not.describe()),
            Criteria::Rule(call) => {
                let params: Vec<String> = call
                    .params
                    .iter()
                    .map(|(k, v)| format!("{k}: {v}"))
                    .collect();
                format!("{}({})", call.rule, params.join(", "))
            }
        }
    }
}

pub const CURRENT_USER: &str = "$currentUser";
pub const OWNER_REFS: &str = "$ownerRefs";
