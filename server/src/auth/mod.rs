//! Who may do what.
//!
//! - `AUTH=off`: everyone may do everything (warned at start-up).
//! - No users or tokens in `USERS_FILE` (the default): protected mode, as Redis
//!   has: only clients on this machine are served, and they may do everything;
//!   any other client gets 403 on every request, saying how to open up.
//! - Otherwise every request names a user (HTTP Basic), an API token
//!   (`Authorization: Bearer`) or a signed-in session of the UI (a cookie, see
//!   [`sessions`]), and its role must allow the request: `viewer` reads,
//!   `editor` also writes and reads a customer's history, `admin` also reads
//!   everyone's audit trail and `/metrics`.
//!
//! The file is read again when it changes (looked at every 100 ms at most; the
//! subcommands return only after that), so a removed user or revoked token is
//! refused once the command that removed it returns, without a restart.

pub mod commands;
mod credentials;
pub mod sessions;
mod throttle;
pub mod users_file;

use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use credentials::Directory;
use serde::{Deserialize, Serialize};
use sessions::Sessions;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// What a role may do; each includes the ones before it.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read customers.
    Viewer,
    /// Read, create, change and delete customers, and read a customer's history.
    Editor,
    /// An editor who may also import and export every customer, read
    /// everyone's audit trail and export it, and the operator's views (`/metrics`).
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Editor => "editor",
            Role::Admin => "admin",
        }
    }
}

/// Who a request acts for (kept in its extensions for handlers and logs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    /// `AUTH=off`: anyone.
    Anyone,
    /// Protected mode: a client on this machine.
    Local,
    User {
        name: Arc<str>,
        role: Role,
    },
    Token {
        name: Arc<str>,
        role: Role,
    },
}

impl Principal {
    pub fn role(&self) -> Role {
        match self {
            Principal::Anyone | Principal::Local => Role::Admin,
            Principal::User { role, .. } | Principal::Token { role, .. } => *role,
        }
    }

    /// The actor an audit entry names (see [`app::domain::Author`]).
    pub fn actor(&self) -> String {
        match self {
            Principal::Anyone => "anyone".into(),
            Principal::Local => "local".into(),
            Principal::User { name, .. } => format!("user:{name}"),
            Principal::Token { name, .. } => format!("token:{name}"),
        }
    }

    fn describe(&self) -> String {
        match self {
            Principal::Anyone => "anyone".into(),
            Principal::Local => "local".into(),
            Principal::User { name, .. } => format!("user {name:?}"),
            Principal::Token { name, .. } => format!("token {name:?}"),
        }
    }
}

/// The access policy, shared by every connection and request.
pub struct Access {
    open: bool,
    directory: Directory,
    /// The UI's sign-in sessions (none until the store is open: see [`Self::with_sessions`]).
    sessions: Option<Sessions>,
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Access")
            .field("open", &self.open)
            .field("protected", &self.is_protected())
            .finish_non_exhaustive()
    }
}

impl Access {
    /// `open` is `AUTH=off`.
    pub fn new(open: bool, users_file: PathBuf) -> Result<Self, String> {
        Ok(Self {
            open,
            directory: Directory::open(users_file)?,
            sessions: None,
        })
    }

    /// Where sign-in sessions are kept: the store's, once it is open.
    pub fn with_sessions(mut self, sessions: Sessions) -> Self {
        self.sessions = Some(sessions);
        self
    }

    pub fn sessions(&self) -> Option<&Sessions> {
        self.sessions.as_ref()
    }

    /// Checks a user's name and password (slowed after failures, per user and
    /// per client address) and starts a session; returns its token.
    pub async fn sign_in(
        &self,
        name: &str,
        password: &str,
        client: Option<IpAddr>,
    ) -> Result<(String, Principal), Refusal> {
        let sessions = self.sessions.as_ref().ok_or(Refusal::SessionsUnavailable)?;
        let principal = self.directory.sign_in(name, password, client).await?;
        let (_, user) = self
            .directory
            .user(name)?
            .ok_or(Refusal::WrongCredentials)?;
        let token = sessions.start(&user).await.map_err(|error| {
            tracing::warn!(%error, "cannot start a session");
            Refusal::SessionsUnavailable
        })?;
        Ok((token, principal))
    }

    pub fn is_open(&self) -> bool {
        self.open
    }

    /// Whether requests must name someone (users are configured and `AUTH` is on).
    pub fn needs_sign_in(&self) -> bool {
        !self.open && !self.directory.is_empty()
    }

    /// Protected mode: no one is configured, so only this machine is served.
    pub fn is_protected(&self) -> bool {
        !self.open && self.directory.is_empty()
    }

