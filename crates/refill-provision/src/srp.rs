//! SRP-6a as protocomm Security 2 uses it: the RFC 5054 3072-bit group (g = 5) with SHA-512.
//!
//! `k = H(N ‖ pad(g))`, `x = H(s ‖ H(I ‖ ":" ‖ p))`, `v = g^x`, `u = H(pad(A) ‖ pad(B))`,
//! `K = H(S)`, `M = H(H(N) ⊕ H(pad g) ‖ H(I) ‖ s ‖ A ‖ B ‖ K)`, `H_AMK = H(A ‖ M ‖ K)`; integers
//! are big-endian, minimal except where padded to the group's 384 bytes.

use num_bigint::BigUint;
use sha2::{Digest, Sha512};
use std::sync::OnceLock;

/// The length of the group's numbers, in bytes.
pub const LEN: usize = 384;

const N_HEX: [&str; 48] = [
    "FFFFFFFFFFFFFFFF",
    "C90FDAA22168C234",
    "C4C6628B80DC1CD1",
    "29024E088A67CC74",
    "020BBEA63B139B22",
    "514A08798E3404DD",
    "EF9519B3CD3A431B",
    "302B0A6DF25F1437",
    "4FE1356D6D51C245",
    "E485B576625E7EC6",
    "F44C42E9A637ED6B",
    "0BFF5CB6F406B7ED",
    "EE386BFB5A899FA5",
    "AE9F24117C4B1FE6",
    "49286651ECE45B3D",
    "C2007CB8A163BF05",
    "98DA48361C55D39A",
    "69163FA8FD24CF5F",
    "83655D23DCA3AD96",
    "1C62F356208552BB",
    "9ED529077096966D",
    "670C354E4ABC9804",
    "F1746C08CA18217C",
    "32905E462E36CE3B",
    "E39E772C180E8603",
    "9B2783A2EC07A28F",
    "B5C55DF06F4C52C9",
    "DE2BCBF695581718",
    "3995497CEA956AE5",
    "15D2261898FA0510",
    "15728E5A8AAAC42D",
    "AD33170D04507A33",
    "A85521ABDF1CBA64",
    "ECFB850458DBEF0A",
    "8AEA71575D060C7D",
    "B3970F85A6E1E4C7",
    "ABF5AE8CDB0933D7",
    "1E8C94E04A25619D",
    "CEE3D2261AD2EE6B",
    "F12FFA06D98A0864",
    "D87602733EC86A64",
    "521F2B18177B200C",
    "BBE117577A615D6C",
    "770988C0BAD946E2",
    "08E24FA074E5AB31",
    "43DB5BFCE0FD108E",
    "4B82D120A93AD2CA",
    "FFFFFFFFFFFFFFFF",
];

/// The group's prime.
pub fn n() -> &'static BigUint {
    static N: OnceLock<BigUint> = OnceLock::new();
    N.get_or_init(|| {
        BigUint::parse_bytes(N_HEX.concat().as_bytes(), 16).expect("the group prime is hex")
    })
}

/// The group's generator.
pub fn g() -> BigUint {
    BigUint::from(5u8)
}

