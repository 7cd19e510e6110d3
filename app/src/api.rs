//! Server functions: thin adapters from the UI to the [`CustomerStore`] that the
//! server provides through context.
//!
//! [`CustomerStore`]: crate::domain::CustomerStore

use crate::domain::{CustomerDraft, Page, Stored, ValidationErrors};
use leptos::prelude::*;
use leptos::server_fn::codec::{JsonEncoding, Postcard, PostcardEncoding};
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// Why a UI operation failed, with messages shown to the user as they are.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, thiserror::Error)]
pub enum CustomerError {
    /// The submitted form broke a rule; `draft` is the input, to show it again.
    #[error("Please correct the highlighted fields.")]
    Invalid {
        errors: ValidationErrors,
        draft: CustomerDraft,
    },
    #[error("There is no customer with ID “{0}”.")]
    NotFound(String),
    /// An edit was saved over a version someone else had replaced meanwhile.
    #[error("Someone else changed this customer while you were editing it, so your changes were not saved.")]
    Conflict {
        theirs: Box<Stored>,
        yours: CustomerDraft,
    },
    /// An edit was saved after someone else deleted the customer.
    #[error("Someone else deleted this customer while you were editing it, so your changes were not saved.")]
    Deleted { yours: CustomerDraft },
    /// A deletion was confirmed for a version someone else has replaced since.
    #[error("This customer was changed after you opened this page, so it was not deleted. Check the details and confirm again.")]
    Changed { current: Box<Stored> },
    /// The request carried something no form of ours sends.
    #[error("The request was not understood: {0}")]
    BadInput(String),
    #[error("The customer store is unavailable right now, so nothing was changed. Please try again in a moment.")]
    Unavailable,
    /// What failed is in the server's log, not in the answer.
    #[error("The customer store failed, so nothing was changed. Please try again; if it keeps failing, tell the administrator.")]
    Failed,
    /// The signed-in user's role does not allow this (the server's words).
    #[error("{0}")]
    NotAllowed(String),
    /// No session, or it has ended.
    #[error("You are not signed in, or your session has ended. Reload the page to sign in again.")]
    SignInRequired,
    /// The request itself failed (network, server not reachable, ...).
    #[error("The request failed: {0}")]
    Request(String),
    /// An upload on the import page cannot be acted on.
    #[error("{0}")]
    Import(crate::domain::ImportRefusal),
    /// The browser stopped waiting for the answer (see `routes::list`).
    #[error("No answer within {0} seconds: the server or the customer store may be busy or unreachable.")]
    TimedOut(u64),
}

impl FromServerFnError for CustomerError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        #[cfg(feature = "ssr")]
        ssr::set_status_of_bad_request(&value);
        CustomerError::Request(value.to_string())
    }
}

/// A [`CustomerError`] answered in postcard rather than JSON: the error of the
/// server functions the list calls once hydrated ([`list_customers`],
/// [`delete_as_shown`], [`restore_customers`]), whose answers are postcard
/// too. The bundle every list page loads then reads no JSON (see
/// `island_start`); the lazily loaded forms keep JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ListError(pub CustomerError);

impl FromServerFnError for ListError {
    type Encoder = PostcardEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        ListError(CustomerError::from_server_fn_error(value))
    }
}

#[cfg(feature = "ssr")]
mod ssr {
    use super::CustomerError;
    use crate::domain::{CustomerStore, StoreError};
    use leptos::prelude::use_context;
    use leptos::server_fn::error::ServerFnErrorErr;
    use std::sync::Arc;

    pub fn store() -> Result<Arc<dyn CustomerStore>, CustomerError> {
        use_context::<Arc<dyn CustomerStore>>().ok_or_else(|| {
            tracing::error!("no customer store in the server functions' context");
            CustomerError::Failed
        })
    }

    /// The uploads of the import page, which the server provides through context.
    pub fn imports() -> Result<Arc<dyn crate::domain::Imports>, CustomerError> {
        use_context::<Arc<dyn crate::domain::Imports>>().ok_or_else(|| {
            tracing::error!("no uploads in the server functions' context");
            CustomerError::Failed
        })
    }

