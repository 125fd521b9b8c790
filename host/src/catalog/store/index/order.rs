//! Pages in order-field order. Sorting a whole selection by its sort values cost 33 ms for
//! the 60k components of a 100k catalog, mostly in string comparisons. Instead the first
//! field's entities are walked in the order of their least value (a list worked out per key
//! when first ordered by, then followed as entities change), and only the entities sharing
//! one value are ordered among themselves, by the next field and in the end by ref: a page
//! costs about what it returns plus the group it ends in (a value many entities share, such
//! as a kind, is gathered whole). A selection holding few of the key's entities is sorted
//! instead, as walking the key's entities to find them would cost more.

use std::ops::Bound;

use roaring::RoaringBitmap;

use super::super::super::query::SortKey;
use super::super::rows::Rows;
use super::{Field, HOLDS, Id, Index, KeyView, NO_VALUE, Page, SPARSE, Sym, Window};

/// Changes a key's worked-out order follows before it is dropped to be worked out again:
/// each costs a move of the order's entries (about 50 µs for 100k), working it out again a
/// sort of them (100–160 ms, under the read lock of the query that asks for it first). A
/// watch edit is followed; a large write drops the order.
const FOLLOWED_CHANGES: usize = 1024;

impl Index {
    /// The window's selected entities, and whether more follow. Without order fields the
    /// page is in ref order ([`Index::in_ref_order`]); with them, see [`order`].
    pub fn page(&self, selected: &RoaringBitmap, window: &Window) -> Page {
        let need = window.offset.saturating_add(window.limit).saturating_add(1);
        let mut rows: Vec<(Id, SortKey)> = if window.order.is_empty() {
            let after = window.boundary.and_then(|b| b.last()?.as_deref());
            self.in_ref_order(selected, after, window.backward, need)
                .into_iter()
                .map(|(id, r)| (id, vec![Some(r.to_string())]))
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

    /// Up to `need` of the window's selected entities, each with its sort values, in order
    /// from the window's boundary.
    pub(super) fn in_field_order(
        &self,
        selected: &RoaringBitmap,
        window: &Window,
        need: usize,
    ) -> Vec<(Id, SortKey)> {
        let views: Vec<KeyView> = window.order.iter().map(|o| self.view(&o.field)).collect();
        let mut walk = Walk {
            index: self,
            window,
            views: &views,
            need,
            values: Vec::new(),
            out: Vec::new(),
        };
        walk.level(selected, 0, window.boundary);
        walk.out
    }

    /// Every entity with a value for `key`, each with its least value, in ascending order
    /// of those values.
    fn by_least_value<'a>(&'a self, key: Sym, field: &'a Field) -> &'a [(Sym, Id)] {
        field.sorted.get_or_init(|| {
            let mut entries: Vec<(Sym, Id)> = field
                .valued
                .iter()
                .filter_map(|id| Some((self.least_value(self.entities.get(&id)?, key)?, id)))
                .collect();
            entries.sort_unstable_by(|a, b| self.values.name(a.0).cmp(self.values.name(b.0)));
            entries
        })
    }

    /// Takes an entity out of (or, with `put`, into) the worked-out orders of the keys it has
    /// values for, given its rows, sorted by key.
    pub(super) fn follow_orders(
        &mut self,
        id: Id,
        rows: impl Iterator<Item = (Sym, Sym)>,
        put: bool,
    ) {
        let followed: Vec<(Sym, Sym)> = rows
            .filter(|(key, _)| {
                key & HOLDS == 0 && self.fields[*key as usize].sorted.get().is_some()
            })
            .collect();
        let least: Vec<(Sym, Sym)> = followed
            .chunk_by(|a, b| a.0 == b.0)
            .filter_map(|rows| Some((rows[0].0, self.least(rows.iter().map(|r| r.1))?)))
            .collect();
        for (key, value) in least {
            let field = &mut self.fields[key as usize];
            if field.followed >= FOLLOWED_CHANGES {
                field.sorted.take();
                field.followed = 0;
                continue;
            }
            let Some(order) = field.sorted.get_mut() else {
                continue;
            };
            field.followed += 1;
            let name = self.values.name(value);
            let at = order.partition_point(|(v, _)| self.values.name(*v) < name);
            if put {
                order.insert(at, (value, id));
            } else if let Some(found) = order[at..]
                .iter()
                .take_while(|(v, _)| *v == value)
                .position(|(_, e)| *e == id)
            {
                order.remove(at + found);
            }
        }
    }

    /// An entity's least value for a key of its own.
    fn least_value(&self, rows: &Rows, key: Sym) -> Option<Sym> {
        let own = rows
            .iter()
            .skip_while(|(k, _)| *k < key)
            .take_while(|(k, _)| *k == key);
        self.least(own.map(|(_, v)| v))
    }

    /// The least of one key's values (by text), past rows that only say the key exists.
    fn least(&self, values: impl Iterator<Item = Sym>) -> Option<Sym> {
        values
            .filter(|v| *v != NO_VALUE)
            .min_by_key(|v| self.values.name(*v))
    }

    /// An entity's sort value for a key: its least value, counting the `true` that a
    /// `<key>.<item>` key gives the entities holding the item (as Backstage sorts).
    fn sort_value(&self, id: Id, view: &KeyView) -> Option<&str> {
        let rows = self.entities.get(&id)?;
        let own = view
            .key
            .and_then(|key| self.least_value(rows, key))
            .map(|v| self.values.name(v));
        let held = view.holders.contains(id).then_some("true");
        own.into_iter().chain(held).min()
    }
}

/// A walk down the order fields, collecting the page.
struct Walk<'a> {
    index: &'a Index,
    window: &'a Window<'a>,
    views: &'a [KeyView<'a>],
    need: usize,
    /// The sort values of the groups the walk is in, one per level above.
    values: Vec<Option<&'a str>>,
    out: Vec<(Id, SortKey)>,
}

