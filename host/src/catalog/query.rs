//! Backstage's entity filters (`filter=kind=component,spec.type=service`) and query cursors.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

/// `key` alone tests that the field exists; `key=value` compares case-insensitively.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Condition {
    /// Lowercased dotted path, e.g. `spec.type` or `relations.ownedby`.
    pub key: String,
    /// Lowercased accepted values; `None` means "exists".
    pub values: Option<Vec<String>>,
}

/// An OR of filter sets, each an AND of conditions. Empty matches everything.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EntityFilter {
    pub any_of: Vec<Vec<Condition>>,
}

impl EntityFilter {
    /// Parses repeated `filter` query parameters. Within one parameter, a key given twice
    /// accepts either value (`kind=api,kind=component`).
    pub fn from_params(params: &[String]) -> Result<Self, String> {
        let mut any_of = Vec::new();
        for param in params.iter().filter(|p| !p.trim().is_empty()) {
            let mut all: Vec<Condition> = Vec::new();
            for part in param.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let (key, value) = match part.split_once('=') {
                    Some((key, value)) => (key.trim(), Some(value.trim().to_lowercase())),
                    None => (part, None),
                };
                if key.is_empty() {
                    return Err(format!("filter '{param}' has a condition with no key"));
                }
                let key = key.to_lowercase();
                match (all.iter_mut().find(|c| c.key == key), value) {
                    (
                        Some(Condition {
                            values: Some(values),
                            ..
                        }),
                        Some(value),
                    ) => values.push(value),
                    (Some(existing), None) => existing.values = None,
                    (Some(_), Some(_)) => {}
                    (None, value) => all.push(Condition {
                        key,
                        values: value.map(|v| vec![v]),
                    }),
                }
            }
            any_of.push(all);
        }
        Ok(Self { any_of })
    }

    /// One `key=value` condition per pair, all required; what the plugin catalog import takes.
    pub fn all_of(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        let all: Vec<Condition> = pairs
            .into_iter()
            .map(|(key, value)| Condition {
                key: key.to_lowercase(),
                values: Some(vec![value.to_lowercase()]),
            })
            .collect();
        Self {
            any_of: if all.is_empty() { vec![] } else { vec![all] },
        }
    }
}

/// Where a paged query stands. Opaque to clients: it carries the filter, so a follow-up
/// request needs only the cursor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    pub filter: EntityFilter,
    pub offset: u64,
}

impl Cursor {
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

    #[test]
    fn params_become_an_or_of_ands_with_repeated_keys_merged() {
        let f = EntityFilter::from_params(&[
            "Kind=Component,spec.type=service,kind=API".into(),
            "metadata.annotations.x".into(),
        ])
        .unwrap();
        assert_eq!(f.any_of.len(), 2);
        assert_eq!(
            f.any_of[0][0],
            Condition {
                key: "kind".into(),
                values: Some(vec!["component".into(), "api".into()])
            }
        );
        assert_eq!(
            f.any_of[0][1],
            Condition {
                key: "spec.type".into(),
                values: Some(vec!["service".into()])
            }
        );
        assert_eq!(
            f.any_of[1][0],
            Condition {
                key: "metadata.annotations.x".into(),
                values: None
            }
        );
        assert!(EntityFilter::from_params(&["=x".into()]).is_err());
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let c = Cursor {
            filter: EntityFilter::all_of([("kind".into(), "group".into())]),
            offset: 40,
        };
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        assert!(Cursor::decode("not-a-cursor").is_err());
    }
}
