//! Checking a request's credentials against `USERS_FILE`.
//!
//! A password check is an argon2id hash (tens of milliseconds of CPU, on
//! purpose), so a verified `name:password` is remembered for a while, keyed by
//! an HMAC of it under a key made at start-up (the cache holds no password, and
//! its keys are useless outside this process). Concurrent requests with the
//! same credentials share one check. Hashes run on the blocking pool, two at a
//! time, so a flood of wrong passwords cannot stall the server or take its
//! memory (19 MiB each). A token is looked up by its SHA-256.
//!
//! The file is checked for changes (its size, time and inode) every
//! [`LOOK_EVERY`] at most and read again when it changed; that also forgets
//! every remembered password.

use super::sessions::SignedInUser;
use super::throttle::Throttle;
use super::users_file::{self, UsersFile};
use super::{Principal, Refusal, Role};
use axum::http::HeaderValue;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::IpAddr;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::{OnceCell, Semaphore};

/// How long a verified password is remembered.
const REMEMBER_FOR: Duration = Duration::from_secs(300);
/// Remembered passwords at most (the cache starts over when full).
const REMEMBER_AT_MOST: usize = 10_000;
/// How often the file is looked at for changes (a `stat` per request showed in
/// the benchmark). The subcommands wait this long after a change before they
/// return, so a change has taken effect everywhere by then.
pub const LOOK_EVERY: Duration = Duration::from_millis(100);
/// How long a password check may wait for its turn (then 503): a flood of
/// wrong passwords must not hold a signing-in user for minutes.
const WAIT_FOR_A_TURN: Duration = Duration::from_secs(5);
/// argon2 hashes running at once.
const HASHES_AT_ONCE: usize = 2;

pub struct Directory {
    path: PathBuf,
    loaded: RwLock<Arc<Loaded>>,
    /// HMAC-SHA256 keyed with a random key, ready to be cloned for each use.
    keyed_mac: Hmac<Sha256>,
    verified: Mutex<HashMap<[u8; 32], (Principal, Instant)>>,
    /// Checks running now, by cache key and file version: the same credentials
    /// wait for the one.
    running: Running,
    hashing: Arc<Semaphore>,
    throttle: Throttle,
    /// Checked for unknown names, so they take as long as known ones.
    decoy_hash: String,
    /// When the file was last looked at, in microseconds since `started`.
    looked_at_us: AtomicU64,
    started: Instant,
}

/// One password check, awaited by every request with the same credentials.
type SharedCheck = OnceCell<Result<Principal, Refusal>>;
type Running = Mutex<HashMap<([u8; 32], usize), Arc<SharedCheck>>>;

/// Removes a check from [`Directory::running`] when its request ends, however
/// it ends (a dropped request included).
struct Forget<'a>(&'a Running, ([u8; 32], usize));

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.1);
    }
}

/// The file as last read.
struct Loaded {
    stamp: Option<Stamp>,
    users: HashMap<String, (Role, String)>,
    /// By the token's SHA-256: its name and role.
    tokens: HashMap<[u8; 32], (Arc<str>, Role)>,
    /// The file could not be read: no one is let in (and it is not protected mode).
    broken: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
struct Stamp {
    modified: SystemTime,
    len: u64,
    inode: u64,
}

impl Directory {
    pub fn open(path: PathBuf) -> Result<Self, String> {
        let loaded = read(&path)?;
        Ok(Self {
            path,
            loaded: RwLock::new(Arc::new(loaded)),
            keyed_mac: Hmac::new_from_slice(&rand::random::<[u8; 32]>()).expect("any key length"),
            verified: Mutex::new(HashMap::new()),
            running: Mutex::new(HashMap::new()),
            hashing: Arc::new(Semaphore::new(HASHES_AT_ONCE)),
            throttle: Throttle::default(),
            looked_at_us: AtomicU64::new(0),
            started: Instant::now(),
            decoy_hash: users_file::hash_password("decoy password, never valid")?,
        })
    }

    /// No users and no tokens (and the file is readable).
    pub fn is_empty(&self) -> bool {
        let loaded = self.current();
        !loaded.broken && loaded.users.is_empty() && loaded.tokens.is_empty()
    }

