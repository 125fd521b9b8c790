//! Sign-in sessions of the redirecting providers (OIDC, GitHub): the browser holds a random
//! secret in an HttpOnly cookie; `<data>/auth/sessions.sqlite` keeps only its SHA-256 with
//! who signed in and until when. A refresh re-resolves the person through the catalog, so
//! a new short-lived user token carries today's ownership; signing out deletes the row.

use std::path::Path;
use std::sync::Mutex;

use anyhow::Context;
use base64::Engine;
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

/// Seconds since the epoch, as SQLite stores them.
fn now() -> i64 {
    super::keys::now() as i64
}
use super::resolve::Claimed;

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS sessions (
    digest TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    claimed TEXT NOT NULL,
    expires INTEGER NOT NULL
)";

pub struct Sessions {
    db: Mutex<Connection>,
}

/// A fresh random secret, URL-safe.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .expect("the system's random source works");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn digest(secret: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(secret.as_bytes()))
}

impl Sessions {
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        let file = dir.join("sessions.sqlite");
        let conn = Connection::open(&file)
            .with_context(|| format!("cannot open the sessions {}", file.display()))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.execute(SCHEMA, [])?;
        Ok(Self {
            db: Mutex::new(conn),
        })
    }

    fn db(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.db.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new session of `lifetime` seconds; answers its secret.
    pub fn create(
        &self,
        provider: &str,
        claimed: &Claimed,
        lifetime: u64,
    ) -> anyhow::Result<String> {
        let secret = random_secret();
        let db = self.db();
        db.execute("DELETE FROM sessions WHERE expires <= ?1", [now()])?;
        db.execute(
            "INSERT INTO sessions (digest, provider, claimed, expires) VALUES (?1, ?2, ?3, ?4)",
            params![
                digest(&secret),
                provider,
                serde_json::to_string(claimed)?,
                now() + lifetime as i64
            ],
        )?;
        Ok(secret)
    }

    /// The provider and claims of the live session `secret` opens.
    pub fn find(&self, secret: &str) -> anyhow::Result<Option<(String, Claimed)>> {
        let row: Option<(String, String)> = self
            .db()
            .query_row(
                "SELECT provider, claimed FROM sessions WHERE digest = ?1 AND expires > ?2",
                params![digest(secret), now()],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        row.map(|(provider, claimed)| Ok((provider, serde_json::from_str(&claimed)?)))
            .transpose()
    }

    pub fn remove(&self, secret: &str) -> anyhow::Result<()> {
        self.db()
            .execute("DELETE FROM sessions WHERE digest = ?1", [digest(secret)])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_open_with_their_secret_only_until_they_end() {
        let dir = tempfile::tempdir().unwrap();
        let sessions = Sessions::open(dir.path()).unwrap();
        let claimed = Claimed {
            username: Some("ada".into()),
            email: Some("ada@example.com".into()),
        };
        let secret = sessions.create("oidc", &claimed, 3600).unwrap();
        let (provider, found) = sessions.find(&secret).unwrap().unwrap();
        assert_eq!(provider, "oidc");
        assert_eq!(found.email.as_deref(), Some("ada@example.com"));
        assert!(sessions.find("not-the-secret").unwrap().is_none());
        // Only a digest is stored: the secret itself is nowhere in the file.
        drop(sessions);
        let bytes: Vec<u8> = ["sessions.sqlite", "sessions.sqlite-wal"]
            .iter()
            .flat_map(|f| std::fs::read(dir.path().join(f)).unwrap_or_default())
            .collect();
        assert!(bytes.windows(4).any(|w| w == b"oidc"), "the row is on disk");
        assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()));
        let sessions = Sessions::open(dir.path()).unwrap();
        assert!(
            sessions.find(&secret).unwrap().is_some(),
            "kept across restarts"
        );
        sessions.remove(&secret).unwrap();
        assert!(sessions.find(&secret).unwrap().is_none());
        let expired = sessions.create("github", &claimed, 0).unwrap();
        assert!(sessions.find(&expired).unwrap().is_none());
    }
}
