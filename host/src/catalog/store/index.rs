//! The in-memory field index: every entity's flattened fields ([`super::flatten`]) as sets of
//! entity ids per key and value, so that a filter, its count, a page in ref order and facet
//! counts are bitmap operations rather than joins over millions of SQLite rows (a filtered
//! page over 100k entities took 130 ms that way; written rows dominated ingestion).
//!
//! SQLite stays the record: the index is built from the `entities` table when the store opens
//! and updated from it after each committed write. Strings are interned once; an entity keeps
//! its rows as id pairs, so it can be taken out again and sorted by any field.
//! The relations the entities imply live here too ([`super::graph`]), so `relations.<type>`
//! tests combine with field tests as bitmaps.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::RwLock;

use foldhash::fast::RandomState;
use roaring::RoaringBitmap;

use super::super::query::{FullText, OrderField, Predicate};
use super::flatten::Flattened;
use super::graph::{RelationGraph, TargetTest};
use super::postings::Postings;
use super::read::Facet;
use super::rows::Rows;
use super::strings::{Strings, Sym};

/// Hash maps keyed by the index's own symbols and strings, where SipHash's DoS resistance buys
/// nothing and costs a third of the build time.
pub(super) type FastMap<K, V> = HashMap<K, V, RandomState>;

/// Fields a full-text term searches when the query names none.
pub const DEFAULT_FULL_TEXT_FIELDS: &[&str] = &[
    "metadata.name",
    "metadata.title",
    "metadata.description",
    "spec.profile.displayname",
];

/// The id of a row in the `entities` table.
pub type Id = u32;
/// The value of a row that only says its key exists (an object, an array or a null).
const NO_VALUE: Sym = Sym::MAX;
/// A selection holding fewer than one entity in this many is paged by sorting its refs
/// rather than by walking all refs in order looking for it.
const SPARSE: u64 = 16;

#[derive(Default)]
pub struct SearchIndex {
    inner: RwLock<Index>,
}

impl SearchIndex {
    pub fn read<T>(&self, f: impl FnOnce(&Index) -> T) -> T {
        f(&self.inner.read().expect("search index poisoned"))
    }

    pub fn write<T>(&self, f: impl FnOnce(&mut Index) -> T) -> T {
        f(&mut self.inner.write().expect("search index poisoned"))
    }
}

#[derive(Default)]
pub struct Index {
    keys: Strings,
    values: Strings,
    /// A value as first written, where it differs from its lowercased form (facets show it),
    /// kept with the values.
    originals: FastMap<Sym, Sym>,
    /// By key symbol.
    fields: Vec<Field>,
    /// Each entity's rows, to take it out again or sort by a field (its ref is the graph's).
    entities: FastMap<Id, Rows>,
    by_ref: BTreeMap<Box<str>, Id>,
    all: RoaringBitmap,
    relations: RelationGraph,
}

#[derive(Default)]
struct Field {
    /// Entities with any row for the key.
    present: RoaringBitmap,
    /// Entities with a value for the key (what ordering by it needs).
    valued: RoaringBitmap,
    postings: Postings,
}

/// Which page of a selection: its order, the item it starts after (or before, walking
/// `backward`, then nearest first), how many to skip and how many to return.
pub struct Window<'a> {
    pub order: &'a [OrderField],
    pub boundary: Option<&'a [String]>,
    pub backward: bool,
    pub offset: usize,
    pub limit: usize,
}

/// One page of ids in the query's order, each with its sort values (order fields, then ref).
pub struct Page {
    pub rows: Vec<(Id, Vec<String>)>,
    /// Whether more items follow the page in the direction walked.
    pub more: bool,
}

impl Index {
    /// Puts an entity's rows and relations in place of whatever it had.
    pub fn insert(&mut self, id: Id, entity: &Flattened) {
        self.remove(id);
        self.relations
            .insert(id, &entity.entity_ref, entity.relations());
        let mut pairs = Vec::new();
        for (key, value) in entity.rows() {
            let key = self.keys.intern(key);
            if self.fields.len() <= key as usize {
                self.fields.resize_with(key as usize + 1, Field::default);
            }
            let field = &mut self.fields[key as usize];
            field.present.insert(id);
            let Some((lower, original)) = value else {
                pairs.push((key, NO_VALUE));
                continue;
            };
            let value = self.values.intern(lower);
            if let Some(original) = original
                && !self.originals.contains_key(&value)
            {
                let original = self.values.intern(original);
                self.originals.insert(value, original);
            }
            field.valued.insert(id);
            field.postings.add(value, id);
            pairs.push((key, value));
        }
        pairs.sort_unstable();
        pairs.dedup();
        self.by_ref.insert(entity.entity_ref.as_str().into(), id);
        self.all.insert(id);
        self.entities.insert(id, Rows::pack(&pairs));
    }

