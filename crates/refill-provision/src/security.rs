//! Protocomm sessions: the handshakes on `prov-session` and the ciphers that follow, for both the
//! app (client) and the device.
//!
//! * Security 0: one round trip, no encryption.
//! * Security 1: X25519; the shared secret XOR SHA-256(proof of possession) keys AES-256-CTR with
//!   the device's 16 random bytes as the first counter block. One keystream serves the whole
//!   session in both directions (client encrypts, device decrypts, device encrypts, …).
//! * Security 2: SRP-6a ([`crate::srp`]); AES-256-GCM keyed with `K[0..32]`, nonce = the device's
//!   12 bytes (8 random ‖ 32-bit big-endian counter); with `sec_patch_ver` 1 the counter steps after
//!   every encryption and decryption on both sides, with 0 it never changes.

use crate::error::ProvError;
use crate::proto::{
    sec0_payload, sec1_payload, sec2_payload, session_data, S0SessionCmd, S0SessionResp,
    S2SessionCmd0, S2SessionCmd1, S2SessionResp0, S2SessionResp1, Sec0Payload, Sec1Payload,
    Sec2Payload, SecSchemeVersion, SessionCmd0, SessionCmd1, SessionData, SessionResp0,
    SessionResp1, Status,
};
use crate::srp;
use aes::cipher::{KeyIvInit, StreamCipher};
use aes_gcm::aead::{Aead, KeyInit};
use prost::Message;
use refill_core::Sensitive;
use sha2::{Digest, Sha256};

type Aes256Ctr = ctr::Ctr128BE<aes::Aes256>;

/// Encrypts requests and decrypts responses (or the reverse, on the device) once a session is up.
pub trait Cipher: Send {
    /// Encrypts the next message.
    fn encrypt(&mut self, plain: &[u8]) -> Vec<u8>;
    /// Decrypts the next message.
    fn decrypt(&mut self, data: &[u8]) -> Result<Vec<u8>, ProvError>;
}

/// Security 0: messages go as they are.
#[derive(Debug, Default)]
pub struct Plain;

impl Cipher for Plain {
    fn encrypt(&mut self, plain: &[u8]) -> Vec<u8> {
        plain.to_vec()
    }
    fn decrypt(&mut self, data: &[u8]) -> Result<Vec<u8>, ProvError> {
        Ok(data.to_vec())
    }
}

/// Security 1: one AES-256-CTR keystream for the whole session.
pub struct Sec1Cipher(Aes256Ctr);

impl Sec1Cipher {
    fn new(key: &[u8; 32], device_random: &[u8; 16]) -> Self {
        Self(Aes256Ctr::new(key.into(), device_random.into()))
    }
}

impl Cipher for Sec1Cipher {
    fn encrypt(&mut self, plain: &[u8]) -> Vec<u8> {
        let mut data = plain.to_vec();
        self.0.apply_keystream(&mut data);
        data
    }
    fn decrypt(&mut self, data: &[u8]) -> Result<Vec<u8>, ProvError> {
        Ok(self.encrypt(data))
    }
}

/// Security 2: AES-256-GCM with the device's nonce.
pub struct Sec2Cipher {
    aead: aes_gcm::Aes256Gcm,
    nonce: [u8; 12],
    step_nonce: bool,
}

impl Sec2Cipher {
    fn new(key: &[u8; 64], nonce: [u8; 12], sec_patch_ver: u32) -> Self {
        Self {
            aead: aes_gcm::Aes256Gcm::new(key[..32].into()),
            nonce,
            step_nonce: sec_patch_ver >= 1,
        }
    }

    fn step(&mut self) {
        if self.step_nonce {
            let counter =
                u32::from_be_bytes([self.nonce[8], self.nonce[9], self.nonce[10], self.nonce[11]]);
            self.nonce[8..].copy_from_slice(&counter.wrapping_add(1).to_be_bytes());
        }
    }
}

