//! A P-256 signing key inside a PKCS#11 token (an HSM, or SoftHSM2 in tests), behind the same
//! [`Signer`] trait as the software key, so credentials, status lists, metadata, request objects
//! and trust lists can all be signed without the private key ever leaving the token.
//!
//! The message is hashed with SHA-256 in software (aws-lc-rs) and the token signs the digest
//! with `CKM_ECDSA`, which returns the fixed-size `r || s` JOSE ES256 and COSE -7 both use.
//!
//! Sessions: a PKCS#11 session must not be used by two threads at once, so the signer keeps a
//! small pool of logged-in sessions (at most [`Pkcs11Config::max_sessions`]); a signing call
//! takes one, signs, and gives it back. A session that fails is closed and the call retried
//! once on a fresh one, so a token that dropped its sessions (restart, re-plug) recovers.
//!
//! PKCS#11 modules are process-wide: each module file is loaded and `C_Initialize`d once per
//! process and kept for its lifetime, however many signers use it. Login state is per token
//! and process too (PKCS#11 §5.6): the first signer to log in opens the token for all.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use zeroize::Zeroizing;

use super::{Algorithm, Curve, KeyError, PublicKey, Signer};

/// DER of the named-curve OID 1.2.840.10045.3.1.7 (prime256v1), the `CKA_EC_PARAMS` of a
/// P-256 key (PKCS#11 3.0 §2.3.3, ANSI X9.62 `ECParameters` choice `namedCurve`).
const P256_EC_PARAMS: [u8; 10] = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

/// Sessions a signer opens at most when none is given: enough to keep a few cores busy while
/// staying far below the session limits of network HSMs.
pub const DEFAULT_MAX_SESSIONS: usize = 4;

/// Which key in the token: by `CKA_LABEL` or by `CKA_ID`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySelector {
    /// The key whose `CKA_LABEL` is this text.
    Label(String),
    /// The key whose `CKA_ID` is these bytes.
    Id(Vec<u8>),
}

impl std::fmt::Display for KeySelector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySelector::Label(label) => write!(f, "label `{label}`"),
            KeySelector::Id(id) => write!(f, "id {}", hex::encode(id)),
        }
    }
}

/// Where the key is and how to get at it. The PIN is zeroized when the config is dropped and
/// never printed (`Debug` hides it).
#[derive(Clone)]
pub struct Pkcs11Config {
    /// Path of the PKCS#11 module (`.so`), e.g. `/usr/lib/softhsm/libsofthsm2.so`.
    pub module: PathBuf,
    /// `CKA_LABEL` of the token (as given at token initialisation).
    pub token_label: String,
    /// The private key to sign with.
    pub key: KeySelector,
    /// The user PIN of the token.
    pub pin: Zeroizing<String>,
    /// The most sessions the signer keeps open (at least 1). With 1, signing is serialised
    /// through a single session.
    pub max_sessions: usize,
}

impl std::fmt::Debug for Pkcs11Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Config")
            .field("module", &self.module)
            .field("token_label", &self.token_label)
            .field("key", &self.key)
            .field("pin", &"<redacted>")
            .field("max_sessions", &self.max_sessions)
            .finish()
    }
}

impl Pkcs11Config {
    /// A config with [`DEFAULT_MAX_SESSIONS`].
    pub fn new(
        module: impl Into<PathBuf>,
        token_label: impl Into<String>,
        key: KeySelector,
        pin: Zeroizing<String>,
    ) -> Self {
        Pkcs11Config {
            module: module.into(),
            token_label: token_label.into(),
            key,
            pin,
            max_sessions: DEFAULT_MAX_SESSIONS,
        }
    }
}

