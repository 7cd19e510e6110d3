//! `POST /theme`: the theme switch without JavaScript. Remembers the choice in
//! its cookie (see `app::theme`) and sends the browser back to the page it was on.

use super::sign_in::{safe_next, see_other};
use app::theme::Theme;
use axum::extract::rejection::FormRejection;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::Deserialize;

#[derive(Deserialize)]
pub struct Choice {
    theme: String,
    /// The page to go back to: a path on this site, else `/`.
    back: Option<String>,
}

pub async fn choose(form: Result<Form<Choice>, FormRejection>) -> Response {
    let Ok(Form(choice)) = form else {
        return bad_choice();
    };
    let Some(theme) = Theme::parse(&choice.theme) else {
        return bad_choice();
    };
    let mut response = see_other(safe_next(choice.back.as_deref()));
    if let Ok(cookie) = HeaderValue::from_str(&theme.set_cookie()) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

fn bad_choice() -> Response {
    (
        StatusCode::BAD_REQUEST,
        "expected a form with theme=system, light or dark (and back=a path on this site)\n",
    )
        .into_response()
}
