//! Who the user is, for every zone: the one crate all auth glue lives in.
//!
//! Always available (also in the browser build):
//! * [`zone`]: the zone manifest: which zone owns which path prefix, where
//!   its assets and server functions live, where it listens by default.
//! * [`me`]: the JSON shape of `GET /auth/me`, `/shop/api/me` and `/api/me`.
//! * [`user`], [`return_to`]: the user type and the redirect-target guard.
//!
//! Feature `leptos`: [`leptos`] (the user in components and server
//! functions, [`leptos::AuthError`]).
//!
//! Feature `token`: [`token`] (random tokens, hashes, constant-time
//! comparison, PKCE), without any database.
//!
//! Feature `store` (includes `token`): [`store`] (sqlx: users, sessions,
//! single-use grants, migrations).
//!
//! Feature `server` (zones): [`config`], [`cookie`], [`origin`], [`auth`]
//! (the axum session layer, extractors, redirects, `/…/me`), [`guard`]
//! (the cross-site and off-origin-redirect layers).
//!
//! Feature `runtime` (every server binary): logging and shutdown signal.

#[cfg(feature = "server")]
pub mod auth;
#[cfg(feature = "server")]
pub mod config;
#[cfg(feature = "server")]
pub mod cookie;
#[cfg(feature = "server")]
pub mod guard;
#[cfg(feature = "leptos")]
pub mod leptos;
pub mod me;
#[cfg(feature = "server")]
pub mod origin;
pub mod return_to;
#[cfg(feature = "runtime")]
pub mod runtime;
#[cfg(feature = "store")]
pub mod store;
#[cfg(feature = "token")]
pub mod token;
pub mod user;
pub mod zone;

pub use me::{MeResponse, UserSummary};
pub use user::User;
pub use zone::Zone;
