//! The relation graph, in memory: every relation the stored entities imply, by source (what an
//! entity is served with) and by type and target (what `relations.<type>` filters and facets
//! test).
//!
//! An entity's relations are a function of its stored body ([`relations_of`]), so they are
//! derived whenever the entity is indexed rather than stored: six rows per entity in three
//! SQLite B-trees were the largest part of ingestion. A relation implied by two entities (a
//! group listing a member who also lists the group) is held once per entity that implies it,
//! so taking one of them out leaves the other's.
//!
//! [`relations_of`]: super::super::relations::relations_of

use std::collections::BTreeSet;

use roaring::RoaringBitmap;

use super::super::relations::canonical_relation_type;
use super::index::{FastMap, Id, Interner, Sym, intern};
use super::read::Facet;

/// A test on the targets of one relation type.
pub enum TargetTest<'a> {
    Any,
    In(&'a [String]),
    HasPrefix(&'a str),
}

#[derive(Default)]
pub struct RelationGraph {
    /// Entity refs and relation types.
    names: Interner,
    /// The stored entity each ref names, where there is one.
    holders: FastMap<Sym, Id>,
    /// Each stored entity's own ref and the relations it implies, to take them out again.
    implied: FastMap<Id, (Sym, Box<[Edge]>)>,
    /// (source, type, target, implied by).
    by_source: BTreeSet<(Sym, Sym, Sym, Id)>,
    /// (type, target, source, implied by).
    by_target: BTreeSet<(Sym, Sym, Sym, Id)>,
}

#[derive(Clone, Copy)]
struct Edge {
    source: Sym,
    kind: Sym,
    target: Sym,
}

impl RelationGraph {
    /// Records a stored entity and the relations its body implies, in place of what it
    /// implied before.
    /// `relations` are (source, type, target).
    pub fn insert<'a>(
        &mut self,
        id: Id,
        entity_ref: &str,
        relations: impl Iterator<Item = (&'a str, &'a str, &'a str)>,
    ) {
        self.remove(id);
        let own = intern(&mut self.names, entity_ref);
        self.holders.insert(own, id);
        let edges: Box<[Edge]> = relations
            .map(|(source, kind, target)| Edge {
                source: intern(&mut self.names, source),
                kind: intern(&mut self.names, kind),
                target: intern(&mut self.names, target),
            })
            .collect();
        for e in edges.iter() {
            self.by_source.insert((e.source, e.kind, e.target, id));
            self.by_target.insert((e.kind, e.target, e.source, id));
        }
        self.implied.insert(id, (own, edges));
    }

    pub fn remove(&mut self, id: Id) {
        let Some((own, edges)) = self.implied.remove(&id) else {
            return;
        };
        if self.holders.get(&own) == Some(&id) {
            self.holders.remove(&own);
        }
        for e in edges.iter() {
            self.by_source.remove(&(e.source, e.kind, e.target, id));
            self.by_target.remove(&(e.kind, e.target, e.source, id));
        }
    }

    /// The relations whose source is `entity_ref`, whichever entity implied them: distinct
    /// (type, target) pairs sorted by type, then target.
    pub fn of_source(&self, entity_ref: &str) -> Vec<(&str, &str)> {
        let Some(source) = self.sym(entity_ref) else {
            return Vec::new();
        };
        let mut out: Vec<(&str, &str)> = self
            .by_source
            .range((source, 0, 0, 0)..=(source, Sym::MAX, Sym::MAX, Id::MAX))
            .map(|&(_, kind, target, _)| (self.name(kind), self.name(target)))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The stored entities that are the source of a relation of this type (in any case)
    /// whose target passes the test.
    pub fn sources(&self, relation_type: &str, test: &TargetTest) -> RoaringBitmap {
        let mut out = RoaringBitmap::new();
        let Some(kind) = self.sym(canonical_relation_type(relation_type)) else {
            return out;
        };
        let mut add = |target: Sym| {
            out.extend(
                self.of_target(kind, target)
                    .filter_map(|source| self.holders.get(&source).copied()),
            );
        };
        match test {
            TargetTest::In(values) => values.iter().filter_map(|v| self.sym(v)).for_each(&mut add),
            TargetTest::Any | TargetTest::HasPrefix(_) => {
                let prefix = match test {
                    TargetTest::HasPrefix(prefix) => prefix,
                    _ => "",
                };
                self.targets(kind)
                    .filter(|t| self.name(*t).starts_with(prefix))
                    .for_each(&mut add);
            }
        }
        out
    }

    /// Counts of the targets of one relation type among the sources `selected` holds (every
    /// stored entity when `None`), each source counted once per target; sorted by target.
    pub fn facet(&self, relation_type: &str, selected: Option<&RoaringBitmap>) -> Vec<Facet> {
        let Some(kind) = self.sym(canonical_relation_type(relation_type)) else {
            return Vec::new();
        };
        let mut facets: Vec<Facet> = self
            .targets(kind)
            .filter_map(|target| {
                let mut sources: Vec<Sym> = self
                    .of_target(kind, target)
                    .filter(|source| {
                        self.holders
                            .get(source)
                            .is_some_and(|id| selected.is_none_or(|s| s.contains(*id)))
                    })
                    .collect();
                sources.dedup();
                (!sources.is_empty()).then(|| Facet {
                    value: self.name(target).to_string(),
                    count: sources.len() as u64,
                })
            })
            .collect();
        facets.sort_by(|a, b| a.value.cmp(&b.value));
        facets
    }

    /// The distinct targets of one relation type.
    fn targets(&self, kind: Sym) -> impl Iterator<Item = Sym> + '_ {
        let mut last = None;
        self.by_target
            .range((kind, 0, 0, 0)..=(kind, Sym::MAX, Sym::MAX, Id::MAX))
            .map(|&(_, target, _, _)| target)
            .filter(move |target| last.replace(*target) != Some(*target))
    }

    /// The sources of one relation type and target, in order, repeated once per implying
    /// entity.
    fn of_target(&self, kind: Sym, target: Sym) -> impl Iterator<Item = Sym> + '_ {
        self.by_target
            .range((kind, target, 0, 0)..=(kind, target, Sym::MAX, Id::MAX))
            .map(|&(_, _, source, _)| source)
    }

    fn sym(&self, name: &str) -> Option<Sym> {
        self.names.get_index_of(name).map(|i| i as Sym)
    }

    fn name(&self, sym: Sym) -> &str {
        &self.names[sym as usize]
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
}
