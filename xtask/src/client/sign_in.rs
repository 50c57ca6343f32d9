//! The sign-in through the mock provider, written once. [`SignIn`] knows
//! which request a browser sends next ([`SignIn::step`]) and reads each
//! answer ([`SignIn::read`]); it sends nothing itself, so the load
//! generator drives it with its async client and verify-auth with its
//! blocking one and a cookie jar.
//!
//! 1. `GET /auth/login?return_to=…` → 302 to the provider's authorize
//!    URL, setting the login cookie;
//! 2. `POST /mock-idp/authorize` with that URL's parameters and a username
//!    → 302 to `/auth/callback?code=…&state=…`;
//! 3. `GET /auth/callback?…` carrying the login cookie → 302 to
//!    `return_to`, setting the session cookie.

use anyhow::{Context as _, bail, ensure};
use contracts::zone::{AuthPath, MOCK_IDP_PREFIX};
use reqwest::header::{HeaderMap, LOCATION};
use reqwest::{Method, StatusCode, Url};

use super::{Site, cookies, path_of, query_of};

/// One sign-in as one user, from wherever it stands to the session cookie.
#[derive(Clone, Debug)]
pub struct SignIn {
    username: String,
    stage: Stage,
}

/// Where a sign-in stands: the request a browser sends next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stage {
    /// `GET` identity's login URL.
    Login { url: String },
    /// Submit the provider's form for `authorize` (the login cookie that
    /// identity set, when this sign-in started there).
    Provider {
        authorize: String,
        form: Vec<(String, String)>,
        login_cookie: Option<String>,
    },
    /// `GET` the callback URL the provider sent the browser to.
    Callback {
        url: String,
        login_cookie: Option<String>,
    },
    /// Identity set this session token (and, in token mode, this signed
    /// session token beside it).
    SignedIn { token: String, jwt: Option<String> },
}

/// The cookies a step's request carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepCookies {
    /// None: the provider's form (the mock keeps no session of its own).
    None,
    /// The browser's own. A client without a cookie jar sends this
    /// `Cookie` header instead (the login cookie, on the callback).
    Browser(Option<String>),
}

/// The next request of a sign-in, for whichever client sends it.
#[derive(Clone, Debug)]
pub struct Step {
    /// What the request is, for messages.
    pub what: &'static str,
    pub method: Method,
    /// An absolute URL.
    pub url: String,
    /// The urlencoded form to post.
    pub form: Option<Vec<(String, String)>>,
    pub cookies: StepCookies,
}

impl SignIn {
    /// A sign-in as `username` that starts at `/auth/login?return_to=…`.
    pub fn new(site: &Site, username: &str, return_to: &str) -> anyhow::Result<Self> {
        let mut url = Url::parse(&site.url(AuthPath::Login.path()))?;
        url.query_pairs_mut().append_pair("return_to", return_to);
        Ok(Self::at_login(site, username, url.as_str()))
    }

    /// A sign-in that starts at the login URL a page sent the browser to
    /// (a `Location`, on the origin or absolute).
    pub fn at_login(site: &Site, username: &str, login_url: &str) -> Self {
        Self {
            username: username.to_owned(),
            stage: Stage::Login {
                url: site.url(login_url),
            },
        }
    }

    /// A sign-in that starts at the provider, with an authorize URL the
    /// caller built (its own client, PKCE pair or state): no login cookie.
    pub fn at_provider(site: &Site, username: &str, authorize: &str) -> anyhow::Result<Self> {
        let authorize = site.url(authorize);
        Ok(Self {
            username: username.to_owned(),
            stage: Stage::Provider {
                form: provider_form(&authorize, username)?,
                authorize,
                login_cookie: None,
            },
        })
    }

    pub fn stage(&self) -> &Stage {
        &self.stage
    }

    /// The `Cookie` header a browser sends once signed in: the session
    /// cookie and, when identity set one, the session token.
    pub fn cookie_header(&self, site: &Site) -> Option<String> {
        let Stage::SignedIn { token, jwt } = &self.stage else {
            return None;
        };
        let session = cookies::pair(site.session_cookie(), token);
        Some(match jwt {
            Some(jwt) => format!(
                "{session}; {}",
                cookies::pair(site.session_jwt_cookie(), jwt)
            ),
            None => session,
        })
    }

