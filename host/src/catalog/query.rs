//! What a catalog query asks for: a predicate over entity fields (from Backstage's `filter`
//! parameters or its JSON predicate form), an order, a full-text term, and keyset cursors.
//! The store turns these into SQL.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A test on one field. Keys are lowercased dotted paths (`spec.type`, `metadata.tags`,
/// `relations.ownedby`); values are compared lowercased. Arrays match when any element does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Predicate {
    All(Vec<Predicate>),
    Any(Vec<Predicate>),
    Not(Box<Predicate>),
    Exists(String),
    In(String, Vec<String>),
    HasPrefix(String, String),
}

impl Predicate {
    /// Matches every entity.
    pub fn everything() -> Self {
        Predicate::All(Vec::new())
    }

    /// Matches no entity.
    pub fn nothing() -> Self {
        Predicate::Any(Vec::new())
    }

    /// Backstage's `filter` query parameters: repeated parameters are ORed, the `key=value`
    /// conditions inside one are ANDed, a key given twice in one accepts either value, and a
    /// key alone tests that the field exists.
    pub fn from_filter_params(params: &[String]) -> Result<Self, String> {
        let mut any_of = Vec::new();
        for param in params.iter().filter(|p| !p.trim().is_empty()) {
            let mut all: Vec<Predicate> = Vec::new();
            for part in param.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let (key, value) = match part.split_once('=') {
                    Some((key, value)) => (key.trim(), Some(value.trim().to_lowercase())),
                    None => (part, None),
                };
                if key.is_empty() {
                    return Err(format!("filter '{param}' has a condition with no key"));
                }
                let key = key.to_lowercase();
                let same_key = all.iter_mut().find(|p| match p {
                    Predicate::Exists(k) | Predicate::In(k, _) => *k == key,
                    _ => false,
                });
                match (same_key, value) {
                    (Some(Predicate::In(_, values)), Some(value)) => values.push(value),
                    (Some(existing), None) => *existing = Predicate::Exists(key),
                    (Some(_), Some(_)) => {}
                    (None, Some(value)) => all.push(Predicate::In(key, vec![value])),
                    (None, None) => all.push(Predicate::Exists(key)),
                }
            }
            any_of.push(Predicate::All(all));
        }
        Ok(match any_of.len() {
            0 => Predicate::everything(),
            1 => any_of.pop().expect("one element"),
            _ => Predicate::Any(any_of),
        })
    }

    /// One `key=value` condition per pair, all required; what the plugin catalog import takes.
    pub fn all_equal(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        Predicate::All(
            pairs
                .into_iter()
                .map(|(key, value)| Predicate::In(key.to_lowercase(), vec![value.to_lowercase()]))
                .collect(),
        )
    }

    /// Backstage's JSON predicate form: `{"kind": "component", "spec.type": {"$in": [...]},
    /// "$any": [...], "$not": {...}}`. Keys of one object are ANDed.
    pub fn from_json(value: &Value) -> Result<Self, String> {
        let Value::Object(map) = value else {
            return Err(format!("a query must be an object, not {value}"));
        };
        let mut all = Vec::new();
        for (key, operand) in map {
            all.push(match key.as_str() {
                "$all" | "$any" => {
                    let items = operand
                        .as_array()
                        .ok_or_else(|| format!("{key} takes a list of queries"))?
                        .iter()
                        .map(Self::from_json)
                        .collect::<Result<Vec<_>, _>>()?;
                    if key == "$all" {
                        Predicate::All(items)
                    } else {
                        Predicate::Any(items)
                    }
                }
                "$not" => Predicate::Not(Box::new(Self::from_json(operand)?)),
                op if op.starts_with('$') => return Err(format!("unknown operator {op}")),
                field => field_predicate(&field.to_lowercase(), operand)?,
            });
        }
        Ok(if all.len() == 1 {
            all.pop().expect("one element")
        } else {
            Predicate::All(all)
        })
    }
}

/// The test on one field in the JSON form: a plain value means equality.
fn field_predicate(key: &str, operand: &Value) -> Result<Predicate, String> {
    let scalar = |v: &Value| -> Result<String, String> {
        match v {
            Value::String(s) => Ok(s.to_lowercase()),
            Value::Number(_) | Value::Bool(_) => Ok(v.to_string()),
            other => Err(format!("'{key}' cannot be compared with {other}")),
        }
    };
    let Value::Object(ops) = operand else {
        return Ok(Predicate::In(key.into(), vec![scalar(operand)?]));
    };
    let mut all = Vec::new();
    for (op, arg) in ops {
        all.push(match op.as_str() {
            "$exists" => match arg {
                Value::Bool(true) => Predicate::Exists(key.into()),
                Value::Bool(false) => Predicate::Not(Box::new(Predicate::Exists(key.into()))),
                _ => return Err(format!("'{key}': $exists takes true or false")),
            },
            "$in" => Predicate::In(
                key.into(),
                arg.as_array()
                    .ok_or_else(|| format!("'{key}': $in takes a list"))?
                    .iter()
                    .map(scalar)
                    .collect::<Result<_, _>>()?,
            ),
            "$contains" => Predicate::In(key.into(), vec![scalar(arg)?]),
            "$hasPrefix" => match arg {
                Value::String(prefix) => Predicate::HasPrefix(key.into(), prefix.to_lowercase()),
                _ => return Err(format!("'{key}': $hasPrefix takes a string")),
            },
            other => return Err(format!("'{key}': unknown operator {other}")),
        });
    }
    Ok(if all.len() == 1 {
        all.pop().expect("one element")
    } else {
        Predicate::All(all)
    })
}