/// Why a PKCS#11 key could not be opened, generated or used. No variant carries the PIN.
#[derive(Debug, thiserror::Error)]
pub enum Pkcs11Error {
    /// The module file could not be loaded or initialised.
    #[error("PKCS#11 module {path}: {reason}")]
    Module {
        /// The module path from the config.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// No slot holds a token with this label.
    #[error("no PKCS#11 token labelled `{0}`")]
    TokenNotFound(String),
    /// More than one slot holds a token with this label, so the choice would be a guess.
    #[error("more than one PKCS#11 token labelled `{0}`")]
    AmbiguousToken(String),
    /// The token refused the user PIN.
    #[error("the token refused the user PIN")]
    PinIncorrect,
    /// The user PIN is locked (too many wrong attempts).
    #[error("the token's user PIN is locked")]
    PinLocked,
    /// No private key matches the selector.
    #[error("no EC private key with {0} in the token")]
    KeyNotFound(KeySelector),
    /// More than one private key matches the selector.
    #[error("more than one private key with {0} in the token")]
    AmbiguousKey(KeySelector),
    /// The private key has no matching public key object (same `CKA_ID`, or same label) and
    /// does not report `CKA_EC_POINT` itself.
    #[error("no public key object for the private key with {0}")]
    PublicKeyNotFound(KeySelector),
    /// [`Pkcs11Signer::generate`] was asked for a key that already exists.
    #[error("a key with {0} already exists in the token")]
    KeyExists(KeySelector),
    /// The key is not on P-256 (the only curve Segl's issuers sign with, HAIP 1.0).
    #[error("the key is not a P-256 key (CKA_EC_PARAMS {0})")]
    UnsupportedCurve(String),
    /// The key could leave the token in the clear, or may not sign: refused.
    #[error("the key is unsuitable: {0}")]
    UnsuitableKey(&'static str),
    /// An attribute the token returned is malformed.
    #[error("malformed {attribute}: {reason}")]
    Malformed {
        /// The attribute, e.g. `CKA_EC_POINT`.
        attribute: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A signature made with the private key does not verify under the public key object found
    /// for it: the two objects do not belong together.
    #[error("the public key object does not match the private key")]
    KeyMismatch,
    /// The certificate chain does not fit the key.
    #[error("certificate chain: {0}")]
    Certificate(String),
    /// Any other failure reported by the token.
    #[error("PKCS#11 {operation}: {reason}")]
    Token {
        /// What Segl was doing.
        operation: &'static str,
        /// The module's error.
        reason: String,
    },
}

impl Pkcs11Error {
    fn token(operation: &'static str) -> impl Fn(CkError) -> Pkcs11Error {
        move |error| Pkcs11Error::Token { operation, reason: error.to_string() }
    }
}

/// How well the key is protected, as the token reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyProtection {
    /// `CKA_SENSITIVE`: the private value can never be read.
    pub sensitive: bool,
    /// `CKA_EXTRACTABLE`: the key may be wrapped out of the token.
    pub extractable: bool,
    /// `CKA_ALWAYS_SENSITIVE`: the key has been sensitive since it was created.
    pub always_sensitive: bool,
    /// `CKA_NEVER_EXTRACTABLE`: the key has never been extractable.
    pub never_extractable: bool,
    /// `CKA_LOCAL`: the key was generated inside the token (not imported).
    pub local: bool,
}

/// An ES256 signer whose private key lives in a PKCS#11 token and never leaves it.
pub struct Pkcs11Signer {
    context: Pkcs11,
    slot: Slot,
    pin: AuthPin,
    /// The private key's handle; found again when a fresh session cannot use it.
    key: Mutex<ObjectHandle>,
    selector: KeySelector,
    public: PublicKey,
    key_id: Option<String>,
    chain: Vec<Vec<u8>>,
    pool: Mutex<Pool>,
    available: Condvar,
    max_sessions: usize,
}

/// Idle sessions and how many are open in all (idle + in use).
struct Pool {
    idle: Vec<Session>,
    open: usize,
}

impl std::fmt::Debug for Pkcs11Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Signer")
            .field("slot", &self.slot)
            .field("key", &self.selector)
            .field("public", &self.public)
            .field("key_id", &self.key_id)
            .field("chain_len", &self.chain.len())
            .field("max_sessions", &self.max_sessions)
            .finish_non_exhaustive()
    }
}

