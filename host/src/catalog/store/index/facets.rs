//! Facets: the values of a key among the selected entities, with their counts.

use roaring::RoaringBitmap;

use super::super::read::Facet;
use super::{Index, Sym};

impl Index {
    /// Counts of the key's values among `selected` (every entity when `None`), each value
    /// shown as first written; values differing only in case count together. For
    /// `relations.<type>`, counts of the relations' targets.
    pub fn facet(&self, key: &str, selected: Option<&RoaringBitmap>) -> Vec<Facet> {
        if let Some(relation) = key.strip_prefix("relations.") {
            return self.relations.facet(relation, selected);
        }
        let view = self.view(key);
        let truth = self.values.get("true");
        // Entities whose array holds the item the key names count as `true`, together with
        // those whose own value is `true`.
        let held_true = (!view.holders.is_empty()).then(|| {
            let mut set = view.holders.clone();
            if let Some(posting) = view
                .field
                .zip(truth)
                .and_then(|(field, truth)| field.postings.get(truth))
            {
                posting.add_to(&mut set);
            }
            set
        });
        let mut facets: Vec<Facet> = view
            .field
            .iter()
            .flat_map(|field| field.postings.iter())
            .filter(|(value, _)| held_true.is_none() || Some(*value) != truth)
            .filter_map(|(value, posting)| {
                let count = posting.count_in(selected);
                (count > 0).then(|| Facet {
                    value: self.as_written(value),
                    count,
                })
            })
            .collect();
        if let Some(set) = held_true {
            let count = selected.map_or(set.len(), |s| set.intersection_len(s));
            if count > 0 {
                facets.push(Facet {
                    value: truth.map_or_else(|| "true".into(), |t| self.as_written(t)),
                    count,
                });
            }
        }
        facets.sort_by(|a, b| a.value.cmp(&b.value));
        facets
    }

    /// A value as first written.
    fn as_written(&self, value: Sym) -> String {
        let original = self.originals.get(&value).copied().unwrap_or(value);
        self.values.name(original).to_string()
    }
}
