//! Failed form posts without JavaScript, answered in place.
//!
//! A server function called by a plain HTML form answers a failure with a
//! redirect back to the form, the error encoded in the URL (`?__path=…&__err=…`,
//! Leptos's progressive enhancement). That puts what the user typed into the
//! address bar, the history and access logs, and any link with `__err` could
//! make a page show any text as an error or pre-fill a form. Here the redirect
//! is followed on the server instead: the form page is rendered with the error
//! and sent as the answer to the POST. `__err` and `__path` in a URL that comes
//! from outside are dropped, so they cannot be forged.
//!
//! The browser's address is then the server function's, so the form's next post
//! carries no page in its `Referer`; the forms send the page they are on in a
//! hidden `__page` field (`app::routes::FormPage`), which stands in for it.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::sync::{Arc, OnceLock};
use tower::ServiceExt;

const ERROR_PARAMS: [&str; 2] = ["__err", "__path"];

/// Marks the internal request that renders a form page with its error, the one
/// request whose `__err` is kept.
#[derive(Clone, Copy)]
struct RenderingFormError;

/// `app` is the finished router (set once it is built), to render form pages with.
pub async fn answer_in_place(
    State(app): State<Arc<OnceLock<Router>>>,
    mut request: Request,
    next: Next,
) -> Response {
    if request.extensions().get::<RenderingFormError>().is_none() {
        drop_error_params(&mut request);
    }
    let is_form_post = request.method() == Method::POST
        && request
            .uri()
            .path()
            .starts_with(super::guard::SERVER_FN_PREFIX)
        && accepts_html(&request);
    if !is_form_post {
        return next.run(request).await;
    }
    let request = match page_of_in_place_form(request).await {
        Ok(request) => request,
        Err(refused) => return refused,
    };
    let headers = request.headers().clone();
    let response = next.run(request).await;
    let Some(target) = error_redirect_target(&response) else {
        return response;
    };
    // Render the form page with its error, as the browser would have after the redirect.
    let mut page = Request::builder().method(Method::GET).uri(target);
    for name in [
        header::HOST,
        header::ACCEPT,
        header::ACCEPT_LANGUAGE,
        header::COOKIE,
        header::AUTHORIZATION,
    ] {
        if let Some(value) = headers.get(&name) {
            page = page.header(name, value);
        }
    }
    let (Ok(mut page), Some(app)) = (page.body(Body::empty()), app.get()) else {
        return response;
    };
    page.extensions_mut().insert(RenderingFormError);
    match app.clone().oneshot(page).await {
        Ok(mut rendered) => {
            // The form was not accepted: say so, whatever the page's own status.
            if rendered.status() == StatusCode::OK {
                *rendered.status_mut() = StatusCode::BAD_REQUEST;
            }
            rendered
        }
        Err(never) => match never {},
    }
}

/// A post from a page that was itself an in-place answer (its `Referer` is a
/// server function's URL) gets the `Referer` of the page its form names in
/// `__page`, so that a second refusal is rendered on that page too.
async fn page_of_in_place_form(request: Request) -> Result<Request, Response> {
    let from_server_fn = request
        .headers()
        .get(header::REFERER)
        .and_then(|referer| referer.to_str().ok())
        .and_then(|referer| referer.parse::<Uri>().ok())
        .is_some_and(|referer| referer.path().starts_with(super::guard::SERVER_FN_PREFIX));
    if !from_server_fn {
        return Ok(request);
    }
    let (mut parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, super::MAX_BODY_BYTES).await else {
        return Err(StatusCode::PAYLOAD_TOO_LARGE.into_response());
    };
    let page = form_urlencoded::parse(&bytes)
        .find(|(name, _)| name == "__page")
        .map(|(_, page)| super::sign_in::safe_next(Some(&page)).to_owned());
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok());
    if let (Some(page), Some(host)) = (page, host) {
        if let Ok(referer) = format!("http://{host}{page}").parse() {
            parts.headers.insert(header::REFERER, referer);
        }
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

fn accepts_html(request: &Request) -> bool {
    request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}

/// The path and query a failed form post redirects to, when it carries an error.
fn error_redirect_target(response: &Response) -> Option<Uri> {
    if !response.status().is_redirection() {
        return None;
    }
    let location = response.headers().get(header::LOCATION)?.to_str().ok()?;
    let uri: Uri = location.parse().ok()?;
    let path_and_query = uri.path_and_query()?;
    path_and_query
        .query()?
        .contains("__err=")
        .then(|| path_and_query.as_str().parse().ok())?
}

/// Removes `__err` and `__path` from the request's query.
fn drop_error_params(request: &mut Request) {
    let Some(query) = request.uri().query() else {
        return;
    };
    if !ERROR_PARAMS.iter().any(|p| query.contains(p)) {
        return;
    }
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| {
            let name = pair.split('=').next().unwrap_or("");
            !ERROR_PARAMS.contains(&name)
        })
        .collect();
    let path = request.uri().path();
    let cleaned = if kept.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", kept.join("&"))
    };
    if let Ok(uri) = cleaned.parse() {
        *request.uri_mut() = uri;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_params_are_dropped_from_outside_urls() {
        let mut request = Request::builder()
            .uri("/edit?id=a&__path=%2Fapi%2Fx&__err=eyJ9")
            .body(Body::empty())
            .unwrap();
        drop_error_params(&mut request);
        assert_eq!(request.uri(), "/edit?id=a");
        let mut request = Request::builder()
            .uri("/new?__err=x")
            .body(Body::empty())
            .unwrap();
        drop_error_params(&mut request);
        assert_eq!(request.uri(), "/new");
    }

    #[test]
    fn only_redirects_carrying_an_error_are_followed() {
        let redirect = |location: &str| {
            Response::builder()
                .status(StatusCode::FOUND)
                .header(header::LOCATION, location)
                .body(Body::empty())
                .unwrap()
        };
        let target = error_redirect_target(&redirect(
            "http://127.0.0.1:3000/edit?id=a&__path=p&__err=e",
        ));
        assert_eq!(target.unwrap(), "/edit?id=a&__path=p&__err=e");
        assert!(error_redirect_target(&redirect("/?saved=a")).is_none());
    }
}
