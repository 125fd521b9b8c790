//! Interned strings, stored end to end in one buffer. The index holds hundreds of thousands
//! of keys, values and refs; one allocation each, with its own pointer, length and hash slot,
//! cost three times the text itself (40 bytes and more for a 40-byte uid).

use std::hash::BuildHasher;

use foldhash::fast::RandomState;
use hashbrown::HashTable;

/// An interned string.
pub type Sym = u32;

#[derive(Default)]
pub struct Strings {
    text: String,
    /// Where each string ends in `text`; it starts where the one before it ends.
    ends: Vec<u32>,
    /// The symbols, by the hash of their text.
    table: HashTable<Sym>,
    hasher: RandomState,
}

impl Strings {
    /// The symbol of `text`, adding it if new. Strings are never taken out: a value the
    /// catalog stops using keeps its symbol.
    pub fn intern(&mut self, text: &str) -> Sym {
        let hash = self.hasher.hash_one(text);
        if let Some(sym) = self.find(hash, text) {
            return sym;
        }
        let sym = Sym::try_from(self.ends.len()).expect("fewer than 4 billion distinct strings");
        self.text.push_str(text);
        let end = u32::try_from(self.text.len()).expect("interned text under 4 GiB");
        self.ends.push(end);
        let Self {
            text: all,
            ends,
            table,
            hasher,
            ..
        } = self;
        table.insert_unique(hash, sym, |s| hasher.hash_one(slice(all, ends, *s)));
        sym
    }

    pub fn get(&self, text: &str) -> Option<Sym> {
        self.find(self.hasher.hash_one(text), text)
    }

    fn find(&self, hash: u64, text: &str) -> Option<Sym> {
        self.table.find(hash, |s| self.name(*s) == text).copied()
    }

    /// How many strings the set holds.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Every symbol with its text, in the order they were added (the order of the buffer).
    pub fn iter(&self) -> impl Iterator<Item = (Sym, &str)> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        (0..)
            .zip(starts.zip(&self.ends))
            .map(|(sym, (start, end))| (sym, &self.text[start as usize..*end as usize]))
    }

    /// The symbols whose text contains `needle`, in order: one pass over the whole buffer
    /// (a search per string cost 14 ms over the 1M strings of a 100k catalog).
    pub fn containing<'a>(&'a self, needle: &'a str) -> impl Iterator<Item = Sym> + 'a {
        let finder = memchr::memmem::Finder::new(needle);
        let text = self.text.as_bytes();
        let mut from = 0;
        std::iter::from_fn(move || {
            loop {
                let at = from + finder.find(text.get(from..)?)?;
                let sym = self.ends.partition_point(|end| *end as usize <= at);
                let end = *self.ends.get(sym)? as usize;
                // A match running on into the next string is not in this one.
                if at + needle.len() <= end {
                    from = end;
                    return Some(Sym::try_from(sym).expect("symbols fit"));
                }
                from = at + 1;
            }
        })
    }

    /// The text of a symbol this set gave out.
    pub fn name(&self, sym: Sym) -> &str {
        slice(&self.text, &self.ends, sym)
    }
}

fn slice<'a>(text: &'a str, ends: &[u32], sym: Sym) -> &'a str {
    let i = sym as usize;
    let start = if i == 0 { 0 } else { ends[i - 1] as usize };
    &text[start..ends[i] as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_distinct_string_gets_one_symbol_that_gives_it_back() {
        let mut strings = Strings::default();
        let words = ["", "kind", "component", "kind", "Kind", "ü"];
        let syms: Vec<Sym> = words.iter().map(|w| strings.intern(w)).collect();
        assert_eq!(syms, [0, 1, 2, 1, 3, 4]);
        for (word, sym) in words.iter().zip(&syms) {
            assert_eq!(strings.name(*sym), *word);
            assert_eq!(strings.get(word), Some(*sym));
        }
        assert_eq!(strings.get("api"), None);
        // "kind" and "Kind" hold "ind" (once each, however often), "component" holds "o"
        // twice; "dco" only spans "kind" and "component".
        assert_eq!(strings.containing("ind").collect::<Vec<_>>(), [1, 3]);
        assert_eq!(strings.containing("o").collect::<Vec<_>>(), [2]);
        assert_eq!(strings.containing("dco").count(), 0);
        let listed: Vec<(Sym, &str)> = strings.iter().collect();
        assert_eq!(
            listed,
            [
                (0, ""),
                (1, "kind"),
                (2, "component"),
                (3, "Kind"),
                (4, "ü")
            ]
        );
        // Enough to make the table grow and rehash from the stored text.
        for n in 0..10_000 {
            strings.intern(&format!("value-{n}"));
        }
        assert_eq!(
            strings.get("value-9999").map(|s| strings.name(s)),
            Some("value-9999")
        );
        assert_eq!(strings.get("kind"), Some(1));
    }
}