impl Cipher for Sec2Cipher {
    fn encrypt(&mut self, plain: &[u8]) -> Vec<u8> {
        let data = self
            .aead
            .encrypt((&self.nonce).into(), plain)
            .unwrap_or_default();
        self.step();
        data
    }
    fn decrypt(&mut self, data: &[u8]) -> Result<Vec<u8>, ProvError> {
        let plain = self.aead.decrypt((&self.nonce).into(), data);
        self.step();
        plain.map_err(|_| ProvError::protocol("a message failed its integrity check"))
    }
}

/// How the app proves to the device that it may provision it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Security {
    /// No security.
    Sec0,
    /// Security 1, with the device's proof of possession (none for `no_pop` devices).
    Sec1 {
        /// The proof of possession.
        pop: Option<Sensitive<String>>,
    },
    /// Security 2, with the device's username and password.
    Sec2 {
        /// The username (`wifiprov` on Espressif's examples).
        username: String,
        /// The password.
        password: Sensitive<String>,
    },
}

impl Security {
    /// The scheme, as `SessionData.sec_ver` and `proto-ver`'s `sec_ver` number it.
    pub fn version(&self) -> SecSchemeVersion {
        match self {
            Security::Sec0 => SecSchemeVersion::SecScheme0,
            Security::Sec1 { .. } => SecSchemeVersion::SecScheme1,
            Security::Sec2 { .. } => SecSchemeVersion::SecScheme2,
        }
    }
}

fn session(version: SecSchemeVersion, proto: session_data::Proto) -> Vec<u8> {
    SessionData {
        sec_ver: version as i32,
        proto: Some(proto),
    }
    .encode_to_vec()
}

fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    bytes
}

fn sec1_key(shared: &[u8; 32], pop: Option<&[u8]>) -> [u8; 32] {
    let mut key = *shared;
    if let Some(pop) = pop.filter(|p| !p.is_empty()) {
        let digest = Sha256::digest(pop);
        for (k, d) in key.iter_mut().zip(digest.iter()) {
            *k ^= d;
        }
    }
    key
}

fn bytes32(bytes: &[u8], what: &str) -> Result<[u8; 32], ProvError> {
    bytes
        .try_into()
        .map_err(|_| ProvError::protocol(format!("{what} is not 32 bytes")))
}

/// What the client does next in a handshake.
pub enum Step {
    /// Send these bytes on `prov-session` and give the answer to [`ClientHandshake::step`].
    Send(Vec<u8>),
    /// The session is up.
    Done(Box<dyn Cipher>),
}

enum ClientState {
    Sec0,
    Sec1Sent0 {
        secret: x25519_dalek::StaticSecret,
        public: [u8; 32],
        pop: Option<Sensitive<String>>,
    },
    Sec1Sent1 {
        cipher: Box<Sec1Cipher>,
        public: [u8; 32],
    },
    Sec2Sent0 {
        username: String,
        password: Sensitive<String>,
        a: num_bigint::BigUint,
        a_pub: Vec<u8>,
        patch: u32,
    },
    Sec2Sent1 {
        key: [u8; 64],
        expected: [u8; 64],
        patch: u32,
    },
    Over,
}

/// The app's side of a handshake.
pub struct ClientHandshake {
    version: SecSchemeVersion,
    state: ClientState,
}

