//! Signed-in sessions of the web UI.
//!
//! Signing in makes a random token, sent to the browser in an HttpOnly cookie;
//! the store keeps the session under the token's SHA-256 (a copy of the store
//! holds no usable token). A session ends when it has not been used for
//! `idle`, `lifetime` after it began, when its user signs out (it is deleted
//! from the store, so every browser and server using it loses it at once), or
//! when its user is removed from `USERS_FILE` (the role is read from the file
//! on every request, never kept in the session).
//!
//! Sessions live in the configured store ([`SessionStore`]): in Redis several
//! servers share them and they survive failovers; the file store keeps them in
//! memory, as it serves one server process (a restart signs everyone out).

use app::domain::StoreError;
use async_trait::async_trait;
use base64::Engine;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The cookie that carries the session token.
pub const COOKIE: &str = "session";

/// How long sessions last.
#[derive(Clone, Copy, Debug)]
pub struct SessionTimes {
    /// Ended after this long unused.
    pub idle: Duration,
    /// Ended this long after signing in, however much it is used.
    pub lifetime: Duration,
}

impl Default for SessionTimes {
    fn default() -> Self {
        Self {
            idle: Duration::from_secs(30 * 60),
            lifetime: Duration::from_secs(12 * 60 * 60),
        }
    }
}

/// A session as stored: `"<started, ms since the epoch> <password stamp> <user name>"`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub user: String,
    pub started_ms: u64,
    /// Which password the user signed in with (see [`SignedInUser::stamp`]):
    /// a new password, or the user removed and added again, ends the session.
    pub stamp: String,
}

impl Session {
    pub fn encode(&self) -> String {
        format!("{} {} {}", self.started_ms, self.stamp, self.user)
    }

    pub fn decode(stored: &str) -> Option<Self> {
        let mut parts = stored.splitn(3, ' ');
        let started_ms = parts.next()?.parse().ok()?;
        let stamp = parts.next()?.to_owned();
        let user = parts.next()?.to_owned();
        Some(Self {
            user,
            started_ms,
            stamp,
        })
    }
}

/// The user a session is for, as `USERS_FILE` has them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedInUser {
    pub name: String,
    /// Short digest of the user's password hash: changes with the password.
    pub stamp: String,
}

/// Where sessions are kept, by the hex SHA-256 of their token.
#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// Keeps a new session for `idle`.
    async fn create(&self, id: &str, session: &Session, idle: Duration) -> Result<(), StoreError>;
    /// The session, kept for another `idle`; `None` if it ended or expired.
    async fn resume(&self, id: &str, idle: Duration) -> Result<Option<Session>, StoreError>;
    /// Ends the session (nothing happens if it has already ended).
    async fn end(&self, id: &str) -> Result<(), StoreError>;
}

/// Sessions in this process's memory: the file store's, which serves one process.
#[derive(Default)]
pub struct MemorySessions(Mutex<HashMap<String, (Session, Instant)>>);

/// Sessions in memory at most (the expired ones are dropped first, then the oldest).
const IN_MEMORY_AT_MOST: usize = 100_000;

#[async_trait]
impl SessionStore for MemorySessions {
    async fn create(&self, id: &str, session: &Session, idle: Duration) -> Result<(), StoreError> {
        let mut sessions = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if sessions.len() >= IN_MEMORY_AT_MOST {
            let now = Instant::now();
            sessions.retain(|_, (_, expires)| *expires > now);
            if sessions.len() >= IN_MEMORY_AT_MOST {
                let oldest = sessions
                    .iter()
                    .min_by_key(|(_, (s, _))| s.started_ms)
                    .map(|(id, _)| id.clone());
                if let Some(oldest) = oldest {
                    sessions.remove(&oldest);
                }
            }
        }
        sessions.insert(id.to_owned(), (session.clone(), Instant::now() + idle));
        Ok(())
    }

    async fn resume(&self, id: &str, idle: Duration) -> Result<Option<Session>, StoreError> {
        let mut sessions = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        match sessions.get_mut(id) {
            Some((session, expires)) if *expires > now => {
                *expires = now + idle;
                Ok(Some(session.clone()))
            }
            Some(_) => {
                sessions.remove(id);
                Ok(None)
            }
            None => Ok(None),
        }
    }

    async fn end(&self, id: &str) -> Result<(), StoreError> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).remove(id);
        Ok(())
    }
}

/// Starting, resuming and ending sessions by their token.
pub struct Sessions {
    store: Arc<dyn SessionStore>,
    times: SessionTimes,
}

