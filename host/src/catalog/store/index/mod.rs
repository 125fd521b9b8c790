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

mod facets;
mod full_text;
mod order;
mod select;

use std::collections::{BTreeMap, HashMap};
use std::sync::{OnceLock, RwLock};

use foldhash::fast::RandomState;
use roaring::RoaringBitmap;

use super::super::query::{OrderField, SortKey};
use super::flatten::Flattened;
use super::graph::RelationGraph;
use super::postings::Postings;
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
/// Set on the key of an entity's row for an item its array at the key holds (its value is
/// the item): such rows sort after the key's own.
const HOLDS: Sym = 1 << 31;
/// A set holding fewer than one in this many of the entities it is drawn from (all of them
/// for ref order, a key's valued ones for field order) is paged by sorting it rather than by
/// walking everything in order looking for its members.
const SPARSE: u64 = 16;
/// A full-text term found in more values than one in this many of its fields' own is
/// searched for in those instead.
const FULL_TEXT_SHARE: usize = 4;
/// Keys holding more than one in this many of all values are searched by a pass over all
/// values in the order they are stored, rather than by looking up each of their own.
const SCAN_SHARE: usize = 8;

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
    /// The entities whose array at the key holds each string: what Backstage's
    /// `<key>.<item> = true` rows say (see [`KeyView`]).
    holds: Postings,
    /// Each valued entity with its least value, in ascending value order: worked out when the
    /// key is first ordered by, then followed entity by entity (see [`order`]).
    sorted: OnceLock<Vec<(Sym, Id)>>,
    /// Entities taken out of or put into `sorted` since it was worked out.
    followed: usize,
}

/// A key as filters, facets and ordering see it: its own rows, plus, when it reads
/// `<key>.<item>`, the entities whose array at `<key>` holds `<item>` (each with the value
/// `true` for it).
struct KeyView<'a> {
    key: Option<Sym>,
    field: Option<&'a Field>,
    holders: RoaringBitmap,
}

impl KeyView<'_> {
    fn present(&self) -> RoaringBitmap {
        self.field
            .map_or_else(RoaringBitmap::new, |f| f.present.clone())
            | &self.holders
    }

    fn valued(&self) -> RoaringBitmap {
        self.field
            .map_or_else(RoaringBitmap::new, |f| f.valued.clone())
            | &self.holders
    }
}

/// Which page of a selection: its order, the item it starts after (or before, walking
/// `backward`, then nearest first), how many to skip and how many to return.
pub struct Window<'a> {
    pub order: &'a [OrderField],
    pub boundary: Option<&'a [Option<String>]>,
    pub backward: bool,
    pub offset: usize,
    pub limit: usize,
}