    pub fn remove(&mut self, id: Id) {
        if let Some(entity_ref) = self.relations.ref_of(id) {
            self.by_ref.remove(entity_ref);
        }
        self.relations.remove(id);
        let Some(rows) = self.entities.remove(&id) else {
            return;
        };
        self.all.remove(id);
        for (key, value) in rows.iter() {
            let field = &mut self.fields[key as usize];
            field.present.remove(id);
            if value == NO_VALUE {
                continue;
            }
            field.valued.remove(id);
            field.postings.remove(value, id);
        }
    }

    pub fn id_of(&self, entity_ref: &str) -> Option<Id> {
        self.by_ref.get(entity_ref).copied()
    }

    /// The entities the predicate, the full-text term and the order fields (an entity needs a
    /// value for each) select.
    pub fn select(
        &self,
        predicate: &Predicate,
        full_text: Option<&FullText>,
        order: &[OrderField],
    ) -> RoaringBitmap {
        let mut selected = self.evaluate(predicate);
        for o in order {
            selected &= self
                .field(&o.field)
                .map_or(&RoaringBitmap::new(), |f| &f.valued);
        }
        if let Some(full_text) = full_text {
            selected &= self.full_text(full_text);
        }
        selected
    }

    fn evaluate(&self, predicate: &Predicate) -> RoaringBitmap {
        match predicate {
            Predicate::All(items) => {
                let mut set = self.all.clone();
                for item in items {
                    set &= self.evaluate(item);
                }
                set
            }
            Predicate::Any(items) => {
                let mut set = RoaringBitmap::new();
                for item in items {
                    set |= self.evaluate(item);
                }
                set
            }
            Predicate::Not(inner) => &self.all - self.evaluate(inner),
            Predicate::Exists(key) | Predicate::In(key, _) | Predicate::HasPrefix(key, _) => {
                match key.strip_prefix("relations.") {
                    Some(relation) => {
                        let test = match predicate {
                            Predicate::In(_, values) => TargetTest::In(values),
                            Predicate::HasPrefix(_, prefix) => TargetTest::HasPrefix(prefix),
                            _ => TargetTest::Any,
                        };
                        self.relations.sources(relation, &test)
                    }
                    None => self.field_test(key, predicate),
                }
            }
        }
    }

    fn field_test(&self, key: &str, predicate: &Predicate) -> RoaringBitmap {
        let Some(field) = self.field(key) else {
            return RoaringBitmap::new();
        };
        let mut set = RoaringBitmap::new();
        match predicate {
            Predicate::In(_, values) => {
                for value in values {
                    if let Some(posting) =
                        self.values.get(value).and_then(|v| field.postings.get(v))
                    {
                        posting.add_to(&mut set);
                    }
                }
            }
            Predicate::HasPrefix(_, prefix) => {
                self.values_where(field, |v| v.starts_with(prefix.as_str()), &mut set)
            }
            _ => set = field.present.clone(),
        }
        set
    }

    /// A case-insensitive substring of any of the fields.
    fn full_text(&self, full_text: &FullText) -> RoaringBitmap {
        let term = full_text.term.to_lowercase();
        let mut set = RoaringBitmap::new();
        let mut search = |key: &str| {
            if let Some(field) = self.field(key) {
                self.values_where(field, |v| v.contains(term.as_str()), &mut set);
            }
        };
        if full_text.fields.is_empty() {
            DEFAULT_FULL_TEXT_FIELDS.iter().for_each(|k| search(k));
        } else {
            full_text.fields.iter().for_each(|k| search(k));
        }
        set
    }

    fn values_where(&self, field: &Field, test: impl Fn(&str) -> bool, set: &mut RoaringBitmap) {
        for (value, posting) in field.postings.iter() {
            if test(self.values.name(value)) {
                posting.add_to(set);
            }
        }
    }

    fn field(&self, key: &str) -> Option<&Field> {
        self.keys.get(key).map(|k| &self.fields[k as usize])
    }