    /// Who the request acts for: put in its extensions by the server's access
    /// check before any server function runs.
    pub fn author() -> Result<crate::domain::Author, CustomerError> {
        use_context::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<crate::domain::Author>().cloned())
            .ok_or_else(|| {
                tracing::error!("a write without its author in the request");
                CustomerError::Failed
            })
    }

    /// How fresh the request's reads must be: put in its extensions by the
    /// server (see [`crate::domain::Freshness`]); the latest state otherwise.
    pub fn freshness() -> crate::domain::Freshness {
        use_context::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get().copied())
            .unwrap_or_default()
    }

    impl From<StoreError> for CustomerError {
        fn from(error: StoreError) -> Self {
            tracing::warn!(%error, "store operation failed");
            match error {
                StoreError::Unavailable(_) => CustomerError::Unavailable,
                StoreError::Failed(_) => CustomerError::Failed,
                // Callers that expect a conflict match it before converting.
                StoreError::Conflict(_) => CustomerError::Failed,
            }
        }
    }

    /// Gives a failed server function its HTTP status (4xx for the client's mistakes,
    /// 503 when the store is unavailable). Plain form posts keep the redirect back to
    /// the form that server functions answer them with, which carries the error.
    pub fn fail(error: CustomerError) -> CustomerError {
        use http::StatusCode;
        let status = match &error {
            CustomerError::Invalid { .. } | CustomerError::BadInput(_) => StatusCode::BAD_REQUEST,
            CustomerError::NotFound(_)
            | CustomerError::Import(crate::domain::ImportRefusal::Gone) => StatusCode::NOT_FOUND,
            CustomerError::Import(_) => StatusCode::CONFLICT,
            CustomerError::Conflict { .. }
            | CustomerError::Deleted { .. }
            | CustomerError::Changed { .. } => StatusCode::CONFLICT,
            CustomerError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            CustomerError::NotAllowed(_) => StatusCode::FORBIDDEN,
            CustomerError::SignInRequired => StatusCode::UNAUTHORIZED,
            CustomerError::Failed | CustomerError::Request(_) => StatusCode::INTERNAL_SERVER_ERROR,
            CustomerError::TimedOut(_) => StatusCode::GATEWAY_TIMEOUT,
        };
        set_status(status);
        error
    }

    /// A request the server function could not even read (missing or repeated
    /// fields, a body over the limit) is the client's mistake: 400 or 413, not
    /// the 500 server functions answer by default.
    pub fn set_status_of_bad_request(error: &ServerFnErrorErr) {
        use http::StatusCode;
        let status = match error {
            ServerFnErrorErr::Deserialization(message) | ServerFnErrorErr::Args(message)
                if message.contains("length limit") =>
            {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            ServerFnErrorErr::Deserialization(_)
            | ServerFnErrorErr::Args(_)
            | ServerFnErrorErr::MissingArg(_) => StatusCode::BAD_REQUEST,
            ServerFnErrorErr::UnsupportedRequestMethod(_) => StatusCode::METHOD_NOT_ALLOWED,
            _ => return,
        };
        set_status(status);
    }

    /// Sets the answer's status, except for plain form posts (no JavaScript):
    /// those are redirected back to the form, which shows the error.
    fn set_status(status: http::StatusCode) {
        use http::header::ACCEPT;
        let is_form_post = use_context::<http::request::Parts>().is_some_and(|parts| {
            parts.method == http::Method::POST
                && parts
                    .headers
                    .get(ACCEPT)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.contains("text/html"))
        });
        if !is_form_post {
            if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                response.set_status(status);
            }
        }
    }

    /// Runs a server function's body, giving its failure the matching status.
    pub async fn respond<T>(
        body: impl std::future::Future<Output = Result<T, CustomerError>>,
    ) -> Result<T, CustomerError> {
        body.await.map_err(fail)
    }

    /// Sends plain form posts (no JavaScript) on to `location`; the hydrated UI
    /// follows the same redirect client-side.
    pub fn redirect(location: &str) {
        leptos_axum::redirect(location);
    }

    /// The version a form carried, if any.
    pub fn parse_version(
        version: Option<String>,
    ) -> Result<Option<crate::domain::Version>, CustomerError> {
        version
            .filter(|v| !v.trim().is_empty())
            .map(|v| {
                v.parse()
                    .map_err(|_| CustomerError::BadInput("version must be a whole number".into()))
            })
            .transpose()
    }
}