/// Loaded and initialised modules, by path: `C_Initialize` may run only once per process.
fn module(path: &Path) -> Result<Pkcs11, Pkcs11Error> {
    static MODULES: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();
    let fail = |reason: String| Pkcs11Error::Module { path: path.to_owned(), reason };
    let mut modules = lock(MODULES.get_or_init(Mutex::default));
    if let Some(context) = modules.get(path) {
        return Ok(context.clone());
    }
    if !path.is_file() {
        return Err(fail("no such file".into()));
    }
    let context = Pkcs11::new(path).map_err(|e| fail(e.to_string()))?;
    match context.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(error) => return Err(fail(error.to_string())),
    }
    modules.insert(path.to_owned(), context.clone());
    Ok(context)
}

/// A poisoned lock only means another thread panicked while holding it; the data (a pool of
/// sessions, a module table) stays consistent, so carry on.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn find_slot(context: &Pkcs11, label: &str) -> Result<Slot, Pkcs11Error> {
    let mut found = None;
    for slot in context.get_slots_with_token().map_err(Pkcs11Error::token("C_GetSlotList"))? {
        let info = context.get_token_info(slot).map_err(Pkcs11Error::token("C_GetTokenInfo"))?;
        if info.label().trim_end() == label {
            if found.is_some() {
                return Err(Pkcs11Error::AmbiguousToken(label.to_owned()));
            }
            found = Some(slot);
        }
    }
    found.ok_or_else(|| Pkcs11Error::TokenNotFound(label.to_owned()))
}

fn login(session: &Session, pin: &AuthPin) -> Result<(), Pkcs11Error> {
    match session.login(UserType::User, Some(pin)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(()),
        Err(CkError::Pkcs11(RvError::PinIncorrect | RvError::PinInvalid | RvError::PinLenRange, _)) => {
            Err(Pkcs11Error::PinIncorrect)
        }
        Err(CkError::Pkcs11(RvError::PinLocked, _)) => Err(Pkcs11Error::PinLocked),
        Err(error) => Err(Pkcs11Error::token("C_Login")(error)),
    }
}

fn selector_attribute(selector: &KeySelector) -> Attribute {
    match selector {
        KeySelector::Label(label) => Attribute::Label(label.as_bytes().to_vec()),
        KeySelector::Id(id) => Attribute::Id(id.clone()),
    }
}

fn find_keys(session: &Session, class: ObjectClass, by: Attribute) -> Result<Vec<ObjectHandle>, Pkcs11Error> {
    session
        .find_objects(&[Attribute::Class(class), Attribute::KeyType(KeyType::EC), by])
        .map_err(Pkcs11Error::token("C_FindObjects"))
}

/// The value of a byte-string attribute, or `None` when the token does not report it.
fn bytes_attribute(
    session: &Session,
    object: ObjectHandle,
    kind: AttributeType,
) -> Result<Option<Vec<u8>>, Pkcs11Error> {
    let attributes =
        session.get_attributes(object, &[kind]).map_err(Pkcs11Error::token("C_GetAttributeValue"))?;
    Ok(attributes.into_iter().find_map(|attribute| match attribute {
        Attribute::EcParams(v) | Attribute::EcPoint(v) | Attribute::Id(v) | Attribute::Label(v) => Some(v),
        _ => None,
    }))
}

fn check_p256(session: &Session, object: ObjectHandle) -> Result<(), Pkcs11Error> {
    let params =
        bytes_attribute(session, object, AttributeType::EcParams)?.ok_or(Pkcs11Error::Malformed {
            attribute: "CKA_EC_PARAMS",
            reason: "not reported by the token".into(),
        })?;
    if params == P256_EC_PARAMS {
        return Ok(());
    }
    use der::Decode as _;
    let described = match const_oid::ObjectIdentifier::from_der(&params) {
        Ok(oid) => oid.to_string(),
        Err(_) => hex::encode(&params),
    };
    Err(Pkcs11Error::UnsupportedCurve(described))
}