impl ClientHandshake {
    /// Starts a handshake with `security`; `sec_patch_ver` comes from the device's `proto-ver`.
    /// Returns the first request.
    pub fn start(security: &Security, sec_patch_ver: u32) -> (Self, Vec<u8>) {
        let version = security.version();
        let (state, request) = match security {
            Security::Sec0 => (
                ClientState::Sec0,
                session(
                    version,
                    session_data::Proto::Sec0(Sec0Payload {
                        msg: 0,
                        payload: Some(sec0_payload::Payload::Sc(S0SessionCmd {})),
                    }),
                ),
            ),
            Security::Sec1 { pop } => {
                let secret = x25519_dalek::StaticSecret::from(random::<32>());
                let public = x25519_dalek::PublicKey::from(&secret).to_bytes();
                let request = session(
                    version,
                    session_data::Proto::Sec1(Sec1Payload {
                        msg: 0,
                        payload: Some(sec1_payload::Payload::Sc0(SessionCmd0 {
                            client_pubkey: public.to_vec(),
                        })),
                    }),
                );
                (
                    ClientState::Sec1Sent0 {
                        secret,
                        public,
                        pop: pop.clone(),
                    },
                    request,
                )
            }
            Security::Sec2 { username, password } => {
                let (a, a_pub) = srp::client_keys(random::<32>);
                let request = session(
                    version,
                    session_data::Proto::Sec2(Sec2Payload {
                        msg: 0,
                        payload: Some(sec2_payload::Payload::Sc0(S2SessionCmd0 {
                            client_username: username.as_bytes().to_vec(),
                            client_pubkey: a_pub.clone(),
                        })),
                    }),
                );
                (
                    ClientState::Sec2Sent0 {
                        username: username.clone(),
                        password: password.clone(),
                        a,
                        a_pub,
                        patch: sec_patch_ver,
                    },
                    request,
                )
            }
        };
        (Self { version, state }, request)
    }

    /// Takes the device's answer to the last request.
    pub fn step(&mut self, answer: &[u8]) -> Result<Step, ProvError> {
        let data = SessionData::decode(answer)?;
        if data.sec_ver != self.version as i32 {
            return Err(ProvError::Device(
                "it uses another kind of security".to_owned(),
            ));
        }
        match (
            std::mem::replace(&mut self.state, ClientState::Over),
            data.proto,
        ) {
            (ClientState::Sec0, Some(session_data::Proto::Sec0(p))) => match p.payload {
                Some(sec0_payload::Payload::Sr(S0SessionResp { status })) => {
                    ProvError::check(status)?;
                    Ok(Step::Done(Box::new(Plain)))
                }
                _ => Err(ProvError::protocol("no Security 0 answer")),
            },
            (
                ClientState::Sec1Sent0 {
                    secret,
                    public,
                    pop,
                },
                Some(session_data::Proto::Sec1(p)),
            ) => {
                let Some(sec1_payload::Payload::Sr0(r)) = p.payload else {
                    return Err(ProvError::protocol("no Security 1 answer"));
                };
                ProvError::check(r.status)?;
                let device_public = bytes32(&r.device_pubkey, "the device's key")?;
                let device_random: [u8; 16] = r
                    .device_random
                    .as_slice()
                    .try_into()
                    .map_err(|_| ProvError::protocol("the device's random is not 16 bytes"))?;
                let shared = secret.diffie_hellman(&x25519_dalek::PublicKey::from(device_public));
                let key = sec1_key(
                    shared.as_bytes(),
                    pop.as_ref().map(|p| p.expose().as_bytes()),
                );
                let mut cipher = Sec1Cipher::new(&key, &device_random);
                let verify = cipher.encrypt(&device_public);
                self.state = ClientState::Sec1Sent1 {
                    cipher: Box::new(cipher),
                    public,
                };
                Ok(Step::Send(session(
                    self.version,
                    session_data::Proto::Sec1(Sec1Payload {
                        msg: 2,
                        payload: Some(sec1_payload::Payload::Sc1(SessionCmd1 {
                            client_verify_data: verify,
                        })),
                    }),
                )))
            }
            (ClientState::Sec1Sent1 { mut cipher, public }, Some(session_data::Proto::Sec1(p))) => {
                let Some(sec1_payload::Payload::Sr1(r)) = p.payload else {
                    return Err(ProvError::protocol("no Security 1 answer"));
                };
                if Status::try_from(r.status) == Ok(Status::CryptoError) {
                    return Err(ProvError::WrongProofOfPossession);
                }
                ProvError::check(r.status)?;
                if cipher.decrypt(&r.device_verify_data)? != public {
                    return Err(ProvError::WrongProofOfPossession);
                }
                Ok(Step::Done(cipher))
            }
            (
                ClientState::Sec2Sent0 {
                    username,
                    password,
                    a,
                    a_pub,
                    patch,
                },
                Some(session_data::Proto::Sec2(p)),
            ) => {
                let Some(sec2_payload::Payload::Sr0(r)) = p.payload else {
                    return Err(ProvError::protocol("no Security 2 answer"));
                };
                ProvError::check(r.status)?;
                let key = srp::client_key(
                    username.as_bytes(),
                    password.expose().as_bytes(),
                    &r.device_salt,
                    &a,
                    &a_pub,
                    &r.device_pubkey,
                )
                .ok_or_else(|| ProvError::protocol("the device's public key is invalid"))?;
                let m = srp::client_proof(
                    username.as_bytes(),
                    &r.device_salt,
                    &a_pub,
                    &r.device_pubkey,
                    &key,
                );
                let expected = srp::device_proof(&a_pub, &m, &key);
                self.state = ClientState::Sec2Sent1 {
                    key,
                    expected,
                    patch,
                };
                Ok(Step::Send(session(
                    self.version,
                    session_data::Proto::Sec2(Sec2Payload {
                        msg: 2,
                        payload: Some(sec2_payload::Payload::Sc1(S2SessionCmd1 {
                            client_proof: m.to_vec(),
                        })),
                    }),
                )))
            }
            (
                ClientState::Sec2Sent1 {
                    key,
                    expected,
                    patch,
                },
                Some(session_data::Proto::Sec2(p)),
            ) => {
                let Some(sec2_payload::Payload::Sr1(r)) = p.payload else {
                    return Err(ProvError::protocol("no Security 2 answer"));
                };
                if Status::try_from(r.status) == Ok(Status::CryptoError) {
                    return Err(ProvError::WrongCredentials);
                }
                ProvError::check(r.status)?;
                if r.device_proof != expected {
                    return Err(ProvError::protocol(
                        "the device could not prove it knows the password",
                    ));
                }
                let nonce: [u8; 12] = r
                    .device_nonce
                    .as_slice()
                    .try_into()
                    .map_err(|_| ProvError::protocol("the device's nonce is not 12 bytes"))?;
                Ok(Step::Done(Box::new(Sec2Cipher::new(&key, nonce, patch))))
            }
            _ => Err(ProvError::protocol(
                "an answer out of order in the handshake",
            )),
        }
    }
}