/// Who is signed in to the UI: put in the request's extensions by the server
/// when a user (not a token, not protected mode) makes the request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedIn {
    pub name: String,
    pub role: String,
    /// Signed in with the sign-in page (so signing out means something), rather
    /// than with the browser's own HTTP Basic dialog.
    pub with_session: bool,
}

/// One customer's changes, newest first (editors): `id` as a client names it;
/// a deleted customer's history stays.
#[server(endpoint = "customer_history")]
pub async fn customer_history(
    id: String,
    older: Option<String>,
) -> Result<crate::domain::AuditPage, CustomerError> {
    use crate::domain::{lookup_keys, AuditQuery};
    let query = AuditQuery {
        customer_id: lookup_keys(&id)
            .into_iter()
            .next()
            .map(std::borrow::Cow::into_owned),
        actor: None,
        older_than: older.filter(|o| !o.is_empty()),
        limit: AuditQuery::DEFAULT_LIMIT,
    };
    ssr::respond(async move { Ok(ssr::store()?.audit(&query).await?) }).await
}

/// Everyone's changes, newest first, optionally one actor's or one customer's
/// (admins).
#[server(endpoint = "audit_log")]
pub async fn audit_log(
    actor: Option<String>,
    customer: Option<String>,
    older: Option<String>,
) -> Result<crate::domain::AuditPage, CustomerError> {
    use crate::domain::{lookup_keys, AuditQuery};
    let given =
        |value: Option<String>| value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let query = AuditQuery {
        customer_id: given(customer).and_then(|id| {
            lookup_keys(&id)
                .into_iter()
                .next()
                .map(std::borrow::Cow::into_owned)
        }),
        actor: given(actor),
        older_than: given(older),
        limit: AuditQuery::DEFAULT_LIMIT,
    };
    ssr::respond(async move { Ok(ssr::store()?.audit(&query).await?) }).await
}

/// One page of customers for the list, by search text and cursor, the first of
/// these given: `after` an ID, `before` one, the `last` page, the page `at` an ID.
#[server(endpoint = "list_customers", output = Postcard)]
pub async fn list_customers(
    search: Option<String>,
    after: Option<String>,
    before: Option<String>,
    last: Option<bool>,
    at: Option<String>,
    sort: Option<String>,
    order: Option<String>,
) -> Result<Page, ListError> {
    use crate::domain::{Cursor, PageQuery, Sort};
    let cursor = match (after, before, last, at) {
        (Some(after), ..) => Cursor::After(after),
        (None, Some(before), ..) => Cursor::Before(before),
        (None, None, Some(true), _) => Cursor::End,
        (None, None, _, Some(at)) => Cursor::At(at),
        (None, None, _, None) => Cursor::Start,
    };
    let sort = Sort::from_params(sort.as_deref(), order.as_deref());
    let query = PageQuery::new(search.as_deref(), cursor, PageQuery::DEFAULT_LIMIT).sorted(sort);
    ssr::respond(async move {
        let (store, freshness) = (ssr::store()?, ssr::freshness());
        let page = store.list(&query, freshness).await?;
        // Nothing left past the cursor (the last rows of the page were just
        // deleted, or an old link): the nearest page there is, not an empty
        // list that reads as if there were no customers.
        let nearest = match query.cursor {
            Cursor::After(_) => Cursor::End,
            Cursor::Before(_) => Cursor::Start,
            _ => return Ok(page),
        };
        if !page.customers.is_empty() || page.total == 0 {
            return Ok(page);
        }
        let query = PageQuery {
            cursor: nearest,
            ..query
        };
        Ok(store.list(&query, freshness).await?)
    })
    .await
    .map_err(ListError)
}

#[server(endpoint = "get_customer")]
pub async fn get_customer(id: String) -> Result<Stored, CustomerError> {
    ssr::respond(async move {
        ssr::store()?
            .find(&id, ssr::freshness())
            .await?
            .ok_or(CustomerError::NotFound(id))
    })
    .await
}