/// Parses `CKA_EC_POINT`: a DER OCTET STRING wrapping the uncompressed point (PKCS#11 3.0
/// §2.3.3). A few tokens return the bare point; that is accepted only when the bytes are not
/// a well-formed OCTET STRING.
fn parse_ec_point(value: &[u8]) -> Result<PublicKey, Pkcs11Error> {
    use der::Decode as _;
    let malformed = |reason: String| Pkcs11Error::Malformed { attribute: "CKA_EC_POINT", reason };
    let point = match der::asn1::OctetStringRef::from_der(value) {
        Ok(octets) => octets.as_bytes().to_vec(),
        Err(_) if value.len() == 65 && value.first() == Some(&0x04) => value.to_vec(),
        Err(e) => return Err(malformed(format!("not a DER OCTET STRING: {e}"))),
    };
    PublicKey::from_uncompressed_point(Curve::P256, &point).map_err(|e| malformed(e.to_string()))
}

fn key_protection(session: &Session, key: ObjectHandle) -> Result<KeyProtection, Pkcs11Error> {
    let attributes = session
        .get_attributes(
            key,
            &[
                AttributeType::Sensitive,
                AttributeType::Extractable,
                AttributeType::AlwaysSensitive,
                AttributeType::NeverExtractable,
                AttributeType::Local,
                AttributeType::Sign,
            ],
        )
        .map_err(Pkcs11Error::token("C_GetAttributeValue"))?;
    // Absent attributes take the unsafe reading: a token that does not say the key is
    // sensitive is treated as if it were not.
    let mut protection = KeyProtection {
        sensitive: false,
        extractable: true,
        always_sensitive: false,
        never_extractable: false,
        local: false,
    };
    let mut can_sign = false;
    for attribute in attributes {
        match attribute {
            Attribute::Sensitive(v) => protection.sensitive = v,
            Attribute::Extractable(v) => protection.extractable = v,
            Attribute::AlwaysSensitive(v) => protection.always_sensitive = v,
            Attribute::NeverExtractable(v) => protection.never_extractable = v,
            Attribute::Local(v) => protection.local = v,
            Attribute::Sign(v) => can_sign = v,
            _ => {}
        }
    }
    if !can_sign {
        return Err(Pkcs11Error::UnsuitableKey("CKA_SIGN is false"));
    }
    Ok(protection)
}

/// A session taken from the pool; goes back (or is closed, when it failed) on drop.
struct Lease<'a> {
    signer: &'a Pkcs11Signer,
    session: Option<Session>,
    healthy: bool,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        let mut pool = lock(&self.signer.pool);
        let stale = match self.session.take() {
            Some(session) if self.healthy => {
                pool.idle.push(session);
                Vec::new()
            }
            // A failed session usually means the token dropped or logged out all of them: the
            // idle ones go too, so the retry gets a fresh, logged-in session.
            _ => {
                let stale = std::mem::take(&mut pool.idle);
                pool.open = pool.open.saturating_sub(1 + stale.len());
                stale
            }
        };
        drop(pool);
        drop(stale);
        self.signer.available.notify_all();
    }
}