impl Sessions {
    pub fn new(store: Arc<dyn SessionStore>, times: SessionTimes) -> Self {
        Self { store, times }
    }

    pub fn times(&self) -> SessionTimes {
        self.times
    }

    /// A new session for `user`; returns its token (for the cookie).
    pub async fn start(&self, user: &SignedInUser) -> Result<String, StoreError> {
        let token =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
        let session = Session {
            user: user.name.clone(),
            started_ms: now_ms(),
            stamp: user.stamp.clone(),
        };
        self.store
            .create(&id_of(&token), &session, self.times.idle)
            .await?;
        Ok(token)
    }

    /// The user of the session this token names, if it is still on.
    pub async fn resume(&self, token: &str) -> Result<Option<SignedInUser>, StoreError> {
        if !is_plausible_token(token) {
            return Ok(None);
        }
        let id = id_of(token);
        let Some(session) = self.store.resume(&id, self.times.idle).await? else {
            return Ok(None);
        };
        let age_ms = now_ms().saturating_sub(session.started_ms);
        if u128::from(age_ms) >= self.times.lifetime.as_millis() {
            self.store.end(&id).await?;
            return Ok(None);
        }
        Ok(Some(SignedInUser {
            name: session.user,
            stamp: session.stamp,
        }))
    }

    /// Ends the session this token names, for every browser and server using it.
    pub async fn end(&self, token: &str) -> Result<(), StoreError> {
        if !is_plausible_token(token) {
            return Ok(());
        }
        self.store.end(&id_of(token)).await
    }
}

/// Tokens are 32 random bytes in unpadded base64url: 43 characters.
fn is_plausible_token(token: &str) -> bool {
    token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn id_of(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The `Set-Cookie` value that gives a browser its session: only over HTTP (no
/// script reads it), sent on same-site requests and top-level navigations
/// (`Lax`), over HTTPS only when the site is served over HTTPS.
pub fn cookie(token: &str, times: SessionTimes, secure: bool) -> axum::http::HeaderValue {
    let value = format!(
        "{COOKIE}={token}; Path=/; Max-Age={}; HttpOnly; SameSite=Lax{}",
        times.lifetime.as_secs(),
        if secure { "; Secure" } else { "" }
    );
    axum::http::HeaderValue::from_str(&value).expect("a token is base64url")
}

/// The `Set-Cookie` value that makes a browser forget its session cookie.
pub fn clearing_cookie() -> axum::http::HeaderValue {
    axum::http::HeaderValue::from_static("session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax")
}

/// The session token in a `Cookie` header, if there is one.
pub fn token_in(cookie_header: &str) -> Option<&str> {
    cookie_header.split(';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        (name == COOKIE).then_some(value.trim_matches('"'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sessions(idle_ms: u64, lifetime_ms: u64) -> Sessions {
        Sessions::new(
            Arc::new(MemorySessions::default()),
            SessionTimes {
                idle: Duration::from_millis(idle_ms),
                lifetime: Duration::from_millis(lifetime_ms),
            },
        )
    }

    #[tokio::test]
    async fn a_session_lasts_while_used_until_its_lifetime_and_ends_on_sign_out() {
        let sessions = sessions(150, 400);
        let ann = SignedInUser {
            name: "ann".into(),
            stamp: "0123".into(),
        };
        let token = sessions.start(&ann).await.unwrap();
        assert_eq!(token.len(), 43);
        for _ in 0..3 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            assert_eq!(sessions.resume(&token).await.unwrap().as_ref(), Some(&ann));
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(
            sessions.resume(&token).await.unwrap(),
            None,
            "past its lifetime"
        );

        let token = sessions.start(&ann).await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(
            sessions.resume(&token).await.unwrap(),
            None,
            "idle too long"
        );

        let token = sessions.start(&ann).await.unwrap();
        let other = sessions.start(&ann).await.unwrap();
        sessions.end(&token).await.unwrap();
        assert_eq!(sessions.resume(&token).await.unwrap(), None);
        assert!(sessions.resume(&other).await.unwrap().is_some());
        assert_eq!(sessions.resume("forged").await.unwrap(), None);
    }

    #[test]
    fn the_token_is_found_among_other_cookies() {
        assert_eq!(token_in("a=1; session=abc; b=2"), Some("abc"));
        assert_eq!(token_in("sessions=x"), None);
        assert_eq!(token_in(""), None);
        let session = Session {
            user: "name with spaces".into(),
            started_ms: 17,
            stamp: "ab12".into(),
        };
        assert_eq!(Session::decode(&session.encode()), Some(session));
    }
}
