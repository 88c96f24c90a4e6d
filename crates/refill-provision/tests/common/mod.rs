//! Shared by the integration tests.

/// Bytes from hex written in groups: `"08 02 62 13 0a 07 486f6d65"`.
pub fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .flat_map(|chunk| {
            (0..chunk.len())
                .step_by(2)
                .map(move |i| u8::from_str_radix(&chunk[i..i + 2], 16).unwrap())
        })
        .collect()
}