/// Creates a customer (`existing` absent) or updates the customer `existing`,
/// as it was at `version` when the form was opened (any version if absent).
/// Field names are the JSON API's, so a form posts what `POST /set` takes.
#[server(endpoint = "save_customer")]
pub async fn save_customer(
    #[server(rename = "customerID")] customer_id: Option<String>,
    #[server(rename = "firstName")] first_name: Option<String>,
    #[server(rename = "lastName")] last_name: Option<String>,
    existing: Option<String>,
    version: Option<String>,
) -> Result<(), CustomerError> {
    use crate::domain::{Conflict, Field, FieldError, Precondition, Problem, StoreError};
    let draft = CustomerDraft {
        id: existing.clone().or(customer_id),
        first_name,
        last_name,
    };
    ssr::respond(async move {
        let invalid = |errors| CustomerError::Invalid {
            errors,
            draft: draft.clone(),
        };
        let customer = draft.validate().map_err(invalid)?;
        let precondition = match (&existing, ssr::parse_version(version)?) {
            (None, _) => Precondition::Absent,
            (Some(_), Some(version)) => Precondition::Version(version),
            (Some(_), None) => Precondition::Exists,
        };
        match ssr::store()?
            .put(&customer, precondition, &ssr::author()?)
            .await
        {
            Ok(_) => {}
            Err(StoreError::Conflict(Conflict { current })) => {
                return Err(match (precondition, current) {
                    (Precondition::Absent, _) => invalid(ValidationErrors(vec![FieldError {
                        field: Field::CustomerId,
                        problem: Problem::Taken(customer.id.clone()),
                    }])),
                    (_, Some(theirs)) => CustomerError::Conflict {
                        theirs: Box::new(theirs),
                        yours: draft.clone(),
                    },
                    (_, None) => CustomerError::Deleted {
                        yours: draft.clone(),
                    },
                })
            }
            Err(other) => return Err(other.into()),
        }
        // The list at the page the customer is on, scrolled to its row.
        let list = crate::url::with_query("/", &[("saved", Some(&customer.id))]);
        ssr::redirect(&format!("{list}#saved"));
        Ok(())
    })
    .await
}

/// Deletes the customer, if it is still at `version` (any version if absent).
#[server(endpoint = "delete_customer")]
pub async fn delete_customer(
    #[server(rename = "customerID")] customer_id: String,
    version: Option<String>,
) -> Result<(), CustomerError> {
    use crate::domain::{Conflict, Precondition, StoreError};
    ssr::respond(async move {
        let precondition = match ssr::parse_version(version)? {
            Some(version) => Precondition::Version(version),
            None => Precondition::Exists,
        };
        match ssr::store()?
            .delete_if(&customer_id, precondition, &ssr::author()?)
            .await
        {
            Ok(true) => {}
            Ok(false) | Err(StoreError::Conflict(Conflict { current: None })) => {
                return Err(CustomerError::NotFound(customer_id))
            }
            Err(StoreError::Conflict(Conflict {
                current: Some(current),
            })) => {
                return Err(CustomerError::Changed {
                    current: Box::new(current),
                })
            }
            Err(other) => return Err(other.into()),
        }
        ssr::redirect(&crate::url::with_query(
            "/",
            &[("deleted", Some(&customer_id))],
        ));
        Ok(())
    })
    .await
}

/// Deletes a customer straight from the list (with JavaScript), if it is
/// still exactly as the list showed it: then the user saw what they deleted,
/// and the list offers to undo it. Otherwise `Changed` (the confirmation page
/// then shows the customer as it is now) or `NotFound`.
#[server(endpoint = "delete_as_shown", output = Postcard)]
pub async fn delete_as_shown(
    #[server(rename = "customerID")] customer_id: String,
    #[server(rename = "firstName")] first_name: String,
    #[server(rename = "lastName")] last_name: String,
) -> Result<(), ListError> {
    use crate::domain::{Conflict, Precondition, StoreError};
    ssr::respond(async move {
        let store = ssr::store()?;
        let Some(current) = store
            .find(&customer_id, crate::domain::Freshness::Latest)
            .await?
        else {
            return Err(CustomerError::NotFound(customer_id));
        };
        let shown = &current.customer;
        if shown.first_name != first_name || shown.last_name != last_name {
            return Err(CustomerError::Changed {
                current: Box::new(current),
            });
        }
        let precondition = Precondition::Version(current.version);
        // The record found, under exactly its key.
        match store
            .remove(&current.customer.id, precondition, &ssr::author()?)
            .await
        {
            Ok(true) => Ok(()),
            Ok(false) | Err(StoreError::Conflict(Conflict { current: None })) => {
                Err(CustomerError::NotFound(customer_id))
            }
            Err(StoreError::Conflict(Conflict {
                current: Some(current),
            })) => Err(CustomerError::Changed {
                current: Box::new(current),
            }),
            Err(other) => Err(other.into()),
        }
    })
    .await
    .map_err(ListError)
}