impl<'a> Walk<'a> {
    /// Adds `members` (sharing the sort values of the levels above) in the order of field
    /// `depth` and those after it, then ref, after `boundary` (their sort values from `depth`).
    /// Members without a value for the field come after the valued ones (before them walking
    /// backward), in the order of the fields after it.
    fn level(
        &mut self,
        members: &RoaringBitmap,
        depth: usize,
        boundary: Option<&[Option<String>]>,
    ) {
        let index = self.index;
        let backward = self.window.backward;
        let views = self.views;
        let Some(view) = views.get(depth) else {
            let from = boundary.and_then(|b| b.first()?.as_deref());
            for (id, entity_ref) in index.in_ref_order(members, from, backward, self.remaining()) {
                let mut key: SortKey = self.values.iter().map(|v| v.map(str::to_string)).collect();
                key.push(Some(entity_ref.to_string()));
                self.out.push((id, key));
            }
            return;
        };
        // The boundary's value at this field: `Some(None)` when it lacks one.
        let from = boundary.map(|b| b[0].as_deref());
        let rest = boundary.map(|b| &b[1..]);
        // From a valued boundary, walking backward, the valueless (all after it) are passed;
        // from a valueless one, walking forward, so are the valued.
        let valueless = !backward || !matches!(from, Some(Some(_)));
        let valued = backward || from != Some(None);
        if backward && valueless {
            self.valueless(members, view, depth, rest.filter(|_| from == Some(None)));
        }
        if valued && self.remaining() > 0 {
            // Walking backward reverses the query's order.
            let descending = self.window.order[depth].descending != backward;
            let start = from.flatten();
            for (value, group) in groups(index, view, members, start, descending) {
                let rest = rest.filter(|_| Some(value) == start);
                self.values.push(Some(value));
                self.level(&group, depth + 1, rest);
                self.values.pop();
                if self.remaining() == 0 {
                    return;
                }
            }
        }
        if !backward && valueless && self.remaining() > 0 {
            self.valueless(members, view, depth, rest.filter(|_| from == Some(None)));
        }
    }

