//! Who the user is, for every zone: sessions, the store, and the auth glue
//! a zone server needs. The cross-zone contracts (zone manifest, `/me`
//! body, user, cookie names) are in the `contracts` crate.
//!
//! Always available (also in the browser build): [`return_to`] (the
//! redirect-target guard).
//!
//! Feature `leptos`: [`leptos`] (the user in components and server
//! functions, [`leptos::AuthError`]).
//!
//! Feature `token`: [`token`] (random tokens, hashes, constant-time
//! comparison, PKCE), without any database.
//!
//! Feature `session-token` (includes `token`): [`session_token`]
//! (identity-signed EdDSA session tokens: signing keys, their JWKS, and
//! the verifier every zone runs).
//!
//! Feature `store` (includes `token`): [`store`] (sqlx: users, sessions,
//! single-use grants, migrations).
//!
//! Feature `server` (zones): [`config`], [`cookie`], [`origin`], [`auth`]
//! (the axum session layer, extractors, redirects, `/…/me`),
//! [`session_change`] (sign in, sign out, rotate: from the session the
//! layer resolved to the response that hands the change to the browser),
//! [`guard`] (the cross-site and off-origin-redirect layers), token mode:
//! [`token_trust`] (who a request is from its session token),
//! [`token_refresh`] (fresh tokens from identity, collapsed per session),
//! [`token_issuer`] (identity's signer), [`identity_feed`] (the
//! revocation log over HTTP, for a zone without a database).

#[cfg(feature = "server")]
pub mod auth;
#[cfg(feature = "server")]
pub mod config;
#[cfg(feature = "server")]
pub mod cookie;
#[cfg(feature = "server")]
pub mod guard;
#[cfg(feature = "server")]
pub mod identity_feed;
#[cfg(feature = "leptos")]
pub mod leptos;
#[cfg(feature = "server")]
pub mod origin;
pub mod return_to;
#[cfg(feature = "server")]
pub mod session_change;
#[cfg(feature = "session-token")]
pub mod session_token;
#[cfg(feature = "store")]
pub mod store;
#[cfg(feature = "token")]
pub mod token;
#[cfg(feature = "server")]
pub mod token_issuer;
#[cfg(feature = "server")]
pub mod token_refresh;
#[cfg(feature = "server")]
pub mod token_trust;