/// The most customers one bulk request names: a few pages of the list, and
/// few enough that the notice naming them fits in a URL.
pub const BULK_LIMIT: usize = 100;

/// The IDs a bulk request names, checked: some, at most [`BULK_LIMIT`], none twice.
#[cfg(feature = "ssr")]
fn bulk_ids(ids: &[String]) -> Result<(), CustomerError> {
    if ids.is_empty() {
        return Err(CustomerError::BadInput("no customers were selected".into()));
    }
    if ids.len() > BULK_LIMIT {
        return Err(CustomerError::BadInput(format!(
            "at most {BULK_LIMIT} customers can be handled at once"
        )));
    }
    let mut seen = std::collections::HashSet::new();
    match ids.iter().find(|id| !seen.insert(id.as_str())) {
        Some(twice) => Err(CustomerError::BadInput(format!(
            "customer “{twice}” is named twice"
        ))),
        None => Ok(()),
    }
}

/// The customers named (for the bulk delete confirmation), in the order
/// given, each with its version; IDs no customer has are left out.
#[server(endpoint = "get_customers")]
pub async fn get_customers(ids: Vec<String>) -> Result<Vec<Stored>, CustomerError> {
    ssr::respond(async move {
        bulk_ids(&ids)?;
        let store = ssr::store()?;
        let mut found = Vec::with_capacity(ids.len());
        for id in &ids {
            found.extend(store.find(id, ssr::freshness()).await?);
        }
        Ok(found)
    })
    .await
}

/// Deletes each customer named that is still at the version given for it
/// (`versions[i]` for `ids[i]`, as the confirmation showed them). Those
/// deleted are named in the list's notice, which offers to undo; a customer
/// changed or deleted by someone else meanwhile is kept and named there too.
#[server(endpoint = "delete_customers")]
pub async fn delete_customers(
    ids: Vec<String>,
    versions: Vec<String>,
) -> Result<(), CustomerError> {
    use crate::domain::{Precondition, StoreError};
    ssr::respond(async move {
        bulk_ids(&ids)?;
        let unconfirmed =
            || CustomerError::BadInput("each customer needs the version that was confirmed".into());
        if versions.len() != ids.len() {
            return Err(unconfirmed());
        }
        let versions = versions
            .into_iter()
            .map(|v| ssr::parse_version(Some(v))?.ok_or_else(unconfirmed))
            .collect::<Result<Vec<_>, _>>()?;
        let (store, author) = (&ssr::store()?, &ssr::author()?);
        let versions = &versions;
        let (deleted, kept) = each_in_turn(&ids, |n, id| async move {
            let precondition = Precondition::Version(versions[n]);
            match store.delete_if(id, precondition, author).await {
                Err(StoreError::Conflict(_)) => Ok(false),
                other => other,
            }
        })
        .await?;
        ssr::redirect(&list_naming(&[("deleted", &deleted), ("kept", &kept)]));
        Ok(())
    })
    .await
}

