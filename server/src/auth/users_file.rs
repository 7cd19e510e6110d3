//! `USERS_FILE`: the users (argon2id password hashes) and API tokens (SHA-256
//! hashes) allowed in, each with a role. Written only by the `user` and `token`
//! subcommands; the server reads it again whenever it changes.
//!
//! ```json
//! {"users": [{"name": "ada", "role": "editor", "password": "$argon2id$v=19$..."}],
//!  "tokens": [{"name": "nightly-export", "role": "viewer", "sha256": "9f86d0..."}]}
//! ```

use super::Role;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::Path;

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct UsersFile {
    #[serde(default)]
    pub users: Vec<User>,
    #[serde(default)]
    pub tokens: Vec<Token>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub role: Role,
    /// A PHC string: `$argon2id$v=19$m=…,t=…,p=…$salt$hash`.
    pub password: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Token {
    pub name: String,
    pub role: Role,
    /// Hex SHA-256 of the token: a token is 256 random bits, so a fast hash
    /// cannot be reversed by guessing, unlike a password.
    pub sha256: String,
}

/// Tokens start with this, so they are recognisable in a leaked file or log.
const TOKEN_PREFIX: &str = "crt_";

impl UsersFile {
    /// The file at `path`; an absent file holds no one.
    pub fn load(path: &Path) -> Result<Self, String> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| format!("{} is not a valid users file: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        }
    }

    /// Replaces the file at `path` in one step (write a temporary file, then
    /// rename), readable by its owner only: it holds password hashes.
    pub fn save(&self, path: &Path) -> Result<(), String> {
        use std::os::unix::fs::OpenOptionsExt;
        let fail = |e: std::io::Error| format!("cannot write {}: {e}", path.display());
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
        let temporary = path.with_extension(format!("tmp-{}", std::process::id()));
        let json = serde_json::to_vec_pretty(self).map_err(|e| e.to_string())?;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temporary)
            .map_err(fail)?;
        let written = file
            .write_all(&json)
            .and_then(|()| file.write_all(b"\n"))
            .and_then(|()| file.sync_all())
            .and_then(|()| std::fs::rename(&temporary, path));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&temporary);
            return Err(fail(e));
        }
        if let Some(dir) = dir.map(std::fs::File::open) {
            let _ = dir.and_then(|d| d.sync_all());
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty() && self.tokens.is_empty()
    }

    /// Adds the user, or replaces the password and role of one of that name.
    pub fn set_user(&mut self, name: &str, role: Role, password: &str) -> Result<(), String> {
        check_name(name)?;
        if password.chars().count() < 8 {
            return Err("the password must have at least 8 characters".into());
        }
        let hash = hash_password(password)?;
        self.users.retain(|user| user.name != name);
        self.users.push(User {
            name: name.to_owned(),
            role,
            password: hash,
        });
        Ok(())
    }

    /// Whether a user of that name was there.
    pub fn remove_user(&mut self, name: &str) -> bool {
        let before = self.users.len();
        self.users.retain(|user| user.name != name);
        self.users.len() != before
    }

    /// Creates a token and returns it: the only time it is seen, as only its
    /// hash is kept.
    pub fn create_token(&mut self, name: &str, role: Role) -> Result<String, String> {
        check_name(name)?;
        if self.tokens.iter().any(|token| token.name == name) {
            return Err(format!(
                "a token named {name:?} exists: revoke it first, or choose another name"
            ));
        }
        let secret: [u8; 32] = rand::random();
        let token = format!("{TOKEN_PREFIX}{}", hex(&secret));
        self.tokens.push(Token {
            name: name.to_owned(),
            role,
            sha256: hex(&token_digest(&token)),
        });
        Ok(token)
    }

    /// Whether a token of that name was there.
    pub fn revoke_token(&mut self, name: &str) -> bool {
        let before = self.tokens.len();
        self.tokens.retain(|token| token.name != name);
        self.tokens.len() != before
    }
}

fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a valid name: use 1 to 64 letters, digits, '-', '_', '.' or '@'"
        ))
    }
}

/// argon2id with the crate's defaults (the OWASP minimum: 19 MiB, 2 passes).
pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
        .map_err(|e| format!("cannot make a salt: {e}"))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| format!("cannot hash the password: {e}"))
}

/// Checks `password` against a PHC hash, in time independent of where they differ.
pub fn password_matches(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

/// The SHA-256 of a token, as kept (in hex) in the file.
pub fn token_digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut text, b| {
        let _ = write!(text, "{b:02x}");
        text
    })
}

/// The bytes of a 64-digit hex SHA-256, as the file keeps them.
pub fn parse_digest(text: &str) -> Option<[u8; 32]> {
    let mut digest = [0; 32];
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    for (byte, pair) in digest.iter_mut().zip(text.as_bytes().chunks(2)) {
        *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_and_tokens_are_kept_as_hashes_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.json");
        assert!(UsersFile::load(&path).unwrap().is_empty());
        let mut file = UsersFile::default();
        file.set_user("ada", Role::Editor, "correct horse").unwrap();
        let token = file.create_token("ci", Role::Viewer).unwrap();
        assert!(file.create_token("ci", Role::Viewer).is_err());
        file.save(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("correct horse") && !text.contains(&token));
        let loaded = UsersFile::load(&path).unwrap();
        assert_eq!(loaded, file);
        assert!(password_matches("correct horse", &loaded.users[0].password));
        assert!(!password_matches(
            "correct horsE",
            &loaded.users[0].password
        ));
        assert_eq!(
            parse_digest(&loaded.tokens[0].sha256),
            Some(token_digest(&token))
        );
        assert_eq!(parse_digest("zz"), None);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn names_and_passwords_are_checked() {
        let mut file = UsersFile::default();
        assert!(file.set_user("", Role::Viewer, "long enough").is_err());
        assert!(file.set_user("a b", Role::Viewer, "long enough").is_err());
        assert!(file.set_user("ada", Role::Viewer, "short").is_err());
        file.set_user("ada", Role::Viewer, "long enough").unwrap();
        file.set_user("ada", Role::Admin, "another one").unwrap();
        assert_eq!(file.users.len(), 1);
        assert_eq!(file.users[0].role, Role::Admin);
        assert!(file.remove_user("ada"));
        assert!(!file.remove_user("ada"));
    }
}