/// What a device is set up with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceSecurity {
    /// No security.
    Sec0,
    /// Security 1 with a proof of possession (or none).
    Sec1 {
        /// The proof of possession, as printed on the device.
        pop: Option<Sensitive<String>>,
    },
    /// Security 2 with a salt and verifier made from a username and password.
    Sec2 {
        /// The username.
        username: String,
        /// The salt (16 bytes).
        salt: Vec<u8>,
        /// The verifier ([`srp::verifier`]).
        verifier: Vec<u8>,
        /// 1 for current firmware (the nonce steps), 0 for old firmware.
        patch_ver: u32,
    },
}

impl DeviceSecurity {
    /// The `sec_ver` the device reports.
    pub fn version(&self) -> u32 {
        match self {
            DeviceSecurity::Sec0 => 0,
            DeviceSecurity::Sec1 { .. } => 1,
            DeviceSecurity::Sec2 { .. } => 2,
        }
    }

    /// Security 2 for `username` and `password`, with a fresh salt.
    pub fn sec2(username: &str, password: &str) -> Self {
        let salt = random::<16>().to_vec();
        let verifier = srp::verifier(username.as_bytes(), password.as_bytes(), &salt);
        DeviceSecurity::Sec2 {
            username: username.to_owned(),
            salt,
            verifier,
            patch_ver: 1,
        }
    }
}

enum DeviceState {
    Idle,
    Sec1Got0 {
        cipher: Box<Sec1Cipher>,
        device_public: [u8; 32],
        client_public: [u8; 32],
    },
    Sec2Got0 {
        b: num_bigint::BigUint,
        a_pub: Vec<u8>,
        b_pub: Vec<u8>,
        username: Vec<u8>,
    },
}