/// SHA-512 of the concatenated parts.
pub fn h(parts: &[&[u8]]) -> [u8; 64] {
    let mut hasher = Sha512::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// `x` left-padded with zeros to [`LEN`] bytes.
pub fn pad(x: &BigUint) -> Vec<u8> {
    let bytes = x.to_bytes_be();
    let mut out = vec![0u8; LEN.saturating_sub(bytes.len())];
    out.extend_from_slice(&bytes);
    out
}

fn k() -> BigUint {
    BigUint::from_bytes_be(&h(&[&pad(n()), &pad(&g())]))
}

/// The private key `x` for `username`, `password` and `salt`.
pub fn x(username: &[u8], password: &[u8], salt: &[u8]) -> BigUint {
    let inner = h(&[username, b":", password]);
    BigUint::from_bytes_be(&h(&[salt, &inner]))
}

/// The verifier the device keeps: `g^x mod N`, padded to [`LEN`] bytes.
pub fn verifier(username: &[u8], password: &[u8], salt: &[u8]) -> Vec<u8> {
    pad(&g().modpow(&x(username, password, salt), n()))
}

fn u(a_pub: &BigUint, b_pub: &BigUint) -> BigUint {
    BigUint::from_bytes_be(&h(&[&pad(a_pub), &pad(b_pub)]))
}

/// The proof `M` of knowing the session key.
pub fn client_proof(
    username: &[u8],
    salt: &[u8],
    a_pub: &[u8],
    b_pub: &[u8],
    key: &[u8],
) -> [u8; 64] {
    let hn = h(&[&pad(n())]);
    let hg = h(&[&pad(&g())]);
    let xor: Vec<u8> = hn.iter().zip(hg.iter()).map(|(a, b)| a ^ b).collect();
    h(&[&xor, &h(&[username]), salt, a_pub, b_pub, key])
}

/// The device's answer to a correct proof: `H(A ‖ M ‖ K)`.
pub fn device_proof(a_pub: &[u8], m: &[u8], key: &[u8]) -> [u8; 64] {
    h(&[a_pub, m, key])
}

/// The client's ephemeral key pair: `a` and `A = g^a`, re-rolled until `A` fills [`LEN`] bytes
/// (devices hash `A` as received; esp_prov does the same).
pub fn client_keys(mut random: impl FnMut() -> [u8; 32]) -> (BigUint, Vec<u8>) {
    loop {
        let a = BigUint::from_bytes_be(&random());
        let a_pub = g().modpow(&a, n()).to_bytes_be();
        if a_pub.len() == LEN {
            return (a, a_pub);
        }
    }
}

/// The client's session key `K = H(S)`, `S = (B − k·v)^(a + u·x)`; `None` for an invalid `B`.
pub fn client_key(
    username: &[u8],
    password: &[u8],
    salt: &[u8],
    a: &BigUint,
    a_pub: &[u8],
    b_pub: &[u8],
) -> Option<[u8; 64]> {
    let n = n();
    let b = BigUint::from_bytes_be(b_pub);
    if (&b % n) == BigUint::ZERO {
        return None;
    }
    let x = x(username, password, salt);
    let v = g().modpow(&x, n);
    let kv = (k() * v) % n;
    let base = ((&b % n) + n - kv) % n;
    let exp = a + u(&BigUint::from_bytes_be(a_pub), &b) * x;
    let s = base.modpow(&exp, n);
    Some(h(&[&s.to_bytes_be()]))
}

/// The device's ephemeral key pair for verifier `v`: `b` and `B = k·v + g^b`.
pub fn device_keys(v: &[u8], random: [u8; 32]) -> (BigUint, Vec<u8>) {
    let n = n();
    let b = BigUint::from_bytes_be(&random);
    let v = BigUint::from_bytes_be(v);
    let b_pub = (k() * v + g().modpow(&b, n)) % n;
    (b, b_pub.to_bytes_be())
}

/// The device's session key `K = H(S)`, `S = (A·v^u)^b`; `None` for an invalid `A`.
pub fn device_key(v: &[u8], b: &BigUint, a_pub: &[u8], b_pub: &[u8]) -> Option<[u8; 64]> {
    let n = n();
    let a = BigUint::from_bytes_be(a_pub);
    if (&a % n) == BigUint::ZERO {
        return None;
    }
    let v = BigUint::from_bytes_be(v);
    let u = u(&a, &BigUint::from_bytes_be(b_pub));
    let s = (a * v.modpow(&u, n)).modpow(b, n);
    Some(h(&[&s.to_bytes_be()]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        s.split_whitespace()
            .map(|b| u8::from_str_radix(b, 16).unwrap())
            .collect()
    }

    /// The IDF example's dev-mode credentials reproduce the example's verifier.
    #[test]
    fn the_esp_idf_example_verifier_is_reproduced() {
        let salt = unhex("03 6e e0 c7 bc b9 ed a8 4c 9e ac 97 d9 3d ec f4");
        let v = verifier(b"wifiprov", b"abcd1234", &salt);
        assert_eq!(v.len(), LEN);
        assert_eq!(v[..8], unhex("7c 7c 85 47 65 08 94 6d")[..]);
    }

    #[test]
    fn both_sides_agree_on_the_key_only_with_the_right_password() {
        let salt = [7u8; 16];
        let v = verifier(b"wifiprov", b"abcd1234", &salt);
        let mut seed = 1u8;
        let (a, a_pub) = client_keys(|| {
            seed = seed.wrapping_add(1);
            [seed; 32]
        });
        let (b, b_pub) = device_keys(&v, [9u8; 32]);
        let device = device_key(&v, &b, &a_pub, &b_pub).unwrap();
        let client = client_key(b"wifiprov", b"abcd1234", &salt, &a, &a_pub, &b_pub).unwrap();
        assert_eq!(client, device);
        let wrong = client_key(b"wifiprov", b"abcd1235", &salt, &a, &a_pub, &b_pub).unwrap();
        assert_ne!(wrong, device);
        assert!(
            device_key(&v, &b, &pad(n()), &b_pub).is_none(),
            "A = N is refused"
        );
    }
}