    /// Who the request acts for, if it may go on; else the answer to send.
    /// `client` is the address it came from (`None`: from inside this process,
    /// as when a form page is rendered for a failed form post).
    pub async fn authorize(
        &self,
        client: Option<IpAddr>,
        method: &Method,
        path: &str,
        headers: &HeaderMap,
    ) -> Result<Principal, Refusal> {
        if self.open {
            return Ok(Principal::Anyone);
        }
        if self.directory.is_empty() {
            // `::ffff:127.0.0.1` is how an IPv4 loopback client reaches a dual-stack socket.
            let local = client.is_none_or(|ip| ip.to_canonical().is_loopback());
            return if local {
                Ok(Principal::Local)
            } else {
                Err(Refusal::ProtectedMode)
            };
        }
        let Some(needed) = required_role(method, path) else {
            return Ok(Principal::Local);
        };
        let principal = match headers.get(header::AUTHORIZATION) {
            Some(authorization) => self.directory.verify(authorization, client).await?,
            None => match session_token(headers) {
                Some(token) => self.resume(token).await?,
                None => return Err(Refusal::SignInRequired),
            },
        };
        if principal.role() < needed {
            return Err(Refusal::NotAllowed {
                who: principal.describe(),
                has: principal.role(),
                needs: needed,
            });
        }
        Ok(principal)
    }
}

impl Access {
    /// The user of a session, with the role `USERS_FILE` gives them now.
    async fn resume(&self, token: &str) -> Result<Principal, Refusal> {
        let sessions = self.sessions.as_ref().ok_or(Refusal::SessionEnded)?;
        let user = sessions.resume(token).await.map_err(|error| {
            tracing::warn!(%error, "cannot read a session");
            Refusal::SessionsUnavailable
        })?;
        let Some(user) = user else {
            return Err(Refusal::SessionEnded);
        };
        match self.directory.user(&user.name)? {
            Some((role, now)) if now == user => Ok(Principal::User {
                name: user.name.into(),
                role,
            }),
            _ => {
                // Removed from the file, or a new password: the session ends.
                let _ = sessions.end(token).await;
                Err(Refusal::SessionEnded)
            }
        }
    }
}

/// The session token of a request's `Cookie` header, if it has one.
pub fn session_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(sessions::token_in)
}

/// The role a request needs; `None` for what anyone may fetch (health checks,
/// the static bundle, signing in and out and the theme switch, which hold no
/// customer data).
pub fn required_role(method: &Method, path: &str) -> Option<Role> {
    if matches!(
        path,
        "/healthz" | "/readyz" | "/favicon.svg" | "/sign-in" | "/sign-out" | "/theme"
    ) || path.starts_with("/pkg/")
    {
        return None;
    }
    Some(match path {
        "/metrics"
        | "/audit"
        | "/audit/export"
        | "/api/audit_log"
        | "/export"
        | "/import"
        | "/import/upload"
        | "/api/import_report"
        | "/api/start_import"
        | "/api/discard_import"
        | "/status"
        | "/status/events"
        | "/api/store_status" => Role::Admin,
        "/history" | "/api/customer_history" => Role::Editor,
        // Server functions are all POSTs: these only read.
        "/api/list_customers" | "/api/get_customer" => Role::Viewer,
        _ if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) => Role::Viewer,
        _ => Role::Editor,
    })
}

/// The one-line answer to every request from another machine in protected mode.
const PROTECTED_MODE: &str = "protected mode: this server has no users configured, so it \
    serves only clients on its own machine; add a user there with `customer-records user add \
    NAME --role editor`, or restart it with AUTH=off to serve every client without sign-in \
    (anyone who can reach it can then read and change every customer)\n";

/// Why a request was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No users exist and the client is on another machine.
    ProtectedMode,
    SignInRequired,
    WrongCredentials,
    /// Too many failed sign-ins for the user or from the address: try again after this.
    Throttled(std::time::Duration),
    /// Password checks are too busy to take another now.
    Busy,
    /// The users file cannot be read (the log says why).
    Unavailable,
    /// The session cookie names a session that has ended (signed out, expired,
    /// or its user removed).
    SessionEnded,
    /// The store that keeps sessions cannot be reached.
    SessionsUnavailable,
    NotAllowed {
        who: String,
        has: Role,
        needs: Role,
    },
}

