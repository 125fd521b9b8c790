//! The entities holding each value of one key. Most values belong to one entity only (names,
//! uids, descriptions), so those are kept as a bare id in one map and only shared values get
//! a bitmap in another: one map of an enum of both cost three times as much per value.

use std::collections::hash_map::Entry;

use roaring::RoaringBitmap;

use super::index::{FastMap, Id};
use super::strings::Sym;

#[derive(Default)]
pub struct Postings {
    one: FastMap<Sym, Id>,
    many: FastMap<Sym, RoaringBitmap>,
}

/// The entities holding one value.
#[derive(Clone, Copy)]
pub enum Posting<'a> {
    One(Id),
    Many(&'a RoaringBitmap),
}

impl Postings {
    pub fn add(&mut self, value: Sym, id: Id) {
        if let Some(set) = self.many.get_mut(&value) {
            set.insert(id);
            return;
        }
        match self.one.entry(value) {
            Entry::Vacant(slot) => {
                slot.insert(id);
            }
            Entry::Occupied(slot) => {
                let other = slot.remove();
                self.many
                    .insert(value, RoaringBitmap::from_iter([other, id]));
            }
        }
    }

    pub fn remove(&mut self, value: Sym, id: Id) {
        if self.one.get(&value) == Some(&id) {
            self.one.remove(&value);
        } else if let Some(set) = self.many.get_mut(&value) {
            set.remove(id);
            if set.len() == 1 {
                let last = set.min().expect("one element");
                self.many.remove(&value);
                self.one.insert(value, last);
            }
        }
    }

    pub fn get(&self, value: Sym) -> Option<Posting<'_>> {
        match self.one.get(&value) {
            Some(id) => Some(Posting::One(*id)),
            None => self.many.get(&value).map(Posting::Many),
        }
    }

    /// How many values have entities.
    pub fn len(&self) -> usize {
        self.one.len() + self.many.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = (Sym, Posting<'_>)> {
        let one = self.one.iter().map(|(v, id)| (*v, Posting::One(*id)));
        let many = self.many.iter().map(|(v, set)| (*v, Posting::Many(set)));
        one.chain(many)
    }
}

impl Posting<'_> {
    pub fn add_to(self, set: &mut RoaringBitmap) {
        match self {
            Posting::One(id) => {
                set.insert(id);
            }
            Posting::Many(ids) => *set |= ids,
        }
    }

    /// How many of these entities `selected` holds (all of them when `None`).
    pub fn count_in(self, selected: Option<&RoaringBitmap>) -> u64 {
        match (self, selected) {
            (Posting::One(_), None) => 1,
            (Posting::Many(set), None) => set.len(),
            (Posting::One(id), Some(s)) => u64::from(s.contains(id)),
            (Posting::Many(set), Some(s)) => set.intersection_len(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(postings: &Postings, value: Sym) -> Vec<Id> {
        let mut set = RoaringBitmap::new();
        if let Some(p) = postings.get(value) {
            p.add_to(&mut set);
        }
        set.iter().collect()
    }

    #[test]
    fn a_value_moves_between_one_and_many_as_entities_come_and_go() {
        let mut postings = Postings::default();
        postings.add(7, 1);
        assert!(matches!(postings.get(7), Some(Posting::One(1))));
        postings.add(7, 2);
        postings.add(7, 3);
        assert_eq!(ids(&postings, 7), [1, 2, 3]);
        postings.remove(7, 2);
        postings.remove(7, 1);
        assert!(matches!(postings.get(7), Some(Posting::One(3))));
        // Removing an id that does not hold the value changes nothing.
        postings.remove(7, 9);
        assert_eq!(ids(&postings, 7), [3]);
        postings.remove(7, 3);
        assert!(postings.get(7).is_none());
        assert_eq!(postings.iter().count(), 0);
    }
}
