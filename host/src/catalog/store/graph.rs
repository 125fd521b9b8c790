//! The relation graph, in memory: every relation the stored entities imply, kept in one
//! ordered set by source (what an entity is served with).
//!
//! An entity's relations are a function of its stored body ([`relations_of`]), so they are
//! derived whenever the entity is indexed rather than stored: six rows per entity in three
//! SQLite B-trees were the largest part of ingestion. An entity implies each relation together
//! with its reverse, and every relation it implies starts or ends at itself; so one set by
//! source answers "which entities relate to these targets" through the reverse relations,
//! and taking an entity out needs only its own ref. A relation implied by two entities (a
//! group listing a member who also lists the group) is held once per entity that implies it,
//! so taking one of them out leaves the other's.
//!
//! [`relations_of`]: super::super::relations::relations_of

use std::collections::BTreeSet;

use roaring::RoaringBitmap;

use super::super::relations::{canonical_relation_type, reverse_relation_type};
use super::index::{FastMap, Id};
use super::read::Facet;
use super::strings::{Strings, Sym};

/// A test on the targets of one relation type.
pub enum TargetTest<'a> {
    Any,
    In(&'a [String]),
    HasPrefix(&'a str),
}

#[derive(Default)]
pub struct RelationGraph {
    /// Entity refs and relation types.
    names: Strings,
    /// The stored entity each ref names, where there is one.
    holders: FastMap<Sym, Id>,
    /// Each stored entity's own ref.
    own: FastMap<Id, Sym>,
    /// (source, type, target, implied by).
    relations: BTreeSet<(Sym, Sym, Sym, Id)>,
}

impl RelationGraph {
    /// Records a stored entity and the relations its body implies, in place of what it
    /// implied before. `relations` are (source, type, target), each with its reverse, and
    /// each starts or ends at `entity_ref` (as [`relations_of`] gives them).
    ///
    /// [`relations_of`]: super::super::relations::relations_of
    pub fn insert<'a>(
        &mut self,
        id: Id,
        entity_ref: &str,
        relations: impl Iterator<Item = (&'a str, &'a str, &'a str)>,
    ) {
        self.remove(id);
        let own = self.names.intern(entity_ref);
        self.holders.insert(own, id);
        self.own.insert(id, own);
        for (source, kind, target) in relations {
            debug_assert!(source == entity_ref || target == entity_ref);
            let source = self.names.intern(source);
            let kind = self.names.intern(kind);
            let target = self.names.intern(target);
            self.relations.insert((source, kind, target, id));
        }
    }

    pub fn remove(&mut self, id: Id) {
        let Some(own) = self.own.remove(&id) else {
            return;
        };
        if self.holders.get(&own) == Some(&id) {
            self.holders.remove(&own);
        }
        // What the entity implied from itself, each with its reverse back to it.
        let implied: Vec<(Sym, Sym, Sym, Id)> = self
            .from(own)
            .filter(|&&(_, _, _, by)| by == id)
            .copied()
            .collect();
        for (source, kind, target, by) in implied {
            self.relations.remove(&(source, kind, target, by));
            if let Some(reverse) = self.reverse(kind) {
                self.relations.remove(&(target, reverse, source, by));
            }
        }
    }

    /// The ref of a stored entity.
    pub fn ref_of(&self, id: Id) -> Option<&str> {
        self.own.get(&id).map(|sym| self.names.name(*sym))
    }

    /// The relations whose source is `entity_ref`, whichever entity implied them: distinct
    /// (type, target) pairs sorted by type, then target.
    pub fn of_source(&self, entity_ref: &str) -> Vec<(&str, &str)> {
        let Some(source) = self.sym(entity_ref) else {
            return Vec::new();
        };
        let mut out: Vec<(&str, &str)> = self
            .from(source)
            .map(|&(_, kind, target, _)| (self.name(kind), self.name(target)))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The stored entities that are the source of a relation of this type (in any case)
    /// whose target passes the test.
    pub fn sources(&self, relation_type: &str, test: &TargetTest) -> RoaringBitmap {
        let Some(kind) = self.sym(canonical_relation_type(relation_type)) else {
            return RoaringBitmap::new();
        };
        let held = |source: Sym| self.holders.get(&source).copied();
        match test {
            // A source of `kind` to a target is a target of the reverse from it.
            TargetTest::In(targets) => match self.reverse(kind) {
                Some(reverse) => targets
                    .iter()
                    .filter_map(|t| self.sym(t))
                    .flat_map(|t| self.of_type_from(t, reverse))
                    .filter_map(|&(_, _, source, _)| held(source))
                    .collect(),
                None => RoaringBitmap::new(),
            },
            TargetTest::Any => self.of_type(kind).filter_map(|(s, _)| held(s)).collect(),
            TargetTest::HasPrefix(prefix) => self
                .of_type(kind)
                .filter(|(_, t)| self.name(*t).starts_with(prefix))
                .filter_map(|(s, _)| held(s))
                .collect(),
        }
    }

    /// Counts of the targets of one relation type among the sources `selected` holds (every
    /// stored entity when `None`), each source counted once per target; sorted by target.
    pub fn facet(&self, relation_type: &str, selected: Option<&RoaringBitmap>) -> Vec<Facet> {
        let Some(kind) = self.sym(canonical_relation_type(relation_type)) else {
            return Vec::new();
        };
        let mut counts: FastMap<Sym, u64> = FastMap::default();
        let mut last = None;
        for (source, target) in self.of_type(kind) {
            // The same relation implied by two entities comes twice, one after the other.
            if last.replace((source, target)) == Some((source, target)) {
                continue;
            }
            let counted = self
                .holders
                .get(&source)
                .is_some_and(|id| selected.is_none_or(|s| s.contains(*id)));
            if counted {
                *counts.entry(target).or_default() += 1;
            }
        }
        let mut facets: Vec<Facet> = counts
            .into_iter()
            .map(|(target, count)| Facet {
                value: self.name(target).to_string(),
                count,
            })
            .collect();
        facets.sort_by(|a, b| a.value.cmp(&b.value));
        facets
    }

    /// The relations from `source`, in order.
    fn from(&self, source: Sym) -> impl Iterator<Item = &(Sym, Sym, Sym, Id)> + '_ {
        self.relations
            .range((source, 0, 0, 0)..=(source, Sym::MAX, Sym::MAX, Id::MAX))
    }

    /// The relations of one type from `source`, in order.
    fn of_type_from(
        &self,
        source: Sym,
        kind: Sym,
    ) -> impl Iterator<Item = &(Sym, Sym, Sym, Id)> + '_ {
        self.relations
            .range((source, kind, 0, 0)..=(source, kind, Sym::MAX, Id::MAX))
    }

    /// Every (source, target) of one relation type, repeated once per implying entity; a
    /// pass over the whole set, for the questions no target or source narrows.
    fn of_type(&self, kind: Sym) -> impl Iterator<Item = (Sym, Sym)> + '_ {
        self.relations
            .iter()
            .filter(move |r| r.1 == kind)
            .map(|&(source, _, target, _)| (source, target))
    }

    /// The symbol of the reverse of a relation type, if it is in use.
    fn reverse(&self, kind: Sym) -> Option<Sym> {
        self.sym(reverse_relation_type(self.name(kind))?)
    }

    fn sym(&self, name: &str) -> Option<Sym> {
        self.names.get(name)
    }

    fn name(&self, sym: Sym) -> &str {
        self.names.name(sym)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn insert(graph: &mut RelationGraph, id: Id, entity_ref: &str, relations: &[[&str; 3]]) {
        graph.insert(
            id,
            entity_ref,
            relations.iter().map(|[s, k, t]| (*s, *k, *t)),
        );
    }

    #[test]
    fn relations_implied_twice_survive_one_removal_and_answer_filters_and_facets() {
        let mut graph = RelationGraph::default();
        // The group lists the user as a member and the user lists the group: both imply
        // the same pair.
        let team = "group:default/team";
        let ann = "user:default/ann";
        let both_ways = [[team, "hasMember", ann], [ann, "memberOf", team]];
        insert(&mut graph, 1, team, &both_ways);
        insert(&mut graph, 2, ann, &both_ways);
        insert(&mut graph, 3, "user:default/bob", &[]);
        assert_eq!(
            graph.of_source("user:default/ann"),
            [("memberOf", "group:default/team")]
        );
        let members = |graph: &RelationGraph| {
            graph
                .sources("MEMBEROF", &TargetTest::In(&["group:default/team".into()]))
                .iter()
                .collect::<Vec<_>>()
        };
        assert_eq!(members(&graph), [2]);
        graph.remove(1);
        assert_eq!(members(&graph), [2], "the user still implies it");
        assert_eq!(
            graph.facet("memberof", None),
            [Facet {
                value: "group:default/team".into(),
                count: 1
            }]
        );
        assert_eq!(
            graph
                .sources("memberOf", &TargetTest::HasPrefix("group:"))
                .len(),
            1
        );
        assert!(
            graph
                .sources("memberOf", &TargetTest::HasPrefix("user:"))
                .is_empty()
        );
        insert(&mut graph, 2, ann, &[]);
        assert!(members(&graph).is_empty());
        assert!(graph.of_source("group:default/team").is_empty());
        assert!(graph.facet("memberOf", None).is_empty());
    }

    #[test]
    fn taking_an_entity_out_removes_what_it_implied_and_nothing_else() {
        let mut graph = RelationGraph::default();
        let api = "api:default/orders";
        let svc = "component:default/svc";
        // Depending on itself: both directions start and end at the entity.
        insert(
            &mut graph,
            1,
            svc,
            &[
                [svc, "providesApi", api],
                [api, "apiProvidedBy", svc],
                [svc, "dependsOn", svc],
                [svc, "dependencyOf", svc],
            ],
        );
        insert(&mut graph, 2, api, &[]);
        assert_eq!(
            graph.of_source(svc),
            [
                ("dependencyOf", svc),
                ("dependsOn", svc),
                ("providesApi", api)
            ]
        );
        assert_eq!(graph.of_source(api), [("apiProvidedBy", svc)]);
        let providers = graph.sources("providesApi", &TargetTest::In(&[api.into()]));
        assert_eq!(providers.iter().collect::<Vec<_>>(), [1]);
        graph.remove(1);
        assert!(graph.relations.is_empty(), "left: {:?}", graph.relations);
        assert!(graph.of_source(api).is_empty());
        assert_eq!(graph.own.len(), 1, "the API is still held");
    }
}