    /// Adds the members without a value for the view's key, in the order of the fields after
    /// it, after `boundary`.
    fn valueless(
        &mut self,
        members: &RoaringBitmap,
        view: &KeyView,
        depth: usize,
        boundary: Option<&[Option<String>]>,
    ) {
        let group = members - view.valued();
        if group.is_empty() {
            return;
        }
        self.values.push(None);
        self.level(&group, depth + 1, boundary);
        self.values.pop();
    }

    fn remaining(&self) -> usize {
        self.need.saturating_sub(self.out.len())
    }
}

/// `members` grouped by their sort value for the view's key, groups in order (descending or
/// not) from `from` on, `from`'s own group included.
fn groups<'a: 'b, 'b>(
    index: &'a Index,
    view: &'a KeyView<'a>,
    members: &'b RoaringBitmap,
    from: Option<&str>,
    descending: bool,
) -> Box<dyn Iterator<Item = (&'a str, RoaringBitmap)> + 'b> {
    let walkable = view.key.zip(view.field).filter(|(_, field)| {
        // Items a `<key>.<item>` key names sort as `true` among the key's own values: rare
        // enough to leave to sorting.
        view.holders.is_empty() && members.len() * SPARSE >= field.valued.len()
    });
    let name = move |v: Sym| index.values.name(v);
    // Both ways, the entities with their sort values in ascending order, from `from` on.
    let ascending: Box<dyn DoubleEndedIterator<Item = (&'a str, Id)> + 'b> = match walkable {
        Some((key, field)) => {
            let all = index.by_least_value(key, field);
            let range = from_on(all, |e| name(e.0), from, descending);
            Box::new(
                all[range]
                    .iter()
                    .filter(|(_, id)| members.contains(*id))
                    .map(move |(v, id)| (name(*v), *id)),
            )
        }
        None => {
            let mut items: Vec<(&str, Id)> = members
                .iter()
                .filter_map(|id| Some((index.sort_value(id, view)?, id)))
                .collect();
            items.sort_unstable();
            let range = from_on(&items, |e| e.0, from, descending);
            items.truncate(range.end);
            Box::new(items.into_iter().skip(range.start))
        }
    };
    let mut ordered = if descending {
        Box::new(ascending.rev()) as Box<dyn Iterator<Item = _>>
    } else {
        Box::new(ascending)
    }
    .peekable();
    Box::new(std::iter::from_fn(move || {
        let (value, id) = ordered.next()?;
        let mut group = RoaringBitmap::from_iter([id]);
        while let Some((_, id)) = ordered.next_if(|(v, _)| *v == value) {
            group.insert(id);
        }
        Some((value, group))
    }))
}

/// Of `items` in ascending order of `value`, those from `from` on in walking order (`from`
/// included).
fn from_on<'v, T>(
    items: &[T],
    value: impl Fn(&T) -> &'v str,
    from: Option<&str>,
    descending: bool,
) -> std::ops::Range<usize> {
    match (from, descending) {
        (None, _) => 0..items.len(),
        (Some(f), false) => items.partition_point(|i| value(i) < f)..items.len(),
        (Some(f), true) => 0..items.partition_point(|i| value(i) <= f),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::super::super::flatten::Flattened;
    use super::super::tests::flat;
    use super::*;
    use crate::catalog::query::{OrderField, Predicate};

    /// Entities with a single-valued key (few values, so groups are shared), an array key
    /// (an entity sorts by its least item) and a key some lack, from a fixed pseudo-random
    /// sequence.
    fn entities(mut seed: u32, ids: std::ops::RangeInclusive<Id>) -> Vec<(Id, String, Value)> {
        let mut next = move |n: u32| {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (seed >> 16) % n
        };
        ids.map(|id| {
            let mut spec = json!({
                "owner": format!("Team-{}", next(5)),
                "tags": (0..1 + next(3)).map(|_| format!("t{}", next(9))).collect::<Vec<_>>(),
            });
            if next(4) > 0 {
                spec["tier"] = json!(format!("{}", next(3)));
            }
            let entity_ref = format!("component:default/e{:03}-{id}", next(1000));
            (id, entity_ref, json!({ "spec": spec }))
        })
        .collect()
    }

    /// The order worked out from the bodies alone: each field's least lowercased value
    /// (entities lacking it after the others, whichever the direction), then the ref.
    fn expected(all: &[(Id, String, Value)], order: &[OrderField]) -> Vec<Id> {
        let least = |body: &Value, field: &str| -> Option<String> {
            let value = field.split('.').try_fold(body, |v, k| v.get(k))?;
            let values: Vec<String> = match value {
                Value::Array(items) => items
                    .iter()
                    .filter_map(|i| i.as_str())
                    .map(str::to_lowercase)
                    .collect(),
                other => other.as_str().map(str::to_lowercase).into_iter().collect(),
            };
            values.into_iter().min()
        };
        let mut keyed: Vec<(Vec<Option<String>>, &String, Id)> = all
            .iter()
            .map(|(id, r, body)| {
                let values = order.iter().map(|o| least(body, &o.field)).collect();
                (values, r, *id)
            })
            .collect();
        keyed.sort_by(|a, b| {
            let fields =
                a.0.iter()
                    .zip(&b.0)
                    .zip(order)
                    .map(|((x, y), o)| match (x, y) {
                        (Some(x), Some(y)) if o.descending => y.cmp(x),
                        (Some(x), Some(y)) => x.cmp(y),
                        (x, y) => y.is_some().cmp(&x.is_some()),
                    });
            fields
                .fold(std::cmp::Ordering::Equal, std::cmp::Ordering::then)
                .then(a.1.cmp(b.1))
        });
        keyed.into_iter().map(|(_, _, id)| id).collect()
    }

    fn pages(
        index: &Index,
        selected: &RoaringBitmap,
        order: &[OrderField],
        backward: bool,
        start: Option<SortKey>,
    ) -> Vec<Id> {
        let mut seen = Vec::new();
        let mut boundary = start;
        loop {
            let page = index.page(
                selected,
                &Window {
                    order,
                    boundary: boundary.as_deref(),
                    backward,
                    offset: 0,
                    limit: 7,
                },
            );
            seen.extend(page.rows.iter().map(|(id, _)| *id));
            match page.rows.last() {
                Some((_, key)) if page.more => boundary = Some(key.clone()),
                _ => return seen,
            }
        }
    }

    #[test]
    fn pages_follow_the_order_worked_out_from_the_bodies() {
        let all = entities(7, 1..=300);
        let mut index = Index::default();
        for (id, entity_ref, body) in &all {
            index.insert(*id, &Flattened::new(entity_ref.clone(), body, &[]));
        }
        let field = |name: &str, descending| OrderField {
            field: name.into(),
            descending,
        };
        let orders = [
            vec![field("spec.owner", false)],
            vec![field("spec.owner", true)],
            vec![field("spec.tags", false)],
            vec![field("spec.tier", false)],
            vec![field("spec.tier", true), field("spec.tags", false)],
            vec![field("spec.owner", false), field("spec.tier", true)],
        ];
        let team = Predicate::In("spec.owner".into(), vec!["team-1".into()]);
        let few: RoaringBitmap = (1..=6).collect();
        for order in &orders {
            let everything = index.select(&Predicate::everything(), None);
            // All (their values are walked), a fifth (walked too) and a handful (sorted).
            let selections = [
                everything.clone(),
                index.select(&team, None),
                &everything & &few,
            ];
            for selected in selections {
                let subset: Vec<(Id, String, Value)> = all
                    .iter()
                    .filter(|(id, _, _)| selected.contains(*id))
                    .cloned()
                    .collect();
                let want = expected(&subset, order);
                assert!(want.len() > 1, "{order:?} selects {}", want.len());
                assert_eq!(
                    pages(&index, &selected, order, false, None),
                    want,
                    "{order:?}"
                );
                // Backward from the last item: everything before it, nearest first.
                let last = index.page(
                    &selected,
                    &Window {
                        order,
                        boundary: None,
                        backward: true,
                        offset: 0,
                        limit: 1,
                    },
                );
                let mut back = pages(
                    &index,
                    &selected,
                    order,
                    true,
                    last.rows.first().map(|(_, k)| k.clone()),
                );
                back.reverse();
                assert_eq!(
                    back,
                    want[..want.len().saturating_sub(1)],
                    "{order:?} backward"
                );
                // An offset skips that many from the start.
                let skipped = index.page(
                    &selected,
                    &Window {
                        order,
                        boundary: None,
                        backward: false,
                        offset: 5,
                        limit: 4,
                    },
                );
                let ids: Vec<Id> = skipped.rows.iter().map(|(id, _)| *id).collect();
                assert_eq!(
                    ids,
                    want.iter().skip(5).take(4).copied().collect::<Vec<_>>(),
                    "{order:?} offset"
                );
            }
        }
    }

    /// Ordered pages stay right while entities change after a key's order was worked out:
    /// a few changes are followed, many drop the order to be worked out again.
    #[test]
    fn worked_out_orders_follow_changes() {
        let mut current: std::collections::BTreeMap<Id, (String, Value)> = entities(7, 1..=300)
            .into_iter()
            .map(|(id, r, body)| (id, (r, body)))
            .collect();
        let mut index = Index::default();
        for (id, (entity_ref, body)) in &current {
            index.insert(*id, &Flattened::new(entity_ref.clone(), body, &[]));
        }
        let orders = [
            vec![OrderField {
                field: "spec.owner".into(),
                descending: false,
            }],
            vec![OrderField {
                field: "spec.tags".into(),
                descending: true,
            }],
        ];
        let check = |index: &Index, current: &std::collections::BTreeMap<Id, (String, Value)>| {
            let all: Vec<(Id, String, Value)> = current
                .iter()
                .map(|(id, (r, b))| (*id, r.clone(), b.clone()))
                .collect();
            for order in &orders {
                let selected = index.select(&Predicate::everything(), None);
                assert_eq!(
                    pages(index, &selected, order, false, None),
                    expected(&all, order),
                    "{order:?}"
                );
            }
        };
        check(&index, &current);
        let key = index.keys.get("spec.owner").unwrap();
        assert!(
            index.fields[key as usize].sorted.get().is_some(),
            "the order was worked out"
        );
        type Bodies = std::collections::BTreeMap<Id, (String, Value)>;
        let change = |index: &mut Index, current: &mut Bodies, seed, ids| {
            for (id, entity_ref, body) in entities(seed, ids) {
                index.insert(id, &Flattened::new(entity_ref.clone(), &body, &[]));
                current.insert(id, (entity_ref, body));
            }
        };
        // A few replaced, a few new, a few gone: followed.
        change(&mut index, &mut current, 11, 1..=20);
        change(&mut index, &mut current, 13, 301..=310);
        for id in 41..=45 {
            index.remove(id);
            current.remove(&id);
        }
        assert!(
            index.fields[key as usize].sorted.get().is_some(),
            "small changes are followed"
        );
        check(&index, &current);
        // Many: the order is dropped, and worked out again when next asked for.
        change(&mut index, &mut current, 17, 1..=1000);
        assert!(
            index.fields[key as usize].sorted.get().is_none(),
            "a large write drops it"
        );
        check(&index, &current);
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
                .map(|(_, key)| key.last().unwrap().clone().unwrap())
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
