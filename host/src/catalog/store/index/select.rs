//! Selection: a predicate (field tests, `relations.<type>` tests, full text, `allOf`/`anyOf`/
//! `not`) evaluated as set operations over the postings.

use roaring::RoaringBitmap;

use super::super::super::query::{FullText, Predicate};
use super::super::graph::TargetTest;
use super::{Index, KeyView, SCAN_SHARE};

impl Index {
    /// The entities the predicate and the full-text term select.
    pub fn select(&self, predicate: &Predicate, full_text: Option<&FullText>) -> RoaringBitmap {
        let mut selected = self.evaluate(predicate);
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

    /// Adds the entities with a value passing `test` for the view's key.
    pub(super) fn values_where(
        &self,
        view: &KeyView,
        test: impl Fn(&str) -> bool,
        set: &mut RoaringBitmap,
    ) {
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
}
