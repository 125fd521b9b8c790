//! Appending a custom section to a wasm module or component.

/// A custom section may come last in either a module or a component, so the rest of the
/// binary is untouched.
pub fn append_custom_section(wasm: &mut Vec<u8>, name: &str, payload: &[u8]) {
    let mut body = leb128(name.len());
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(payload);
    wasm.push(0);
    wasm.extend(leb128(body.len()));
    wasm.extend(body);
}

fn leb128(mut value: usize) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn encodes_lengths_in_leb128() {
        assert_eq!(super::leb128(5), [5]);
        assert_eq!(super::leb128(300), [0xac, 0x02]);
    }
}