/// The device's side of the handshakes: one per connection.
pub struct DeviceHandshake {
    security: DeviceSecurity,
    state: DeviceState,
}

impl DeviceHandshake {
    /// A device set up with `security`, before any request.
    pub fn new(security: DeviceSecurity) -> Self {
        Self {
            security,
            state: DeviceState::Idle,
        }
    }

    /// Answers one `prov-session` request. When the session is up, also returns its cipher.
    pub fn handle(&mut self, request: &[u8]) -> (Vec<u8>, Option<Box<dyn Cipher>>) {
        let Ok(data) = SessionData::decode(request) else {
            return (self.refusal(Status::InvalidProto), None);
        };
        if data.sec_ver != self.security.version() as i32 {
            return (self.refusal(Status::InvalidSecScheme), None);
        }
        let version =
            SecSchemeVersion::try_from(data.sec_ver).unwrap_or(SecSchemeVersion::SecScheme0);
        match (
            &self.security,
            std::mem::replace(&mut self.state, DeviceState::Idle),
            data.proto,
        ) {
            (DeviceSecurity::Sec0, _, Some(session_data::Proto::Sec0(_))) => (
                session(
                    version,
                    session_data::Proto::Sec0(Sec0Payload {
                        msg: 1,
                        payload: Some(sec0_payload::Payload::Sr(S0SessionResp { status: 0 })),
                    }),
                ),
                Some(Box::new(Plain)),
            ),
            (
                DeviceSecurity::Sec1 { pop },
                _,
                Some(session_data::Proto::Sec1(Sec1Payload {
                    payload: Some(sec1_payload::Payload::Sc0(c)),
                    ..
                })),
            ) => {
                let Ok(client_public) = bytes32(&c.client_pubkey, "key") else {
                    return (self.refusal(Status::InvalidArgument), None);
                };
                let secret = x25519_dalek::StaticSecret::from(random::<32>());
                let device_public = x25519_dalek::PublicKey::from(&secret).to_bytes();
                let shared = secret.diffie_hellman(&x25519_dalek::PublicKey::from(client_public));
                let key = sec1_key(
                    shared.as_bytes(),
                    pop.as_ref().map(|p| p.expose().as_bytes()),
                );
                let device_random = random::<16>();
                self.state = DeviceState::Sec1Got0 {
                    cipher: Box::new(Sec1Cipher::new(&key, &device_random)),
                    device_public,
                    client_public,
                };
                (
                    session(
                        version,
                        session_data::Proto::Sec1(Sec1Payload {
                            msg: 1,
                            payload: Some(sec1_payload::Payload::Sr0(SessionResp0 {
                                status: 0,
                                device_pubkey: device_public.to_vec(),
                                device_random: device_random.to_vec(),
                            })),
                        }),
                    ),
                    None,
                )
            }
            (
                DeviceSecurity::Sec1 { .. },
                DeviceState::Sec1Got0 {
                    mut cipher,
                    device_public,
                    client_public,
                },
                Some(session_data::Proto::Sec1(Sec1Payload {
                    payload: Some(sec1_payload::Payload::Sc1(c)),
                    ..
                })),
            ) => {
                let check = cipher.decrypt(&c.client_verify_data).unwrap_or_default();
                if check != device_public {
                    return (self.sec1_answer1(Status::CryptoError, Vec::new()), None);
                }
                let verify = cipher.encrypt(&client_public);
                (self.sec1_answer1(Status::Success, verify), Some(cipher))
            }
            (
                DeviceSecurity::Sec2 {
                    username,
                    salt,
                    verifier,
                    ..
                },
                _,
                Some(session_data::Proto::Sec2(Sec2Payload {
                    payload: Some(sec2_payload::Payload::Sc0(c)),
                    ..
                })),
            ) => {
                if c.client_username != username.as_bytes() {
                    return (
                        self.sec2_answer0(Status::CryptoError, Vec::new(), Vec::new()),
                        None,
                    );
                }
                let (b, b_pub) = srp::device_keys(verifier, random::<32>());
                let salt = salt.clone();
                self.state = DeviceState::Sec2Got0 {
                    b,
                    a_pub: c.client_pubkey,
                    b_pub: b_pub.clone(),
                    username: c.client_username,
                };
                (self.sec2_answer0(Status::Success, b_pub, salt), None)
            }
            (
                DeviceSecurity::Sec2 {
                    salt,
                    verifier,
                    patch_ver,
                    ..
                },
                DeviceState::Sec2Got0 {
                    b,
                    a_pub,
                    b_pub,
                    username,
                },
                Some(session_data::Proto::Sec2(Sec2Payload {
                    payload: Some(sec2_payload::Payload::Sc1(c)),
                    ..
                })),
            ) => {
                let Some(key) = srp::device_key(verifier, &b, &a_pub, &b_pub) else {
                    return (
                        self.sec2_answer1(Status::CryptoError, Vec::new(), Vec::new()),
                        None,
                    );
                };
                let m = srp::client_proof(&username, salt, &a_pub, &b_pub, &key);
                if c.client_proof != m {
                    return (
                        self.sec2_answer1(Status::CryptoError, Vec::new(), Vec::new()),
                        None,
                    );
                }
                let mut nonce = [0u8; 12];
                nonce[..8].copy_from_slice(&random::<8>());
                nonce[8..].copy_from_slice(&1u32.to_be_bytes());
                let proof = srp::device_proof(&a_pub, &m, &key);
                let patch = *patch_ver;
                (
                    self.sec2_answer1(Status::Success, proof.to_vec(), nonce.to_vec()),
                    Some(Box::new(Sec2Cipher::new(&key, nonce, patch))),
                )
            }
            _ => (self.refusal(Status::InvalidSession), None),
        }
    }