/// One page of ids in the query's order, each with its sort values.
pub struct Page {
    pub rows: Vec<(Id, SortKey)>,
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
            let (key, field) = self.field_mut(key);
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
            let field = &mut self.fields[key as usize];
            field.valued.insert(id);
            field.postings.add(value, id);
            pairs.push((key, value));
        }
        for (key, item) in entity.items() {
            let item = self.values.intern(item);
            let (key, field) = self.field_mut(key);
            field.holds.add(item, id);
            pairs.push((key | HOLDS, item));
        }
        pairs.sort_unstable();
        pairs.dedup();
        self.follow_orders(id, pairs.iter().copied(), true);
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
        self.follow_orders(id, rows.iter(), false);
        for (key, value) in rows.iter() {
            if key & HOLDS != 0 {
                self.fields[(key & !HOLDS) as usize].holds.remove(value, id);
                continue;
            }
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

    fn field(&self, key: &str) -> Option<&Field> {
        self.keys.get(key).map(|k| &self.fields[k as usize])
    }

    fn field_mut(&mut self, key: &str) -> (Sym, &mut Field) {
        let key = self.keys.intern(key);
        if self.fields.len() <= key as usize {
            self.fields.resize_with(key as usize + 1, Field::default);
        }
        (key, &mut self.fields[key as usize])
    }

    /// The key as queries see it: its own field, and for `<key>.<item>`, the entities whose
    /// array at `<key>` (at any dot, as keys may hold dots) holds `<item>`.
    fn view(&self, key: &str) -> KeyView<'_> {
        let mut holders = RoaringBitmap::new();
        for (dot, _) in key.match_indices('.') {
            let held = self
                .field(&key[..dot])
                .zip(self.values.get(&key[dot + 1..]))
                .and_then(|(field, item)| field.holds.get(item));
            if let Some(posting) = held {
                posting.add_to(&mut holders);
            }
        }
        let key = self.keys.get(key);
        KeyView {
            key,
            field: key.map(|k| &self.fields[k as usize]),
            holders,
        }
    }

    /// The relations whose source is `entity_ref`, as (type, target), sorted.
    pub fn relations_from(&self, entity_ref: &str) -> Vec<(&str, &str)> {
        self.relations.of_source(entity_ref)
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    use serde_json::{Value, json};

    use super::super::super::query::Predicate;
    use super::super::read::Facet;

    pub fn flat(entity_ref: impl Into<String>, body: Value) -> Flattened {
        Flattened::new(entity_ref.into(), &body, &[])
    }

    pub fn ids(set: &RoaringBitmap) -> Vec<u32> {
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
        let select = |index: &Index, p: &Predicate| ids(&index.select(p, None));
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
    fn keys_naming_an_array_item_match_the_entities_that_hold_it() {
        let mut index = Index::default();
        index.insert(
            1,
            &flat(
                "component:default/a",
                json!({"metadata": {"tags": ["java", "Web"]}}),
            ),
        );
        index.insert(
            2,
            &flat(
                "component:default/b",
                json!({"metadata": {"tags": ["web"]}}),
            ),
        );
        // A dot in the key (as annotation keys have) and a real `true` value under the same key.
        index.insert(
            3,
            &flat(
                "component:default/c",
                json!({"spec": {"x.y": ["v.w"]}, "metadata": {"tags": {"java": "true"}}}),
            ),
        );
        let select = |index: &Index, p: Predicate| ids(&index.select(&p, None));
        let is = |key: &str, value: &str| Predicate::In(key.into(), vec![value.into()]);
        assert_eq!(
            select(&index, Predicate::Exists("metadata.tags.java".into())),
            [1, 3]
        );
        assert_eq!(select(&index, is("metadata.tags.web", "true")), [1, 2]);
        assert!(select(&index, is("metadata.tags.web", "false")).is_empty());
        assert_eq!(
            select(
                &index,
                Predicate::HasPrefix("metadata.tags.web".into(), "tr".into())
            ),
            [1, 2]
        );
        assert_eq!(
            select(&index, Predicate::Exists("spec.x.y.v.w".into())),
            [3]
        );
        assert!(select(&index, Predicate::Exists("metadata.tags.jav".into())).is_empty());
        assert_eq!(
            index.facet("metadata.tags.java", None),
            [Facet {
                value: "true".into(),
                count: 2
            }]
        );
        let by_tag = [OrderField {
            field: "metadata.tags.web".into(),
            descending: false,
        }];
        let all = index.all.clone();
        let window = Window {
            order: &by_tag,
            boundary: None,
            backward: false,
            offset: 0,
            limit: 10,
        };
        let page = index.page(&index.select(&Predicate::All(vec![]), None), &window);
        // The entity without the item comes last.
        assert_eq!(page.rows.iter().map(|r| r.0).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(
            page.rows[0].1,
            [Some("true".into()), Some("component:default/a".into())]
        );
        assert_eq!(
            page.rows[2].1,
            [None, Some("component:default/c".to_string())]
        );
        assert_eq!(ids(&all), [1, 2, 3]);
        index.insert(
            1,
            &flat("component:default/a", json!({"metadata": {"tags": []}})),
        );
        assert_eq!(
            select(&index, Predicate::Exists("metadata.tags.java".into())),
            [3]
        );
        assert_eq!(select(&index, is("metadata.tags.web", "true")), [2]);
        index.remove(2);
        assert!(select(&index, Predicate::Exists("metadata.tags.web".into())).is_empty());
    }
}