    /// The request a browser sends next; `None` once signed in.
    pub fn step(&self, site: &Site) -> Option<Step> {
        let step = match &self.stage {
            Stage::Login { url } => Step {
                what: "sign-in start",
                method: Method::GET,
                url: url.clone(),
                form: None,
                cookies: StepCookies::Browser(None),
            },
            Stage::Provider { form, .. } => Step {
                what: "mock IdP sign-in",
                method: Method::POST,
                url: site.url(&format!("{MOCK_IDP_PREFIX}/authorize")),
                form: Some(form.clone()),
                cookies: StepCookies::None,
            },
            Stage::Callback { url, login_cookie } => Step {
                what: "callback",
                method: Method::GET,
                url: url.clone(),
                form: None,
                cookies: StepCookies::Browser(
                    login_cookie
                        .as_deref()
                        .map(|value| cookies::pair(site.login_cookie(), value)),
                ),
            },
            Stage::SignedIn { .. } => return None,
        };
        Some(step)
    }

    /// Reads the answer to [`SignIn::step`]'s request and moves on; an
    /// answer that does not lead on is an error saying what it was.
    pub fn read(
        &mut self,
        site: &Site,
        status: StatusCode,
        headers: &HeaderMap,
    ) -> anyhow::Result<()> {
        let raw_location = headers.get(LOCATION).and_then(|v| v.to_str().ok());
        // For messages only.
        let shown = raw_location.unwrap_or("no Location");
        let location = raw_location.map(|v| site.url(v));
        let next = match &self.stage {
            Stage::Login { .. } => {
                let authorize = location
                    .filter(|url| status == StatusCode::FOUND && is_authorize(url))
                    .with_context(|| {
                        format!(
                            "answered {status} → {shown}, not the provider's authorize endpoint"
                        )
                    })?;
                let login_cookie = cookies::value(headers, site.login_cookie())
                    .with_context(|| format!("set no {} cookie", site.login_cookie()))?;
                Stage::Provider {
                    form: provider_form(&authorize, &self.username)?,
                    authorize,
                    login_cookie: Some(login_cookie),
                }
            }
            Stage::Provider { login_cookie, .. } => {
                let url = location
                    .filter(|url| status == StatusCode::FOUND && leads_to_callback(url))
                    .with_context(|| {
                        format!(
                            "signing in as {} answered {status} → {shown}, not our callback with a code",
                            self.username
                        )
                    })?;
                Stage::Callback {
                    url,
                    login_cookie: login_cookie.clone(),
                }
            }
            Stage::Callback { .. } => {
                let token = cookies::value(headers, site.session_cookie()).with_context(|| {
                    format!(
                        "signing in as {}: the callback answered {status} → {shown} without a session cookie",
                        self.username
                    )
                })?;
                let jwt = cookies::value(headers, site.session_jwt_cookie());
                Stage::SignedIn { token, jwt }
            }
            Stage::SignedIn { .. } => bail!("the sign-in is already complete"),
        };
        self.stage = next;
        Ok(())
    }
}

/// True when `url` is our callback with a code (where the provider sends
/// a browser it signed in).
pub fn is_callback(site: &Site, url: &str) -> bool {
    url.starts_with(&format!(
        "{}{}?code=",
        site.base(),
        AuthPath::Callback.path()
    ))
}

/// True when `url` is identity's callback with a code, on whichever
/// origin: the provider sends the browser to the stack's public origin,
/// which may name the edge `localhost` where the client says `127.0.0.1`.
/// (verify-auth holds the provider to the exact origin: [`is_callback`].)
fn leads_to_callback(url: &str) -> bool {
    path_of(url).is_ok_and(|path| path == AuthPath::Callback.path())
        && query_of(url).is_ok_and(|query| query.contains_key("code"))
}

/// True when `url` is the mock provider's authorize endpoint (on
/// whichever origin, as above).
fn is_authorize(url: &str) -> bool {
    path_of(url).is_ok_and(|path| path == format!("{MOCK_IDP_PREFIX}/authorize"))
}

/// The provider's form as a browser submits it: the authorize URL's
/// parameters and the username.
fn provider_form(authorize: &str, username: &str) -> anyhow::Result<Vec<(String, String)>> {
    let url = Url::parse(authorize).with_context(|| format!("not a URL: {authorize}"))?;
    ensure!(
        url.query().is_some(),
        "the authorize URL {authorize} has no parameters"
    );
    let mut form: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    form.push(("username".into(), username.to_owned()));
    Ok(form)
}

#[cfg(test)]
mod tests {
    use reqwest::header::SET_COOKIE;

    use super::*;

    fn answer(location: &str, set_cookies: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(LOCATION, location.parse().unwrap());
        for value in set_cookies {
            headers.append(SET_COOKIE, value.parse().unwrap());
        }
        headers
    }