impl Refusal {
    /// Counts the refusal (`http_requests_refused_total` by reason) and logs
    /// failed sign-ins and refused clients (the latter every 1,000th time).
    pub fn record(&self) {
        use std::sync::atomic::{AtomicU64, Ordering};
        static PROTECTED: AtomicU64 = AtomicU64::new(0);
        let reason = match self {
            Refusal::ProtectedMode => "protected_mode",
            Refusal::SignInRequired => "sign_in_required",
            Refusal::WrongCredentials => "wrong_credentials",
            Refusal::Throttled(_) => "throttled",
            Refusal::Busy => "busy",
            Refusal::Unavailable => "users_file_unreadable",
            Refusal::SessionEnded => "session_ended",
            Refusal::SessionsUnavailable => "sessions_unavailable",
            Refusal::NotAllowed { .. } => "not_allowed",
        };
        metrics::counter!("http_requests_refused_total", "reason" => reason).increment(1);
        match self {
            Refusal::ProtectedMode => {
                if PROTECTED
                    .fetch_add(1, Ordering::Relaxed)
                    .is_multiple_of(1000)
                {
                    tracing::warn!("protected mode: refusing a client on another machine (add a user, or set AUTH=off)");
                }
            }
            Refusal::WrongCredentials => {
                tracing::warn!("sign-in failed: wrong user name, password or token")
            }
            Refusal::NotAllowed { who, needs, .. } => {
                tracing::info!(
                    who,
                    needs = needs.as_str(),
                    "request not allowed for its role"
                )
            }
            Refusal::Throttled(wait) => tracing::warn!(
                wait_s = wait.as_secs_f64(),
                "sign-in refused: too many failures for this user or from this address"
            ),
            Refusal::SignInRequired
            | Refusal::Busy
            | Refusal::Unavailable
            | Refusal::SessionEnded
            | Refusal::SessionsUnavailable => {}
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let retry_after = match &self {
            Refusal::Throttled(wait) => Some(wait.as_secs() + u64::from(wait.subsec_nanos() > 0)),
            _ => None,
        };
        let ended = matches!(self, Refusal::SessionEnded);
        let (status, message) = match self {
            Refusal::ProtectedMode => (StatusCode::FORBIDDEN, PROTECTED_MODE.to_owned()),
            Refusal::Busy => (
                StatusCode::SERVICE_UNAVAILABLE,
                "too many sign-ins are being checked right now: try again shortly\n".to_owned(),
            ),
            Refusal::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "sign-in is unavailable: the server cannot read its users file\n".to_owned(),
            ),
            Refusal::SessionsUnavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "sign-in is unavailable: the store that keeps sessions cannot be reached; try again shortly\n".to_owned(),
            ),
            Refusal::SessionEnded => (
                StatusCode::UNAUTHORIZED,
                "your session has ended (signed out, expired, or the user was removed): sign in again\n".to_owned(),
            ),
            Refusal::Throttled(_) => (
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "too many failed sign-ins for this user or from this address: try again in {} s\n",
                    retry_after.unwrap_or(1)
                ),
            ),
            Refusal::SignInRequired => (
                StatusCode::UNAUTHORIZED,
                "sign-in required: send a user's name and password (HTTP Basic) or an API token (Authorization: Bearer)\n".to_owned(),
            ),
            Refusal::WrongCredentials => (
                StatusCode::UNAUTHORIZED,
                "wrong user name, password or token\n".to_owned(),
            ),
            Refusal::NotAllowed { who, has, needs } => (
                StatusCode::FORBIDDEN,
                format!(
                    "not allowed: {who} has the role {}, and this needs {}\n",
                    has.as_str(),
                    needs.as_str()
                ),
            ),
        };
        let closes = message == PROTECTED_MODE;
        let mut response = (status, message).into_response();
        if ended {
            // The browser forgets the cookie of a session that is over.
            response
                .headers_mut()
                .insert(header::SET_COOKIE, sessions::clearing_cookie());
        }
        if closes {
            // Nothing else will be served on this connection.
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if status == StatusCode::UNAUTHORIZED {
            let headers = response.headers_mut();
            headers.append(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"Basic realm="customer-records", charset="UTF-8""#),
            );
            headers.append(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"Bearer realm="customer-records""#),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_need_a_viewer_writes_an_editor() {
        let get = Method::GET;
        let post = Method::POST;
        assert_eq!(required_role(&get, "/healthz"), None);
        assert_eq!(required_role(&get, "/pkg/app.0a1b.wasm"), None);
        assert_eq!(required_role(&get, "/"), Some(Role::Viewer));
        assert_eq!(required_role(&get, "/get/a"), Some(Role::Viewer));
        assert_eq!(required_role(&get, "/edit"), Some(Role::Viewer));
        assert_eq!(
            required_role(&post, "/api/list_customers"),
            Some(Role::Viewer)
        );
        assert_eq!(
            required_role(&post, "/api/get_customer"),
            Some(Role::Viewer)
        );
        assert_eq!(required_role(&post, "/set"), Some(Role::Editor));
        assert_eq!(
            required_role(&post, "/api/save_customer"),
            Some(Role::Editor)
        );
        assert_eq!(
            required_role(&post, "/api/delete_customer"),
            Some(Role::Editor)
        );
        assert_eq!(required_role(&get, "/metrics"), Some(Role::Admin));
        assert_eq!(required_role(&get, "/history"), Some(Role::Editor));
        assert_eq!(required_role(&get, "/audit"), Some(Role::Admin));
        assert_eq!(required_role(&get, "/audit/export"), Some(Role::Admin));
        assert_eq!(required_role(&get, "/export"), Some(Role::Admin));
        assert_eq!(required_role(&post, "/import"), Some(Role::Admin));
        assert_eq!(required_role(&get, "/import"), Some(Role::Admin));
        assert_eq!(required_role(&post, "/import/upload"), Some(Role::Admin));
        assert_eq!(required_role(&post, "/api/start_import"), Some(Role::Admin));
        assert_eq!(required_role(&get, "/status"), Some(Role::Admin));
        assert_eq!(required_role(&get, "/status/events"), Some(Role::Admin));
        assert_eq!(
            required_role(&post, "/api/customer_history"),
            Some(Role::Editor)
        );
        assert_eq!(required_role(&post, "/api/audit_log"), Some(Role::Admin));
        assert!(Role::Viewer < Role::Editor && Role::Editor < Role::Admin);
    }
}