/// Undoes deletions: re-creates each customer named as it was when it was
/// last deleted (from the audit trail, not from what the client sends), unless
/// a customer with its ID exists again. The list's notice then names them.
#[server(endpoint = "restore_customers", output = Postcard)]
pub async fn restore_customers(ids: Vec<String>) -> Result<(), ListError> {
    use crate::domain::{lookup_keys, Action, AuditQuery, Precondition, StoreError};
    ssr::respond(async move {
        bulk_ids(&ids)?;
        let (store, author) = (&ssr::store()?, &ssr::author()?);
        let (restored, kept) = each_in_turn(&ids, |_, id| async move {
            let query = AuditQuery {
                customer_id: lookup_keys(id)
                    .into_iter()
                    .next()
                    .map(std::borrow::Cow::into_owned),
                actor: None,
                older_than: None,
                limit: 1,
            };
            let last = store.audit(&query).await?.entries.into_iter().next();
            let deleted = last
                .filter(|entry| entry.action == Action::Delete)
                .and_then(|entry| entry.before);
            let Some(customer) = deleted else {
                return Ok(false);
            };
            match store.put(&customer, Precondition::Absent, author).await {
                Ok(_) => Ok(true),
                Err(StoreError::Conflict(_)) => Ok(false),
                Err(other) => Err(other),
            }
        })
        .await?;
        ssr::redirect(&list_naming(&[
            ("restored", &restored),
            ("not_restored", &kept),
        ]));
        Ok(())
    })
    .await
    .map_err(ListError)
}

/// Runs `op` on each of `ids` in turn (with its index): done (`true`) or
/// kept (`false`). A store failure before anything was done fails the
/// request; after, what was done stays done and is reported, the rest as kept.
#[cfg(feature = "ssr")]
async fn each_in_turn<'a, Op, Done>(
    ids: &'a [String],
    mut op: Op,
) -> Result<(Vec<&'a str>, Vec<&'a str>), CustomerError>
where
    Op: FnMut(usize, &'a str) -> Done,
    Done: std::future::Future<Output = Result<bool, crate::domain::StoreError>>,
{
    let (mut done, mut kept) = (Vec::new(), Vec::new());
    for (n, id) in ids.iter().enumerate() {
        match op(n, id).await {
            Ok(true) => done.push(id.as_str()),
            Ok(false) => kept.push(id.as_str()),
            Err(error) if done.is_empty() => return Err(error.into()),
            Err(error) => {
                tracing::warn!(%error, done = done.len(), "a bulk request stopped part way");
                kept.extend(ids[n..].iter().map(String::as_str));
                break;
            }
        }
    }
    Ok((done, kept))
}

/// The list's address naming the IDs of each outcome (see `routes::list::Notices`).
#[cfg(feature = "ssr")]
fn list_naming(outcomes: &[(&str, &Vec<&str>)]) -> String {
    let params: Vec<(&str, Option<&str>)> = outcomes
        .iter()
        .flat_map(|(key, ids)| ids.iter().map(move |id| (*key, Some(*id))))
        .collect();
    crate::url::with_query("/", &params)
}

/// What an upload on the import page holds and, once started, what its
/// import has done (admins; only the uploader's own uploads).
#[server(endpoint = "import_report")]
pub async fn import_report(upload: String) -> Result<crate::domain::ImportReport, CustomerError> {
    ssr::respond(async move {
        let report = ssr::imports()?.report(&upload, &ssr::author()?);
        report.ok_or(CustomerError::Import(crate::domain::ImportRefusal::Gone))
    })
    .await
}

/// Starts importing an upload's valid rows; the import page then shows its progress.
#[server(endpoint = "start_import")]
pub async fn start_import(upload: String) -> Result<(), CustomerError> {
    ssr::respond(async move {
        let imports = ssr::imports()?;
        imports
            .start(&upload, &ssr::author()?)
            .map_err(CustomerError::Import)?;
        ssr::redirect(&crate::url::with_query(
            "/import",
            &[("upload", Some(&upload))],
        ));
        Ok(())
    })
    .await
}

/// Forgets an upload that is not being imported.
#[server(endpoint = "discard_import")]
pub async fn discard_import(upload: String) -> Result<(), CustomerError> {
    ssr::respond(async move {
        ssr::imports()?.discard(&upload, &ssr::author()?);
        ssr::redirect("/import");
        Ok(())
    })
    .await
}

/// What the store is and how its nodes stand (admins; the status page).
#[server(endpoint = "store_status")]
pub async fn store_status() -> Result<crate::domain::StoreStatus, CustomerError> {
    ssr::respond(async move { Ok(ssr::store()?.status().await) }).await
}