    /// The window's selected entities, and whether more follow. Without order fields a dense
    /// selection walks the refs in order from the boundary, so a page costs about what it
    /// returns; a sparse one is sorted.
    pub fn page(&self, selected: &RoaringBitmap, window: &Window) -> Page {
        let sparse = selected.len() * SPARSE < self.all.len();
        let mut rows: Vec<(Id, Vec<String>)> = if window.order.is_empty() && !sparse {
            let after = window.boundary.and_then(|b| b.last()).map(String::as_str);
            let range: Box<dyn Iterator<Item = (&Box<str>, &Id)>> = match (after, window.backward) {
                (None, false) => Box::new(self.by_ref.iter()),
                (None, true) => Box::new(self.by_ref.iter().rev()),
                (Some(b), false) => Box::new(
                    self.by_ref
                        .range::<str, _>((Bound::Excluded(b), Bound::Unbounded)),
                ),
                (Some(b), true) => Box::new(
                    self.by_ref
                        .range::<str, _>((Bound::Unbounded, Bound::Excluded(b)))
                        .rev(),
                ),
            };
            range
                .filter(|(_, id)| selected.contains(**id))
                .skip(window.offset)
                .take(window.limit + 1)
                .map(|(r, id)| (*id, vec![r.to_string()]))
                .collect()
        } else {
            self.sorted_page(selected, window)
        };
        let more = rows.len() > window.limit;
        rows.truncate(window.limit);
        Page { rows, more }
    }

