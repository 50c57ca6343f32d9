//! Cross-site writes: one layer per zone refuses every non-safe request
//! under its API prefix that is not same-origin (403), whatever the body's
//! content type; same-origin requests still work.

use reqwest::Method;
use reqwest::blocking::RequestBuilder;
use reqwest::header::{CONTENT_TYPE, ORIGIN};

use shared_auth::token::random_token;

use contracts::Zone;

use super::http::Jar;
use super::{EVIL_ORIGIN, Verifier};

/// A server function that changes something, and its arguments.
struct Write {
    path: &'static str,
    fields: &'static [(&'static str, &'static str)],
}

const ADD_TO_CART: Write = Write {
    path: "/shop/api/cart/add",
    fields: &[("slug", "brass-pen"), ("quantity", "1")],
};

/// The name a cross-site request would set; it must never show up.
const FORGED_NAME: &str = "Mallory Was Here";
const RENAME: Write = Write {
    path: "/auth/api/profile/name",
    fields: &[("display_name", FORGED_NAME)],
};

/// The name the same-origin request sets.
const OWN_NAME: &str = "Dave Verified";

/// How the body of a cross-site write is encoded.
#[derive(Clone, Copy)]
enum Body {
    Json,
    Form,
    TextPlain,
}

impl Body {
    const ALL: [Body; 3] = [Body::Json, Body::Form, Body::TextPlain];

    fn name(self) -> &'static str {
        match self {
            Body::Json => "application/json",
            Body::Form => "a form",
            Body::TextPlain => "text/plain",
        }
    }

    fn apply(self, request: RequestBuilder, fields: &[(&str, &str)]) -> RequestBuilder {
        let urlencoded = || {
            fields
                .iter()
                .map(|(k, v)| format!("{k}={}", v.replace(' ', "+")))
                .collect::<Vec<_>>()
                .join("&")
        };
        match self {
            Body::Json => {
                let object: serde_json::Map<String, serde_json::Value> = fields
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), serde_json::Value::from(*v)))
                    .collect();
                request.json(&object)
            }
            Body::Form => request.form(fields),
            Body::TextPlain => request
                .header(CONTENT_TYPE, "text/plain")
                .body(urlencoded()),
        }
    }
}

impl Verifier {
    pub(super) fn cross_site_writes_are_refused(&mut self) -> anyhow::Result<()> {
        // A new user each run, so the cart starts empty.
        let dave = self.sign_in(&format!("dave-{}", random_token(6)))?;
        let items_before = self.cart_count(&dave)?;
        for write in [&ADD_TO_CART, &RENAME] {
            for body in Body::ALL {
                let request = self.write(write, &dave, body).header(ORIGIN, EVIL_ORIGIN);
                let status = self.http.send(request)?.status();
                self.check(
                    &format!(
                        "POST {} as {} with Origin: {EVIL_ORIGIN} is refused (403)",
                        write.path,
                        body.name()
                    ),
                    status == reqwest::StatusCode::FORBIDDEN,
                    || status.to_string(),
                )?;
            }
            let request = self
                .write(write, &dave, Body::Form)
                .header("sec-fetch-site", "cross-site");
            let status = self.http.send(request)?.status();
            self.check(
                &format!(
                    "POST {} without Origin, Sec-Fetch-Site: cross-site is refused (403)",
                    write.path
                ),
                status == reqwest::StatusCode::FORBIDDEN,
                || status.to_string(),
            )?;
        }
        let items_after = self.cart_count(&dave)?;
        let profile = self.http.get("/auth/profile", &dave)?.text()?;
        self.check(
            "…and none of them changed the cart or the display name",
            items_after == items_before && !profile.contains(FORGED_NAME),
            || format!("cart items {items_before} → {items_after}"),
        )?;
        self.same_origin_writes_work(&dave, items_before)
    }

    fn same_origin_writes_work(&mut self, dave: &Jar, items_before: u64) -> anyhow::Result<()> {
        let origin = self.base().to_owned();
        let request = self
            .write(&ADD_TO_CART, dave, Body::Form)
            .header(ORIGIN, &origin);
        let status = self.http.send(request)?.status();
        let items = self.cart_count(dave)?;
        self.check(
            &format!("a same-origin POST {} still works", ADD_TO_CART.path),
            status.is_success() && items == items_before + 1,
            || format!("{status}, cart items {items_before} → {items}"),
        )?;
        let request = self
            .http
            .request(Method::POST, RENAME.path, dave)
            .form(&[("display_name", OWN_NAME)])
            .header(ORIGIN, &origin);
        let renamed = self.http.send(request)?;
        let status = renamed.status();
        // As a browser would: the answer may carry a fresh session token.
        let mut dave = dave.clone();
        dave.absorb(renamed.headers());
        let profile = self.http.get("/auth/profile", &dave)?.text()?;
        let shop = self.http.get(Zone::Shop.home(), &dave)?.text()?;
        self.check(
            &format!(
                "a same-origin POST {} still works, and the shop shows the new name at once",
                RENAME.path
            ),
            status.is_success() && profile.contains(OWN_NAME) && shop.contains(OWN_NAME),
            || status.to_string(),
        )
    }

    /// `write` as `jar`, its body encoded as `body` (no Origin yet).
    fn write(&self, write: &Write, jar: &Jar, body: Body) -> RequestBuilder {
        body.apply(
            self.http.request(Method::POST, write.path, jar),
            write.fields,
        )
    }

    /// The number of items in `jar`'s cart (the header badge's source).
    fn cart_count(&self, jar: &Jar) -> anyhow::Result<u64> {
        let count: serde_json::Value = self.http.get("/shop/api/cart/count", jar)?.json()?;
        // contracts::cart::CartBadgeCount
        count["items"]
            .as_u64()
            .ok_or_else(|| anyhow::anyhow!("/shop/api/cart/count answered {count}"))
    }
}
