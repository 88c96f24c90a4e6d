//! Secrets of the authorization server: random values, hashes, PKCE and password hashing.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::distributions::Alphanumeric;
use rand::{Rng, RngCore};
use refill_core::Sensitive;
use sha2::{Digest, Sha256};

/// A new access token: `Atza|` and 256 random bits.
pub fn new_access_token() -> Sensitive<String> {
    Sensitive::new(format!("Atza|{}", random_b64(32)))
}

/// A new refresh token: `Atzr|` and 256 random bits.
pub fn new_refresh_token() -> Sensitive<String> {
    Sensitive::new(format!("Atzr|{}", random_b64(32)))
}

/// A new authorization code: 20 random letters and digits, as LwA's look.
pub fn new_code() -> Sensitive<String> {
    Sensitive::new(
        rand::thread_rng()
            .sample_iter(&Alphanumeric)
            .take(20)
            .map(char::from)
            .collect(),
    )
}

/// A new secret for a confidential client: 256 random bits.
pub fn new_client_secret() -> Sensitive<String> {
    Sensitive::new(random_b64(32))
}

/// A new consent ticket.
pub fn new_ticket() -> Sensitive<String> {
    Sensitive::new(random_b64(32))
}

fn random_b64(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// The SHA-256 hex digest under which a code, token or ticket is stored.
pub fn digest(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// Lower-case hexadecimal of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// Whether `verifier` answers the S256 `challenge` (RFC 7636 §4.6; `plain` is not accepted).
pub fn pkce_matches(challenge: &str, verifier: &str) -> bool {
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    constant_time_eq(computed.as_bytes(), challenge.as_bytes())
}

/// Whether a PKCE code verifier is well formed: 43 to 128 of `[A-Za-z0-9-._~]` (RFC 7636 §4.1).
pub fn valid_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// An argon2id hash of `password`, in PHC string form.
pub fn hash_password(password: &Sensitive<String>) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(password.expose().as_bytes(), &salt)?
        .to_string())
}

/// Whether `password` matches the PHC-form `hash`.
pub fn verify_password(password: &Sensitive<String>, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.expose().as_bytes(), &parsed)
            .is_ok()
    })
}

/// Whether `secret` matches a client secret's stored digest.
pub fn client_secret_matches(secret: &str, stored_digest: &str) -> bool {
    constant_time_eq(digest(secret).as_bytes(), stored_digest.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_matches_the_rfc_7636_example() {
        // RFC 7636 Appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(valid_verifier(verifier));
        assert!(pkce_matches(challenge, verifier));
        assert!(!pkce_matches(
            challenge,
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXX"
        ));
        // `plain` would compare the verifier itself.
        assert!(!pkce_matches(verifier, verifier));
    }

    #[test]
    fn verifiers_are_validated() {
        assert!(!valid_verifier("short"));
        assert!(!valid_verifier(&"a".repeat(129)));
        assert!(!valid_verifier(&format!("{}!", "a".repeat(50))));
    }

    #[test]
    fn tokens_have_lwa_prefixes_and_are_unique() {
        let (a, b) = (new_access_token(), new_access_token());
        assert!(a.expose().starts_with("Atza|"));
        assert!(new_refresh_token().expose().starts_with("Atzr|"));
        assert_ne!(a, b);
        assert_eq!(new_code().expose().len(), 20);
        assert_eq!(digest("abc").len(), 64);
    }

    #[test]
    fn passwords_hash_and_verify() {
        let password = Sensitive::new("correct horse".to_owned());
        let hash = hash_password(&password).unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(!hash.contains("correct"));
        assert!(verify_password(&password, &hash));
        assert!(!verify_password(&Sensitive::new("wrong".to_owned()), &hash));
        assert!(!verify_password(&password, "not a hash"));
    }
}