impl Pkcs11Signer {
    /// Opens the key `config` names: loads the module, finds the token, logs in, finds the
    /// private key and its public key, and checks that the key is P-256, may sign, is
    /// sensitive and not extractable, and that the two halves belong together.
    pub fn open(config: &Pkcs11Config) -> Result<Self, Pkcs11Error> {
        let context = module(&config.module)?;
        let slot = find_slot(&context, &config.token_label)?;
        let pin = AuthPin::from(config.pin.as_str());
        let session = context.open_ro_session(slot).map_err(Pkcs11Error::token("C_OpenSession"))?;
        login(&session, &pin)?;

        let private = find_keys(&session, ObjectClass::PRIVATE_KEY, selector_attribute(&config.key))?;
        let key = match private.as_slice() {
            [key] => *key,
            [] => return Err(Pkcs11Error::KeyNotFound(config.key.clone())),
            _ => return Err(Pkcs11Error::AmbiguousKey(config.key.clone())),
        };
        check_p256(&session, key)?;
        let protection = key_protection(&session, key)?;
        if !protection.sensitive {
            return Err(Pkcs11Error::UnsuitableKey("CKA_SENSITIVE is false: the key could be read out"));
        }
        if protection.extractable {
            return Err(Pkcs11Error::UnsuitableKey("CKA_EXTRACTABLE is true: the key could be wrapped out"));
        }

        // The public half: the public key object with the private key's CKA_ID (the PKCS#11
        // convention for pairing), else the one with the selector; tokens without public key
        // objects may report CKA_EC_POINT on the private key itself.
        let id = bytes_attribute(&session, key, AttributeType::Id)?.filter(|id| !id.is_empty());
        let by = match id {
            Some(id) => Attribute::Id(id),
            None => selector_attribute(&config.key),
        };
        let holder = match find_keys(&session, ObjectClass::PUBLIC_KEY, by)?.as_slice() {
            [public] => {
                check_p256(&session, *public)?;
                *public
            }
            [] => key,
            _ => return Err(Pkcs11Error::AmbiguousKey(config.key.clone())),
        };
        let point = bytes_attribute(&session, holder, AttributeType::EcPoint)?
            .ok_or_else(|| Pkcs11Error::PublicKeyNotFound(config.key.clone()))?;
        let public = parse_ec_point(&point)?;

        let signer = Pkcs11Signer {
            context,
            slot,
            pin,
            key: Mutex::new(key),
            selector: config.key.clone(),
            public,
            key_id: None,
            chain: Vec::new(),
            pool: Mutex::new(Pool { idle: vec![session], open: 1 }),
            available: Condvar::new(),
            max_sessions: config.max_sessions.max(1),
        };
        // One signature through the pool proves the halves match and the token signs.
        const PROBE: &[u8] = b"segl pkcs11 key check";
        let signature = signer
            .try_sign(PROBE)
            .map_err(|e| Pkcs11Error::Token { operation: "C_Sign", reason: e.to_string() })?;
        signer.public.verify(Algorithm::Es256, PROBE, &signature).map_err(|_| Pkcs11Error::KeyMismatch)?;
        Ok(signer)
    }

    /// Generates a P-256 key pair inside the token (`CKA_TOKEN`, `CKA_SENSITIVE`, not
    /// `CKA_EXTRACTABLE`, `CKA_SIGN` only) under the selector `config.key` (label or id; a
    /// label gets a random 16-byte `CKA_ID` so the halves pair by id), then opens it.
    /// Refuses when a key with that selector already exists.
    pub fn generate(config: &Pkcs11Config) -> Result<Self, Pkcs11Error> {
        let context = module(&config.module)?;
        let slot = find_slot(&context, &config.token_label)?;
        let pin = AuthPin::from(config.pin.as_str());
        let session = context.open_rw_session(slot).map_err(Pkcs11Error::token("C_OpenSession"))?;
        login(&session, &pin)?;
        let existing = session
            .find_objects(&[selector_attribute(&config.key)])
            .map_err(Pkcs11Error::token("C_FindObjects"))?;
        if !existing.is_empty() {
            return Err(Pkcs11Error::KeyExists(config.key.clone()));
        }
        let (label, id) = match &config.key {
            KeySelector::Label(label) => {
                let id = session.generate_random_vec(16).map_err(Pkcs11Error::token("C_GenerateRandom"))?;
                (Some(label.as_bytes().to_vec()), id)
            }
            KeySelector::Id(id) => (None, id.clone()),
        };
        let mut public = vec![
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Verify(true),
            Attribute::EcParams(P256_EC_PARAMS.to_vec()),
            Attribute::Id(id.clone()),
        ];
        let mut private = vec![
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
            Attribute::Derive(false),
            Attribute::Id(id),
        ];
        if let Some(label) = label {
            public.push(Attribute::Label(label.clone()));
            private.push(Attribute::Label(label));
        }
        session
            .generate_key_pair(&Mechanism::EccKeyPairGen, &public, &private)
            .map_err(Pkcs11Error::token("C_GenerateKeyPair"))?;
        // Keep this session open until `open` has its own: closing the last session of the
        // application would log the token out.
        let signer = Self::open(config);
        drop(session);
        signer
    }

