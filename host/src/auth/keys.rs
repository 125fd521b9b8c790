//! The ES256 keys user tokens are signed with: made by the server, kept in
//! `<data>/auth/keys.json` (readable by the server's user only), replaced after a day; a
//! replaced key stays published until the tokens it signed have expired.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// How long a key signs new tokens.
const KEY_LIFETIME_SECS: u64 = 24 * 3600;

#[derive(Serialize, Deserialize, Clone)]
struct StoredKey {
    kid: String,
    created: u64,
    /// PKCS#8 DER, base64.
    pkcs8: String,
}

/// One key: what verifies with it, and (for the newest) what signs.
pub struct Key {
    pub kid: String,
    pub decoding: jsonwebtoken::DecodingKey,
    x: String,
    y: String,
    pub encoding: jsonwebtoken::EncodingKey,
}

pub struct Keys {
    /// Newest first.
    keys: Vec<Key>,
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

fn file(dir: &Path) -> PathBuf {
    dir.join("keys.json")
}

impl Keys {
    /// The keys in `dir`, with a new one made when the newest is a day old; keys whose
    /// tokens have all expired are dropped.
    pub fn load(dir: &Path, token_lifetime: u64) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let path = file(dir);
        let mut stored: Vec<StoredKey> = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(anyhow::anyhow!("{}: {e}", path.display())),
        };
        let now = now();
        stored.retain(|k| now < k.created + KEY_LIFETIME_SECS + token_lifetime);
        stored.sort_by_key(|k| std::cmp::Reverse(k.created));
        if stored
            .first()
            .is_none_or(|k| now >= k.created + KEY_LIFETIME_SECS)
        {
            let rng = ring::rand::SystemRandom::new();
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                .map_err(|_| anyhow::anyhow!("cannot make a signing key"))?;
            stored.insert(
                0,
                StoredKey {
                    kid: uuid::Uuid::new_v4().to_string(),
                    created: now,
                    pkcs8: base64::engine::general_purpose::STANDARD.encode(pkcs8.as_ref()),
                },
            );
        }
        write_private(&path, &serde_json::to_vec(&stored)?)?;
        let keys = stored
            .iter()
            .map(Key::from_stored)
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Self { keys })
    }

    pub fn signing(&self) -> &Key {
        &self.keys[0]
    }

    pub fn find(&self, kid: &str) -> Option<&Key> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    /// `GET /api/auth/.well-known/jwks.json`.
    pub fn jwks(&self) -> Value {
        let keys: Vec<Value> = self
            .keys
            .iter()
            .map(|k| {
                json!({"kty": "EC", "crv": "P-256", "x": k.x, "y": k.y, "kid": k.kid,
                    "alg": "ES256", "use": "sig"})
            })
            .collect();
        json!({ "keys": keys })
    }
}

impl Key {
    fn from_stored(stored: &StoredKey) -> anyhow::Result<Self> {
        let der = base64::engine::general_purpose::STANDARD.decode(&stored.pkcs8)?;
        let rng = ring::rand::SystemRandom::new();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der, &rng)
            .map_err(|_| anyhow::anyhow!("key {} is damaged", stored.kid))?;
        // An uncompressed P-256 point: 0x04, then x and y, 32 bytes each.
        let point = pair.public_key().as_ref();
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let (x, y) = (b64.encode(&point[1..33]), b64.encode(&point[33..65]));
        Ok(Self {
            kid: stored.kid.clone(),
            decoding: jsonwebtoken::DecodingKey::from_ec_components(&x, &y)?,
            encoding: jsonwebtoken::EncodingKey::from_ec_der(&der),
            x,
            y,
        })
    }
}

/// Writes a file only the server's user can read.
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let temporary = path.with_extension("tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temporary)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)?;
    Ok(())
}