    /// A page in order-field order: every selected entity's sort values, sorted.
    fn sorted_page(&self, selected: &RoaringBitmap, window: &Window) -> Vec<(Id, Vec<String>)> {
        let Window {
            order,
            boundary,
            backward,
            offset,
            limit,
        } = *window;
        let keys: Vec<Option<Sym>> = order.iter().map(|o| self.keys.get(&o.field)).collect();
        let mut items: Vec<(Vec<&str>, Id)> = selected
            .iter()
            .filter_map(|id| {
                let rows = self.entities.get(&id)?;
                let mut values: Vec<&str> = keys
                    .iter()
                    .map(|key| self.min_value(rows, (*key)?))
                    .collect::<Option<_>>()?;
                values.push(self.relations.ref_of(id)?);
                Some((values, id))
            })
            .collect();
        let compare = |a: &[&str], b: &[&str]| {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                let ordering = x.cmp(y);
                let ordering = match order.get(i) {
                    Some(o) if o.descending => ordering.reverse(),
                    _ => ordering,
                };
                if ordering.is_ne() {
                    return ordering;
                }
            }
            std::cmp::Ordering::Equal
        };
        items.sort_unstable_by(|a, b| compare(&a.0, &b.0));
        let bound: Option<Vec<&str>> = boundary.map(|b| b.iter().map(String::as_str).collect());
        let take =
            |(values, id): &(Vec<&str>, Id)| (*id, values.iter().map(|v| v.to_string()).collect());
        if backward {
            let end = bound.map_or(items.len(), |b| {
                items.partition_point(|(v, _)| compare(v, &b).is_lt())
            });
            items[..end]
                .iter()
                .rev()
                .skip(offset)
                .take(limit + 1)
                .map(take)
                .collect()
        } else {
            let start = bound.map_or(0, |b| {
                items.partition_point(|(v, _)| compare(v, &b).is_le())
            });
            items[start..]
                .iter()
                .skip(offset)
                .take(limit + 1)
                .map(take)
                .collect()
        }
    }

    /// An entity's least value for a key (its sort value, as Backstage sorts).
    fn min_value(&self, rows: &Rows, key: Sym) -> Option<&str> {
        rows.iter()
            .skip_while(|(k, _)| *k < key)
            .take_while(|(k, _)| *k == key)
            .filter(|(_, v)| *v != NO_VALUE)
            .map(|(_, v)| self.values.name(v))
            .min()
    }

    /// The relations whose source is `entity_ref`, as (type, target), sorted.
    pub fn relations_from(&self, entity_ref: &str) -> Vec<(&str, &str)> {
        self.relations.of_source(entity_ref)
    }

    /// Counts of the key's values among `selected` (every entity when `None`), each value
    /// shown as first written; values differing only in case count together. For
    /// `relations.<type>`, counts of the relations' targets.
    pub fn facet(&self, key: &str, selected: Option<&RoaringBitmap>) -> Vec<Facet> {
        if let Some(relation) = key.strip_prefix("relations.") {
            return self.relations.facet(relation, selected);
        }
        let Some(field) = self.field(key) else {
            return Vec::new();
        };
        let mut facets: Vec<Facet> = field
            .postings
            .iter()
            .filter_map(|(value, posting)| {
                let count = posting.count_in(selected);
                (count > 0).then(|| Facet {
                    value: self
                        .values
                        .name(self.originals.get(&value).copied().unwrap_or(value))
                        .to_string(),
                    count,
                })
            })
            .collect();
        facets.sort_by(|a, b| a.value.cmp(&b.value));
        facets
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use serde_json::{Value, json};

    fn flat(entity_ref: impl Into<String>, body: Value) -> Flattened {
        Flattened::new(entity_ref.into(), &body, &[])
    }

    fn ids(set: &RoaringBitmap) -> Vec<u32> {
        set.iter().collect()
    }

    #[test]
    fn postings_follow_replacement_and_removal() {
        let mut index = Index::default();
        index.insert(
            1,
            &flat(
                "component:default/a",
                json!({"kind": "Component", "spec": {}}),
            ),
        );
        index.insert(
            2,
            &flat("component:default/b", json!({"kind": "component"})),
        );
        index.insert(3, &flat("api:default/c", json!({"kind": "API"})));
        let kind = |values: &[&str]| {
            Predicate::In(
                "kind".into(),
                values.iter().map(|v| v.to_string()).collect(),
            )
        };
        let select = |index: &Index, p: &Predicate| ids(&index.select(p, None, &[]));
        assert_eq!(select(&index, &kind(&["component"])), [1, 2]);
        assert_eq!(select(&index, &Predicate::Exists("spec".into())), [1]);
        assert_eq!(
            select(&index, &Predicate::Not(Box::new(kind(&["component"])))),
            [3]
        );
        index.insert(2, &flat("api:default/b", json!({"kind": "API"})));
        assert_eq!(select(&index, &kind(&["component"])), [1]);
        assert_eq!(select(&index, &kind(&["api"])), [2, 3]);
        index.remove(3);
        assert_eq!(select(&index, &kind(&["api"])), [2]);
        assert_eq!(index.id_of("api:default/c"), None);
        let facets = index.facet("kind", None);
        assert_eq!(
            facets,
            vec![
                Facet {
                    value: "API".into(),
                    count: 1
                },
                Facet {
                    value: "Component".into(),
                    count: 1
                }
            ]
        );
    }

    #[test]
    fn pages_walk_ref_order_or_sort_values_both_ways() {
        let mut index = Index::default();
        for (id, name, owner) in [(1, "d", "x"), (2, "a", "z"), (3, "c", "y"), (4, "b", "y")] {
            index.insert(
                id,
                &flat(
                    format!("component:default/{name}"),
                    json!({"spec": {"owner": owner}}),
                ),
            );
        }
        let all = index.all.clone();
        let refs = |page: &Page| -> Vec<String> {
            page.rows
                .iter()
                .map(|(_, key)| key.last().unwrap().clone())
                .collect()
        };
        let window = |order, boundary, backward, limit| Window {
            order,
            boundary,
            backward,
            offset: 0,
            limit,
        };
        let first = index.page(&all, &window(&[], None, false, 2));
        assert_eq!(refs(&first), ["component:default/a", "component:default/b"]);
        assert!(first.more);
        let boundary = first.rows[1].1.clone();
        let second = index.page(&all, &window(&[], Some(&boundary), false, 2));
        assert_eq!(
            refs(&second),
            ["component:default/c", "component:default/d"]
        );
        assert!(!second.more);
        let back = index.page(&all, &window(&[], Some(&second.rows[0].1), true, 2));
        assert_eq!(refs(&back), ["component:default/b", "component:default/a"]);
        let by_owner = [OrderField {
            field: "spec.owner".into(),
            descending: true,
        }];
        let sorted = index.page(&all, &window(&by_owner, None, false, 3));
        assert_eq!(
            refs(&sorted),
            [
                "component:default/a",
                "component:default/b",
                "component:default/c"
            ]
        );
        let rest = index.page(&all, &window(&by_owner, Some(&sorted.rows[2].1), false, 3));
        assert_eq!(refs(&rest), ["component:default/d"]);
        let before = index.page(&all, &window(&by_owner, Some(&rest.rows[0].1), true, 1));
        assert_eq!(refs(&before), ["component:default/c"]);
        assert!(before.more);
    }
}