    /// The principal an `Authorization` header names, if its credentials are
    /// right; `client` is where the request came from, for [`Throttle`].
    pub async fn verify(
        &self,
        authorization: &HeaderValue,
        client: Option<IpAddr>,
    ) -> Result<Principal, Refusal> {
        let loaded = self.readable()?;
        let (scheme, credentials) = authorization
            .to_str()
            .ok()
            .and_then(|value| value.trim().split_once(' '))
            .ok_or(Refusal::WrongCredentials)?;
        let credentials = credentials.trim();
        if scheme.eq_ignore_ascii_case("bearer") {
            // A valid token is let in whatever its address did; guesses are counted.
            let Some((name, role)) = loaded.tokens.get(&users_file::token_digest(credentials))
            else {
                if let Some(wait) = self.throttle.wait_before(None, client) {
                    return Err(Refusal::Throttled(wait));
                }
                self.throttle.failed(None, client);
                return Err(Refusal::WrongCredentials);
            };
            return Ok(Principal::Token {
                name: name.clone(),
                role: *role,
            });
        }
        let (name, password): (String, String) = scheme
            .eq_ignore_ascii_case("basic")
            .then(|| {
                base64::engine::general_purpose::STANDARD
                    .decode(credentials)
                    .ok()
            })
            .flatten()
            .and_then(|decoded| String::from_utf8(decoded).ok())
            .and_then(|decoded| {
                let (name, password) = decoded.split_once(':')?;
                Some((name.to_owned(), password.to_owned()))
            })
            .ok_or(Refusal::WrongCredentials)?;
        self.sign_in_with(&loaded, &name, &password, client).await
    }

    /// A user's name and password (HTTP Basic, or the UI's sign-in form).
    pub async fn sign_in(
        &self,
        name: &str,
        password: &str,
        client: Option<IpAddr>,
    ) -> Result<Principal, Refusal> {
        let loaded = self.readable()?;
        self.sign_in_with(&loaded, name, password, client).await
    }

    /// The file as last read, unless it could not be read (then no one is let in).
    fn readable(&self) -> Result<Arc<Loaded>, Refusal> {
        let loaded = self.current();
        if loaded.broken {
            return Err(Refusal::Unavailable);
        }
        Ok(loaded)
    }

    /// The role `name` has now and which password (a digest of its hash);
    /// `None` if there is no such user any more.
    pub fn user(&self, name: &str) -> Result<Option<(Role, SignedInUser)>, Refusal> {
        let loaded = self.readable()?;
        Ok(loaded.users.get(name).map(|(role, hash)| {
            let digest = Sha256::digest(hash.as_bytes());
            let stamp = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
            (
                *role,
                SignedInUser {
                    name: name.to_owned(),
                    stamp,
                },
            )
        }))
    }

    /// [`Self::check_user`], counting failures for the throttle.
    async fn sign_in_with(
        &self,
        loaded: &Arc<Loaded>,
        name: &str,
        password: &str,
        client: Option<IpAddr>,
    ) -> Result<Principal, Refusal> {
        let principal = self.check_user(loaded, name, password, client).await;
        match &principal {
            Ok(_) => self.throttle.succeeded(name),
            Err(Refusal::WrongCredentials) => {
                tracing::warn!(user = name, client = ?client, "wrong password or unknown user");
                self.throttle.failed(Some(name), client)
            }
            Err(_) => {}
        }
        principal
    }

    /// A user's name and password: remembered, or checked unless throttled.
    async fn check_user(
        &self,
        loaded: &Arc<Loaded>,
        name: &str,
        password: &str,
        client: Option<IpAddr>,
    ) -> Result<Principal, Refusal> {
        let key = self.cache_key_of(name, password);
        if let Some(principal) = self.remembered(&key) {
            return Ok(principal);
        }
        if let Some(wait) = self.throttle.wait_before(Some(name), client) {
            return Err(Refusal::Throttled(wait));
        }
        // Shared only by requests that read the same version of the file, so a
        // check begun before a user was removed cannot answer for one after.
        let running_key = (key, Arc::as_ptr(loaded) as usize);
        let check = self
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(running_key)
            .or_default()
            .clone();
        let forget = Forget(&self.running, running_key);
        let outcome = check
            .get_or_init(|| self.check_password(loaded, name, password, client))
            .await
            .clone();
        drop(forget);
        let principal = outcome?;
        self.remember(key, principal.clone(), loaded);
        Ok(principal)
    }