    #[test]
    fn walks_login_provider_and_callback_to_a_session() {
        let site = Site::new("http://localhost:8080").unwrap();
        let mut flow = SignIn::new(&site, "alice", "/shop/orders").unwrap();
        let start = flow.step(&site).unwrap();
        assert_eq!(start.method, Method::GET);
        assert_eq!(
            start.url,
            "http://localhost:8080/auth/login?return_to=%2Fshop%2Forders"
        );
        assert_eq!(start.cookies, StepCookies::Browser(None));

        flow.read(
            &site,
            StatusCode::FOUND,
            &answer(
                "http://localhost:8080/mock-idp/authorize?client_id=meridian&state=s1",
                &["auth.login=l0gin; Path=/; HttpOnly; Max-Age=600"],
            ),
        )
        .unwrap();
        let submit = flow.step(&site).unwrap();
        assert_eq!(submit.method, Method::POST);
        assert_eq!(submit.url, "http://localhost:8080/mock-idp/authorize");
        assert_eq!(submit.cookies, StepCookies::None);
        let form = submit.form.unwrap();
        assert!(form.contains(&("state".into(), "s1".into())));
        assert!(form.contains(&("username".into(), "alice".into())));

        let callback = "http://localhost:8080/auth/callback?code=c1&state=s1";
        flow.read(&site, StatusCode::FOUND, &answer(callback, &[]))
            .unwrap();
        let finish = flow.step(&site).unwrap();
        assert_eq!(finish.url, callback);
        assert_eq!(
            finish.cookies,
            StepCookies::Browser(Some("auth.login=l0gin".into()))
        );

        flow.read(
            &site,
            StatusCode::FOUND,
            &answer(
                "/shop/orders",
                &[
                    "auth.login=; Max-Age=0",
                    "auth.session-token=t0k; Path=/",
                    "auth.session-jwt=a.b.c; Path=/",
                ],
            ),
        )
        .unwrap();
        assert_eq!(
            flow.cookie_header(&site).as_deref(),
            Some("auth.session-token=t0k; auth.session-jwt=a.b.c")
        );
        assert!(flow.step(&site).is_none());
    }

    #[test]
    fn an_answer_that_does_not_lead_on_says_what_it_was() {
        let site = Site::new("http://localhost:8080").unwrap();
        let authorize = "/mock-idp/authorize?state=s";
        let mut flow = SignIn::at_login(&site, "bob", "/auth/login?return_to=/");
        // No login cookie.
        let err = flow
            .read(&site, StatusCode::FOUND, &answer(authorize, &[]))
            .unwrap_err();
        assert!(err.to_string().contains("auth.login"), "{err}");
        // Not a redirect to the provider.
        let err = flow
            .read(&site, StatusCode::OK, &answer(authorize, &["auth.login=x"]))
            .unwrap_err();
        assert!(err.to_string().contains("200"), "{err}");

        let mut flow = SignIn::at_provider(&site, "bob", authorize).unwrap();
        for elsewhere in [
            "https://evil.example/cb?code=c",
            "http://localhost:8080/auth/callback?error=access_denied",
        ] {
            let err = flow
                .read(&site, StatusCode::FOUND, &answer(elsewhere, &[]))
                .unwrap_err();
            assert!(err.to_string().contains(elsewhere), "{err}");
        }
        // The public origin may name the edge differently from the client.
        flow.read(
            &site,
            StatusCode::FOUND,
            &answer("http://127.0.0.1:8080/auth/callback?code=c&state=s", &[]),
        )
        .unwrap();
        // Without a login cookie of its own the callback carries none.
        assert_eq!(
            flow.step(&site).unwrap().cookies,
            StepCookies::Browser(None)
        );
        let err = flow
            .read(
                &site,
                StatusCode::FOUND,
                &answer("/auth/error?reason=state", &[]),
            )
            .unwrap_err();
        assert!(
            err.to_string().contains("without a session cookie"),
            "{err}"
        );
    }

    #[test]
    fn callbacks_are_ours_with_a_code() {
        let site = Site::new("http://127.0.0.1:8080").unwrap();
        assert!(is_callback(
            &site,
            "http://127.0.0.1:8080/auth/callback?code=c&state=s"
        ));
        assert!(!is_callback(
            &site,
            "http://127.0.0.1:8080/auth/callback?state=s"
        ));
        assert!(!is_callback(
            &site,
            "http://127.0.0.1:8080.evil.example/auth/callback?code=c"
        ));
    }
}
