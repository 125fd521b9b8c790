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

mod order;

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::{OnceLock, RwLock};

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
            selected &= self.view(&o.field).valued();
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
        let view = self.view(key);
        let mut set = RoaringBitmap::new();
        match predicate {
            Predicate::In(_, values) => {
                for value in values {
                    if let Some(posting) = view
                        .field
                        .zip(self.values.get(value))
                        .and_then(|(field, v)| field.postings.get(v))
                    {
                        posting.add_to(&mut set);
                    }
                }
                if values.iter().any(|v| v == "true") {
                    set |= &view.holders;
                }
            }
            Predicate::HasPrefix(_, prefix) => {
                self.values_where(&view, |v| v.starts_with(prefix.as_str()), &mut set)
            }
            _ => set = view.present(),
        }
        set
    }

    /// A case-insensitive substring of any of the fields.
    fn full_text(&self, full_text: &FullText) -> RoaringBitmap {
        let term = full_text.term.to_lowercase();
        let views: Vec<KeyView> = if full_text.fields.is_empty() {
            DEFAULT_FULL_TEXT_FIELDS
                .iter()
                .map(|k| self.view(k))
                .collect()
        } else {
            full_text.fields.iter().map(|k| self.view(k)).collect()
        };
        let fields: Vec<&Field> = views.iter().filter_map(|v| v.field).collect();
        let owned: usize = fields.iter().map(|f| f.postings.len()).sum();
        let mut set = RoaringBitmap::new();
        // One pass over all values finds a telling term's few (4 ms at 100k entities, against
        // 20 ms testing the names one by one); a term most values hold ("e") finds so many
        // that testing the fields' own values costs less than looking each match up.
        for (matched, value) in self.values.containing(&term).enumerate() {
            if matched * FULL_TEXT_SHARE > owned {
                set.clear();
                for view in &views {
                    self.values_where(view, |v| v.contains(term.as_str()), &mut set);
                }
                return set;
            }
            for posting in fields.iter().filter_map(|f| f.postings.get(value)) {
                posting.add_to(&mut set);
            }
        }
        if "true".contains(term.as_str()) {
            for view in &views {
                set |= &view.holders;
            }
        }
        set
    }

    /// Adds the entities with a value passing `test` for the view's key.
    fn values_where(&self, view: &KeyView, test: impl Fn(&str) -> bool, set: &mut RoaringBitmap) {
        if let Some(field) = view.field {
            if field.postings.len() * SCAN_SHARE > self.values.len() {
                // Reaching each value from the postings reads the text buffer at random, a
                // cache miss per value; in the buffer's order the reads stream.
                let passing = self.values.iter().filter(|(_, text)| test(text));
                for posting in passing.filter_map(|(value, _)| field.postings.get(value)) {
                    posting.add_to(set);
                }
            } else {
                for (value, posting) in field.postings.iter() {
                    if test(self.values.name(value)) {
                        posting.add_to(set);
                    }
                }
            }
        }
        if test("true") {
            *set |= &view.holders;
        }
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

    /// The window's selected entities, and whether more follow. Without order fields the
    /// page is in ref order ([`Index::in_ref_order`]); with them, see [`order`].
    pub fn page(&self, selected: &RoaringBitmap, window: &Window) -> Page {
        let need = window.offset.saturating_add(window.limit).saturating_add(1);
        let mut rows: Vec<(Id, Vec<String>)> = if window.order.is_empty() {
            let after = window.boundary.and_then(|b| b.last()).map(String::as_str);
            self.in_ref_order(selected, after, window.backward, need)
                .into_iter()
                .map(|(id, r)| (id, vec![r.to_string()]))
                .collect()
        } else {
            self.in_field_order(selected, window, need)
        };
        rows.drain(..window.offset.min(rows.len()));
        let more = rows.len() > window.limit;
        rows.truncate(window.limit);
        Page { rows, more }
    }

    /// Up to `need` of `members` with their refs, in ref order (reversed walking `backward`)
    /// after the ref `after`. A dense set walks the refs in order from there, so this costs
    /// about what it returns; a sparse one is sorted.
    fn in_ref_order(
        &self,
        members: &RoaringBitmap,
        after: Option<&str>,
        backward: bool,
        need: usize,
    ) -> Vec<(Id, &str)> {
        if members.len() * SPARSE < self.all.len() {
            let mut refs: Vec<(&str, Id)> = members
                .iter()
                .filter_map(|id| Some((self.relations.ref_of(id)?, id)))
                .filter(|(r, _)| after.is_none_or(|a| if backward { *r < a } else { *r > a }))
                .collect();
            refs.sort_unstable();
            if backward {
                refs.reverse();
            }
            return refs.into_iter().take(need).map(|(r, id)| (id, r)).collect();
        }
        let range: Box<dyn Iterator<Item = (&Box<str>, &Id)>> = match (after, backward) {
            (None, false) => Box::new(self.by_ref.iter()),
            (None, true) => Box::new(self.by_ref.iter().rev()),
            (Some(a), false) => Box::new(
                self.by_ref
                    .range::<str, _>((Bound::Excluded(a), Bound::Unbounded)),
            ),
            (Some(a), true) => Box::new(
                self.by_ref
                    .range::<str, _>((Bound::Unbounded, Bound::Excluded(a)))
                    .rev(),
            ),
        };
        range
            .filter(|(_, id)| members.contains(**id))
            .take(need)
            .map(|(r, id)| (*id, &**r))
            .collect()
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

    /// A term few values hold is found by one pass over all values, one most values hold by
    /// testing the fields' own: both select what a test of each entity's fields would.
    #[test]
    fn full_text_selects_entities_whose_fields_hold_the_term() {
        let mut index = Index::default();
        let bodies: Vec<Value> = (0..200)
            .map(|i| {
                json!({
                    "metadata": {"name": format!("svc-{i}"), "description": format!("About SVC {}", i * 7)},
                    "spec": {"owner": format!("svc-17-owner-{i}")},
                })
            })
            .collect();
        for (i, body) in bodies.iter().enumerate() {
            index.insert(
                i as Id,
                &flat(format!("component:default/svc-{i}"), body.clone()),
            );
        }
        let holds = |body: &Value, term: &str| {
            ["name", "description"].iter().any(|k| {
                body["metadata"][k]
                    .as_str()
                    .unwrap()
                    .to_lowercase()
                    .contains(term)
            })
        };
        for term in ["svc-17", "svc", "about svc 11", "nowhere"] {
            let found = index.full_text(&FullText {
                term: term.into(),
                fields: Vec::new(),
            });
            let want: Vec<Id> = (0..200)
                .filter(|i| holds(&bodies[*i as usize], term))
                .collect();
            assert_eq!(ids(&found), want, "{term}");
        }
        let named = FullText {
            term: "svc-17".into(),
            fields: vec!["spec.owner".into()],
        };
        assert_eq!(index.full_text(&named).len(), 200);
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
        let select = |index: &Index, p: Predicate| ids(&index.select(&p, None, &[]));
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
        let page = index.page(
            &index.select(&Predicate::All(vec![]), None, &by_tag),
            &window,
        );
        assert_eq!(page.rows.iter().map(|r| r.0).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(page.rows[0].1, ["true", "component:default/a"]);
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
