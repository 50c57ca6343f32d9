//! The cross-zone contracts: everything two independently built parts of
//! the app set must agree on, in one small crate every part can use (the
//! zones' server and browser builds, the edge, xtask, the mock provider).
//! Serde only: no server, database or Leptos dependency.
//!
//! * [`zone`]: the zone manifest: which zone owns which path prefix, where
//!   its assets and server functions live, where it listens by default,
//!   identity's sign-in endpoints.
//! * [`me`]: the JSON body of every zone's `/…/me`.
//! * [`user`]: the signed-in user and the display-name rule.
//! * [`cookie`]: the names of the cookies every zone reads.
//! * [`cart`]: the cart badge's path, body and browser event.
//! * [`session_token`]: identity's answer to a zone refreshing a session
//!   token.
//! * [`assets`]: the release asset manifest (content-hashed file names).

pub mod assets;
pub mod cache;
pub mod cart;
pub mod cookie;
pub mod me;
pub mod session_token;
pub mod user;
pub mod zone;

pub use me::{MeResponse, UserSummary};
pub use user::User;
pub use zone::Zone;
