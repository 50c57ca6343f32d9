//! Redirects that could leave the origin: leptos' Referer-based redirect
//! for server functions asked for HTML, and `return_to` pointing at an API.

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, REFERER};

use super::http::{Jar, location, stays_on_origin};
use super::{EVIL_ORIGIN, Verifier};

/// Server functions of two zones, read as a plain browser form would.
const API_READS: &[&str] = &[
    "/shop/api/products",
    "/shop/api/cart/count",
    "/auth/api/sessions",
];

/// `return_to` values under an API prefix: a sign-in must never end there.
const API_RETURN_TO: &[&str] = &[
    "/shop/api/cart/checkout",
    "/auth/api/sessions/revoke-others",
];

impl Verifier {
    pub(super) fn foreign_referer_stays_on_origin(&mut self) -> anyhow::Result<()> {
        let referer = format!("{EVIL_ORIGIN}/");
        for path in API_READS {
            let response = self.http.get_with(
                path,
                &Jar::default(),
                &[(ACCEPT, "text/html"), (REFERER, &referer)],
            )?;
            let status = response.status();
            let to = location(&response);
            self.check(
                &format!(
                    "GET {path} (Accept: text/html, foreign Referer) does not redirect off-origin"
                ),
                !status.is_server_error() && stays_on_origin(&to, self.base()),
                || format!("{status} → {to:?}"),
            )?;
        }
        Ok(())
    }

    pub(super) fn api_return_to_goes_home(&mut self) -> anyhow::Result<()> {
        for return_to in API_RETURN_TO {
            let (finish, _) = self.sign_in_to("rita", return_to)?;
            let to = location(&finish);
            self.check(
                &format!("a sign-in started with return_to={return_to} ends on / (not the API)"),
                finish.status() == StatusCode::FOUND && to == "/",
                || format!("{} → {to:?}", finish.status()),
            )?;
        }
        Ok(())
    }
}