    /// Names the key (the JOSE `kid`).
    pub fn with_key_id(mut self, key_id: impl Into<String>) -> Self {
        self.key_id = Some(key_id.into());
        self
    }

    /// Attaches the certificate chain (DER, leaf first, anchor excluded) for `x5c`/`x5chain`.
    /// Refused when the leaf certificate is not for this key.
    pub fn with_certificate_chain(mut self, chain: Vec<Vec<u8>>) -> Result<Self, Pkcs11Error> {
        use der::{Decode as _, Encode as _};
        let leaf = chain.first().ok_or_else(|| Pkcs11Error::Certificate("the chain is empty".into()))?;
        let certificate = x509_cert::Certificate::from_der(leaf)
            .map_err(|e| Pkcs11Error::Certificate(format!("leaf certificate: {e}")))?;
        let spki = certificate
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .map_err(|e| Pkcs11Error::Certificate(e.to_string()))?;
        let key = PublicKey::from_spki_der(&spki).map_err(|e| Pkcs11Error::Certificate(e.to_string()))?;
        if key != self.public {
            return Err(Pkcs11Error::Certificate("the leaf certificate is for another key".into()));
        }
        self.chain = chain;
        Ok(self)
    }

    /// How the token protects the private key (sensitive, never extractable, generated in the
    /// token), for operators to check.
    pub fn key_protection(&self) -> Result<KeyProtection, Pkcs11Error> {
        let lease = self.lease()?;
        let session = lease
            .session
            .as_ref()
            .ok_or(Pkcs11Error::Token { operation: "session pool", reason: "no session".into() })?;
        key_protection(session, *lock(&self.key))
    }

    /// Takes an idle session, opens a new one while under `max_sessions`, or waits.
    fn lease(&self) -> Result<Lease<'_>, Pkcs11Error> {
        let mut pool = lock(&self.pool);
        loop {
            if let Some(session) = pool.idle.pop() {
                return Ok(Lease { signer: self, session: Some(session), healthy: true });
            }
            if pool.open < self.max_sessions {
                pool.open += 1;
                drop(pool);
                // The lease is created first so a failure below gives the slot back.
                let mut lease = Lease { signer: self, session: None, healthy: false };
                let session =
                    self.context.open_ro_session(self.slot).map_err(Pkcs11Error::token("C_OpenSession"))?;
                login(&session, &self.pin)?;
                lease.session = Some(session);
                lease.healthy = true;
                return Ok(lease);
            }
            pool = self.available.wait(pool).unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    }

    fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>, Pkcs11Error> {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, message);
        let mut last = None;
        // A session the token dropped fails once; the retry opens (and logs in) a fresh one and
        // finds the key again, since a restarted token may hand out new object handles.
        for retry in [false, true] {
            let mut lease = self.lease()?;
            let Some(session) = lease.session.as_ref() else { continue };
            let key = if retry { self.find_again(session)? } else { *lock(&self.key) };
            match session.sign(&Mechanism::Ecdsa, key, digest.as_ref()) {
                Ok(signature) if signature.len() == 64 => {
                    if retry {
                        // A key found again must still be the one whose public half we publish.
                        self.public
                            .verify(Algorithm::Es256, message, &signature)
                            .map_err(|_| Pkcs11Error::KeyMismatch)?;
                        *lock(&self.key) = key;
                    }
                    return Ok(signature);
                }
                Ok(signature) => {
                    return Err(Pkcs11Error::Malformed {
                        attribute: "CKM_ECDSA signature",
                        reason: format!("{} bytes, expected 64", signature.len()),
                    });
                }
                Err(error) => {
                    lease.healthy = false;
                    last = Some(error);
                }
            }
        }
        Err(Pkcs11Error::Token {
            operation: "C_Sign",
            reason: last.map_or_else(|| "no session".into(), |e| e.to_string()),
        })
    }

    fn find_again(&self, session: &Session) -> Result<ObjectHandle, Pkcs11Error> {
        match find_keys(session, ObjectClass::PRIVATE_KEY, selector_attribute(&self.selector))?.as_slice() {
            [key] => Ok(*key),
            [] => Err(Pkcs11Error::KeyNotFound(self.selector.clone())),
            _ => Err(Pkcs11Error::AmbiguousKey(self.selector.clone())),
        }
    }
}

impl Signer for Pkcs11Signer {
    fn algorithm(&self) -> Algorithm {
        Algorithm::Es256
    }

    fn key_id(&self) -> Option<&str> {
        self.key_id.as_deref()
    }

    fn public_key(&self) -> &PublicKey {
        &self.public
    }

    fn certificate_chain(&self) -> &[Vec<u8>] {
        &self.chain
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        self.try_sign(message).map_err(|e| KeyError::SigningFailed(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_der_wrapped_and_bare_ec_points() {
        let signer = crate::keys::SoftwareSigner::from_scalar(&[7u8; 32]).unwrap();
        let jwk = signer.public_key().to_jwk();
        let x = crate::jose::base64url_decode(jwk["x"].as_str().unwrap()).unwrap();
        let y = crate::jose::base64url_decode(jwk["y"].as_str().unwrap()).unwrap();
        let mut point = vec![0x04];
        point.extend_from_slice(&x);
        point.extend_from_slice(&y);
        let mut wrapped = vec![0x04, 0x41];
        wrapped.extend_from_slice(&point);
        assert_eq!(&parse_ec_point(&wrapped).unwrap(), signer.public_key());
        assert_eq!(&parse_ec_point(&point).unwrap(), signer.public_key());
    }

    #[test]
    fn rejects_malformed_ec_points() {
        assert!(parse_ec_point(&[]).is_err());
        assert!(parse_ec_point(&[0x04, 0x03, 0x04, 0x01, 0x02]).is_err());
        // Long-form length where short form is required (not DER).
        let mut not_der = vec![0x04, 0x81, 0x41, 0x04];
        not_der.extend_from_slice(&[1u8; 64]);
        assert!(parse_ec_point(&not_der).is_err());
        // A P-384-sized point in a valid OCTET STRING.
        let mut p384 = vec![0x04, 0x61, 0x04];
        p384.extend_from_slice(&[1u8; 96]);
        assert!(parse_ec_point(&p384).is_err());
    }

    #[test]
    fn debug_hides_the_pin() {
        let config = Pkcs11Config::new(
            "/nonexistent.so",
            "t",
            KeySelector::Label("k".into()),
            Zeroizing::new("s3cret-pin".into()),
        );
        assert!(!format!("{config:?}").contains("s3cret-pin"));
    }

    #[test]
    fn rejects_a_missing_module() {
        let config = Pkcs11Config::new(
            "/nonexistent/libpkcs11.so",
            "t",
            KeySelector::Label("k".into()),
            Zeroizing::new("1234".into()),
        );
        assert!(matches!(Pkcs11Signer::open(&config), Err(Pkcs11Error::Module { .. })));
    }
}