    /// The argon2id check itself, off the request threads, at most
    /// [`HASHES_AT_ONCE`] at a time; the throttle is asked again once it is this
    /// request's turn, as failures may have been counted while it waited.
    async fn check_password(
        &self,
        loaded: &Loaded,
        name: &str,
        password: &str,
        client: Option<IpAddr>,
    ) -> Result<Principal, Refusal> {
        let (role, hash) = match loaded.users.get(name) {
            Some((role, hash)) => (Some(*role), hash.clone()),
            None => (None, self.decoy_hash.clone()),
        };
        let permit = tokio::time::timeout(WAIT_FOR_A_TURN, self.hashing.clone().acquire_owned())
            .await
            .map_err(|_| Refusal::Busy)?
            .map_err(|_| Refusal::Busy)?;
        if let Some(wait) = self.throttle.wait_before(Some(name), client) {
            return Err(Refusal::Throttled(wait));
        }
        let password = password.to_owned();
        // The permit goes with the hash: a request dropped meanwhile (its client
        // gone) does not free a slot while its hash still runs.
        let matches = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            users_file::password_matches(&password, &hash)
        })
        .await
        .map_err(|_| Refusal::Busy)?;
        match role.filter(|_| matches) {
            Some(role) => Ok(Principal::User {
                name: name.into(),
                role,
            }),
            None => Err(Refusal::WrongCredentials),
        }
    }

    fn cache_key_of(&self, name: &str, password: &str) -> [u8; 32] {
        let mut mac = self.keyed_mac.clone();
        mac.update(name.as_bytes());
        mac.update(&[0]);
        mac.update(password.as_bytes());
        mac.finalize().into_bytes().into()
    }

    fn remembered(&self, key: &[u8; 32]) -> Option<Principal> {
        let verified = self.verified.lock().unwrap_or_else(|e| e.into_inner());
        let (principal, at) = verified.get(key)?;
        (at.elapsed() < REMEMBER_FOR).then(|| principal.clone())
    }

    fn remember(&self, key: [u8; 32], principal: Principal, checked_against: &Arc<Loaded>) {
        let mut verified = self.verified.lock().unwrap_or_else(|e| e.into_inner());
        // A password checked against a file read again since is not remembered
        // (a reload swaps the file and clears this cache under this lock).
        let now_loaded = self
            .loaded
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if !Arc::ptr_eq(checked_against, &now_loaded) {
            return;
        }
        if verified.len() >= REMEMBER_AT_MOST {
            verified.clear();
        }
        verified.insert(key, (principal, Instant::now()));
    }

    /// The file as it is now: read again if it changed since it was last looked
    /// at, which is at most [`LOOK_EVERY`] ago.
    fn current(&self) -> Arc<Loaded> {
        let loaded = self
            .loaded
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let now_us = self.started.elapsed().as_micros() as u64;
        let looked_at_us = self.looked_at_us.load(Ordering::Relaxed);
        if now_us.saturating_sub(looked_at_us) < LOOK_EVERY.as_micros() as u64 {
            return loaded;
        }
        self.looked_at_us.store(now_us, Ordering::Relaxed);
        let stamp = stamp_of(&self.path);
        if loaded.stamp == stamp {
            return loaded;
        }
        // Lock order, here and in `remember`: the cache, then the file.
        let mut verified = self.verified.lock().unwrap_or_else(|e| e.into_inner());
        let mut slot = self.loaded.write().unwrap_or_else(|e| e.into_inner());
        if slot.stamp == stamp {
            return slot.clone(); // another request read it meanwhile
        }
        let fresh = Arc::new(read(&self.path).unwrap_or_else(|error| {
            tracing::error!(%error, "the users file cannot be read; refusing every sign-in until it is fixed");
            Loaded {
                stamp,
                users: HashMap::new(),
                tokens: HashMap::new(),
                broken: true,
            }
        }));
        if !fresh.broken {
            tracing::info!(
                users = fresh.users.len(),
                tokens = fresh.tokens.len(),
                "users file read"
            );
        }
        *slot = fresh.clone();
        verified.clear();
        fresh
    }
}

fn stamp_of(path: &std::path::Path) -> Option<Stamp> {
    let metadata = std::fs::metadata(path).ok()?;
    Some(Stamp {
        modified: metadata.modified().ok()?,
        len: metadata.len(),
        inode: metadata.ino(),
    })
}

fn read(path: &std::path::Path) -> Result<Loaded, String> {
    let stamp = stamp_of(path);
    let file = UsersFile::load(path)?;
    Ok(Loaded {
        stamp,
        users: file
            .users
            .into_iter()
            .map(|user| (user.name, (user.role, user.password)))
            .collect(),
        tokens: file
            .tokens
            .into_iter()
            .filter_map(|token| {
                let digest = users_file::parse_digest(&token.sha256);
                if digest.is_none() {
                    tracing::warn!(
                        token = token.name,
                        "a token's hash in the users file is not 64 hex digits; it is ignored"
                    );
                }
                Some((digest?, (token.name.into(), token.role)))
            })
            .collect(),
        broken: false,
    })
}
