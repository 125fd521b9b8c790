//! An entity's rows in the index, (key, value) symbol pairs, packed as variable-length
//! integers: the key as its distance from the previous row's key (rows are sorted, so mostly
//! 0 or 1), the value as is. About 4 bytes a row instead of 8: 25 rows an entity made the
//! pairs the largest single part of the index.

use super::strings::Sym;

pub struct Rows(Box<[u8]>);

impl Rows {
    /// Packs `pairs`, which must be sorted by key.
    pub fn pack(pairs: &[(Sym, Sym)]) -> Self {
        let mut bytes = Vec::with_capacity(pairs.len() * 4);
        let mut last_key = 0;
        for &(key, value) in pairs {
            debug_assert!(key >= last_key, "rows are packed sorted by key");
            push_varint(&mut bytes, key - last_key);
            // Shifted by one so that the existence marker (`Sym::MAX`) takes a single byte.
            push_varint(&mut bytes, value.wrapping_add(1));
            last_key = key;
        }
        Self(bytes.into_boxed_slice())
    }

    pub fn iter(&self) -> impl Iterator<Item = (Sym, Sym)> + '_ {
        let mut bytes = self.0.iter().copied();
        let mut key = 0;
        std::iter::from_fn(move || {
            key += read_varint(&mut bytes)?;
            let value = read_varint(&mut bytes)?.wrapping_sub(1);
            Some((key, value))
        })
    }
}

fn push_varint(out: &mut Vec<u8>, mut n: u32) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn read_varint(bytes: &mut impl Iterator<Item = u8>) -> Option<u32> {
    let mut n = 0u32;
    for shift in (0..35).step_by(7) {
        let byte = bytes.next()?;
        n |= u32::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Some(n);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_come_back_as_packed_in_fewer_bytes() {
        let pairs = [
            (0, 0),
            (0, 5),
            (3, Sym::MAX),
            (3, 127),
            (3, 128),
            (200, 70_000),
            (200, Sym::MAX - 1),
            (Sym::MAX, 1),
        ];
        let rows = Rows::pack(&pairs);
        assert_eq!(rows.iter().collect::<Vec<_>>(), pairs);
        let small = Rows::pack(&[(1, 2), (1, 3), (2, Sym::MAX)]);
        assert_eq!(small.0.len(), 6, "small keys and values take a byte each");
        assert_eq!(Rows::pack(&[]).iter().count(), 0);
    }
}