    fn sec1_answer1(&self, status: Status, verify: Vec<u8>) -> Vec<u8> {
        session(
            SecSchemeVersion::SecScheme1,
            session_data::Proto::Sec1(Sec1Payload {
                msg: 3,
                payload: Some(sec1_payload::Payload::Sr1(SessionResp1 {
                    status: status as i32,
                    device_verify_data: verify,
                })),
            }),
        )
    }

    fn sec2_answer0(&self, status: Status, b_pub: Vec<u8>, salt: Vec<u8>) -> Vec<u8> {
        session(
            SecSchemeVersion::SecScheme2,
            session_data::Proto::Sec2(Sec2Payload {
                msg: 1,
                payload: Some(sec2_payload::Payload::Sr0(S2SessionResp0 {
                    status: status as i32,
                    device_pubkey: b_pub,
                    device_salt: salt,
                })),
            }),
        )
    }

    fn sec2_answer1(&self, status: Status, proof: Vec<u8>, nonce: Vec<u8>) -> Vec<u8> {
        session(
            SecSchemeVersion::SecScheme2,
            session_data::Proto::Sec2(Sec2Payload {
                msg: 3,
                payload: Some(sec2_payload::Payload::Sr1(S2SessionResp1 {
                    status: status as i32,
                    device_proof: proof,
                    device_nonce: nonce,
                })),
            }),
        )
    }

    /// An answer in this device's scheme carrying only an error status.
    fn refusal(&self, status: Status) -> Vec<u8> {
        match &self.security {
            DeviceSecurity::Sec0 => session(
                SecSchemeVersion::SecScheme0,
                session_data::Proto::Sec0(Sec0Payload {
                    msg: 1,
                    payload: Some(sec0_payload::Payload::Sr(S0SessionResp {
                        status: status as i32,
                    })),
                }),
            ),
            DeviceSecurity::Sec1 { .. } => session(
                SecSchemeVersion::SecScheme1,
                session_data::Proto::Sec1(Sec1Payload {
                    msg: 1,
                    payload: Some(sec1_payload::Payload::Sr0(SessionResp0 {
                        status: status as i32,
                        ..Default::default()
                    })),
                }),
            ),
            DeviceSecurity::Sec2 { .. } => self.sec2_answer0(status, Vec::new(), Vec::new()),
        }
    }
}
