//! Secrets of the authorization server: random values, hashes, PKCE and password hashing.

use argon2::password_hash::{rand_core::OsRng, Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
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

/// A new invitation code: 128 random bits, 22 characters to paste.
pub fn new_invitation_code() -> Sensitive<String> {
    Sensitive::new(random_b64(16))
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
    let computed = refill_core::pkce::challenge_of(verifier);
    constant_time_eq(computed.as_bytes(), challenge.as_bytes())
}

pub use refill_core::catalog::POSSESSION_CONTEXT;

/// Whether `proof` (an Ed25519 signature, base64url) was made by `key` (an Ed25519 public key,
/// base64url) over [`POSSESSION_CONTEXT`] and `challenge`.
pub fn possession_proven(key: &str, challenge: &str, proof: &str) -> bool {
    use ed25519_dalek::{Signature, VerifyingKey};
    let Some(key) = URL_SAFE_NO_PAD
        .decode(key)
        .ok()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .and_then(|bytes| VerifyingKey::from_bytes(&bytes).ok())
    else {
        return false;
    };
    let Some(signature) = URL_SAFE_NO_PAD
        .decode(proof)
        .ok()
        .and_then(|bytes| <[u8; 64]>::try_from(bytes).ok())
    else {
        return false;
    };
    let message = format!("{POSSESSION_CONTEXT}{challenge}");
    key.verify_strict(message.as_bytes(), &Signature::from_bytes(&signature))
        .is_ok()
}

/// Whether a PKCE code verifier is well formed: 43 to 128 of `[A-Za-z0-9-._~]` (RFC 7636 §4.1).
pub fn valid_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// Whether `a` and `b` are equal, in time that does not depend on where they differ.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Memory for argon2 (19 MiB with the default parameters), kept by a password thread from one
/// hash or check to the next. Allocating it anew each time leaves the allocator holding one
/// more block of it per check after a burst (glibc raises its mmap threshold to the size of a
/// freed block, then serves the next ones from arenas it does not give back).
#[derive(Default)]
pub struct Argon2Memory(Vec<Block>);

/// The most memory a stored hash may ask for: four times the default.
const MAX_BLOCKS: usize = 4 * Params::DEFAULT_M_COST as usize;

impl Argon2Memory {
    fn blocks(&mut self, count: usize) -> Option<&mut [Block]> {
        if count > MAX_BLOCKS {
            return None;
        }
        if self.0.len() < count {
            self.0.resize(count, Block::default());
        }
        Some(&mut self.0[..count])
    }
}

/// An argon2id hash of `password` with the default parameters, in PHC string form.
pub fn hash_password(
    password: &Sensitive<String>,
    memory: &mut Argon2Memory,
) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    let params = Params::default();
    let argon = Argon2::new(Algorithm::Argon2id, Version::default(), params.clone());
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt.as_salt().decode_b64(&mut salt_bytes)?;
    let blocks = memory.blocks(params.block_count()).ok_or(
        argon2::password_hash::Error::ParamValueInvalid(
            argon2::password_hash::errors::InvalidValue::TooLong,
        ),
    )?;
    let output = Output::init_with(Params::DEFAULT_OUTPUT_LEN, |out| {
        argon
            .hash_password_into_with_memory(
                password.expose().as_bytes(),
                salt_bytes,
                out,
                &mut *blocks,
            )
            .map_err(Into::into)
    })?;
    Ok(PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::default().into()),
        params: ParamsString::try_from(&params)?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    }
    .to_string())
}

/// Whether `password` matches the PHC-form argon2 `hash`.
pub fn verify_password(
    password: &Sensitive<String>,
    hash: &str,
    memory: &mut Argon2Memory,
) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(version), Ok(params)) = (
        Algorithm::try_from(parsed.algorithm),
        parsed
            .version
            .map_or(Ok(Version::default()), Version::try_from),
        Params::try_from(&parsed),
    ) else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let (Ok(salt_bytes), Some(blocks)) = (
        salt.decode_b64(&mut salt_bytes),
        memory.blocks(params.block_count()),
    ) else {
        return false;
    };
    let mut computed = vec![0u8; expected.len()];
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(
            password.expose().as_bytes(),
            salt_bytes,
            &mut computed,
            blocks,
        )
        .is_ok()
        && constant_time_eq(&computed, expected.as_bytes())
}

/// Whether `secret` matches a client secret's stored digest.
pub fn client_secret_matches(secret: &str, stored_digest: &str) -> bool {
    constant_time_eq(digest(secret).as_bytes(), stored_digest.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn possession_is_a_signature_of_the_challenge_by_the_key() {
        use ed25519_dalek::{Signer, SigningKey};
        let device = SigningKey::from_bytes(&[7; 32]);
        let key = URL_SAFE_NO_PAD.encode(device.verifying_key().to_bytes());
        let sign = |challenge: &str| {
            let message = format!("{POSSESSION_CONTEXT}{challenge}");
            URL_SAFE_NO_PAD.encode(device.sign(message.as_bytes()).to_bytes())
        };
        let proof = sign("challenge-1");
        assert!(possession_proven(&key, "challenge-1", &proof));
        assert!(!possession_proven(&key, "challenge-2", &proof));
        let other = SigningKey::from_bytes(&[8; 32]);
        let other_key = URL_SAFE_NO_PAD.encode(other.verifying_key().to_bytes());
        assert!(!possession_proven(&other_key, "challenge-1", &proof));
        assert!(!possession_proven(&key, "challenge-1", "not base64!"));
        assert!(!possession_proven("short", "challenge-1", &proof));
    }

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
    fn passwords_hash_and_verify_with_memory_kept_between_them() {
        let mut memory = Argon2Memory::default();
        let password = Sensitive::new("correct horse".to_owned());
        let hash = hash_password(&password, &mut memory).unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(!hash.contains("correct horse"));
        assert!(verify_password(&password, &hash, &mut memory));
        assert!(!verify_password(
            &Sensitive::new("wrong".to_owned()),
            &hash,
            &mut memory
        ));
        assert!(!verify_password(&password, "not a hash", &mut memory));
        // A hash made by the argon2 crate's own PasswordHasher verifies too (hashes stored
        // before the memory was kept).
        use argon2::password_hash::PasswordHasher;
        let salt = SaltString::generate(&mut OsRng);
        let theirs = Argon2::default()
            .hash_password(b"correct horse", &salt)
            .unwrap()
            .to_string();
        assert!(verify_password(&password, &theirs, &mut memory));
        assert_eq!(
            memory.0.len(),
            Params::DEFAULT_M_COST as usize,
            "one block set, reused"
        );
    }
}