/// One `orderField`: a dotted field and its direction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderField {
    pub field: String,
    pub descending: bool,
}

impl OrderField {
    /// `metadata.name,asc` or `metadata.name,desc` (direction defaults to ascending).
    pub fn parse(text: &str) -> Result<Self, String> {
        let (field, direction) = text.split_once(',').unwrap_or((text, "asc"));
        let descending = match direction.trim().to_lowercase().as_str() {
            "asc" => false,
            "desc" => true,
            other => return Err(format!("orderField '{text}': unknown order '{other}'")),
        };
        let field = field.trim().to_lowercase();
        if field.is_empty() {
            return Err(format!("orderField '{text}' names no field"));
        }
        Ok(Self { field, descending })
    }
}

/// A case-insensitive substring search over some fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FullText {
    pub term: String,
    /// Lowercased fields to search; empty means the default set.
    pub fields: Vec<String>,
}

/// Everything that selects and orders entities; a cursor carries it so later pages need only
/// the cursor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntityQuery {
    pub predicate: Predicate,
    pub order: Vec<OrderField>,
    pub full_text: Option<FullText>,
}

impl Default for EntityQuery {
    fn default() -> Self {
        Self {
            predicate: Predicate::everything(),
            order: Vec::new(),
            full_text: None,
        }
    }
}

/// An item's place in a query's order: its value for each order field (`None` when it has
/// none: such items come after every valued one, whichever the direction, as in Backstage),
/// then its ref.
pub type SortKey = Vec<Option<String>>;

/// A position in a query's order: the sort values of the last item seen (keyset paging), so
/// pages stay consistent when entities are added or removed meanwhile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    pub query: EntityQuery,
    /// The boundary item's sort values; `None` starts at the beginning.
    pub boundary: Option<SortKey>,
    /// Walks backwards from the boundary (a `prevCursor`).
    pub backward: bool,
}

impl Cursor {
    pub fn first(query: EntityQuery) -> Self {
        Self {
            query,
            boundary: None,
            backward: false,
        }
    }

    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).expect("cursors serialize"))
    }

    pub fn decode(text: &str) -> Result<Self, String> {
        URL_SAFE_NO_PAD
            .decode(text)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or_else(|| format!("malformed cursor '{text}'"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn is_in(key: &str, values: &[&str]) -> Predicate {
        Predicate::In(key.into(), values.iter().map(|v| v.to_string()).collect())
    }

    #[test]
    fn params_become_an_or_of_ands_with_repeated_keys_merged() {
        let p = Predicate::from_filter_params(&[
            "Kind=Component,spec.type=service,kind=API".into(),
            "metadata.annotations.x".into(),
        ])
        .unwrap();
        assert_eq!(
            p,
            Predicate::Any(vec![
                Predicate::All(vec![
                    is_in("kind", &["component", "api"]),
                    is_in("spec.type", &["service"])
                ]),
                Predicate::All(vec![Predicate::Exists("metadata.annotations.x".into())]),
            ])
        );
        assert!(Predicate::from_filter_params(&["=x".into()]).is_err());
        assert_eq!(
            Predicate::from_filter_params(&[]).unwrap(),
            Predicate::everything()
        );
    }

    #[test]
    fn the_json_form_maps_every_operator() {
        let p = Predicate::from_json(&json!({"$any": [
            {"kind": "Component", "spec.type": {"$in": ["Service", "website"]}},
            {"$not": {"metadata.tags": {"$contains": "Java"}}},
            {"metadata.name": {"$hasPrefix": "Pay"}, "spec.owner": {"$exists": false}}
        ]}))
        .unwrap();
        assert_eq!(
            p,
            Predicate::Any(vec![
                Predicate::All(vec![
                    is_in("kind", &["component"]),
                    is_in("spec.type", &["service", "website"])
                ]),
                Predicate::Not(Box::new(is_in("metadata.tags", &["java"]))),
                Predicate::All(vec![
                    Predicate::HasPrefix("metadata.name".into(), "pay".into()),
                    Predicate::Not(Box::new(Predicate::Exists("spec.owner".into())))
                ]),
            ])
        );
        for bad in [
            json!([1]),
            json!({"$nope": []}),
            json!({"kind": {"$in": "x"}}),
            json!({"kind": {"$regex": "x"}}),
            json!({"$all": {}}),
        ] {
            assert!(Predicate::from_json(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn order_fields_parse_and_cursors_round_trip() {
        assert_eq!(
            OrderField::parse("metadata.Name,desc").unwrap(),
            OrderField {
                field: "metadata.name".into(),
                descending: true
            }
        );
        assert!(OrderField::parse("kind,sideways").is_err());
        let c = Cursor {
            query: EntityQuery::default(),
            boundary: Some(vec![None, Some("component:default/a".into())]),
            backward: true,
        };
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        assert!(Cursor::decode("not-a-cursor").is_err());
    }
}
