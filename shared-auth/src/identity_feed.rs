//! The revocation log over HTTP, for a zone that has no database of its
//! own in token mode (the public zone): identity serves the log at
//! [`contracts::zone::REVOCATIONS_PATH`] (for the other zones' servers only, like every
//! route under `/auth/internal/`), and [`IdentityFeed`] reads it for a
//! [`crate::store::RevocationFeed`]. Both ends of the exchange are here.

use std::time::Duration;

use axum::Json;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde::Deserialize;

use crate::auth::Auth;
use crate::store::{RevocationSource, Revocations};

/// The most entries one answer carries (a follower asks again until it
/// has caught up).
const MAX_PAGE: i64 = 1000;

/// How long a zone waits for one page of the log.
const FEED_TIMEOUT: Duration = Duration::from_secs(2);

/// `?after=<mark>&limit=<n>`.
#[derive(Debug, Deserialize)]
pub struct Page {
    after: i64,
    #[serde(default = "max_page")]
    limit: i64,
}

fn max_page() -> i64 {
    MAX_PAGE
}

/// `GET /auth/internal/revocations?after=<mark>`: the sessions revoked
/// after `mark`, oldest first, and the mark to ask from next.
pub async fn revocations_route(State(auth): State<Auth>, Query(page): Query<Page>) -> Response {
    let limit = page.limit.clamp(1, MAX_PAGE);
    match auth.store().revocations_since(page.after, limit).await {
        Ok(revocations) => {
            let mut response = Json(revocations).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(err) => {
            tracing::error!("cannot read the revocation log: {err}");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "1")],
                "The revocation log is unavailable.",
            )
                .into_response()
        }
    }
}

/// Identity's revocation log, read over HTTP.
#[derive(Clone, Debug)]
pub struct IdentityFeed {
    url: String,
    http: reqwest::Client,
}

impl IdentityFeed {
    /// Reads the log at `url` (identity's [`contracts::zone::REVOCATIONS_PATH`] on its
    /// internal address).
    pub fn new(url: String) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(FEED_TIMEOUT)
            .build()?;
        Ok(Self { url, http })
    }
}

impl RevocationSource for IdentityFeed {
    type Error = reqwest::Error;

    async fn revocations_since(&self, mark: i64, limit: i64) -> Result<Revocations, Self::Error> {
        self.http
            .get(&self.url)
            .query(&[("after", mark), ("limit", limit)])
            .send()
            .await?
            .error_for_status()?
            .json()
            .await
    }
}
