//! The contracts every zone and the edge agree on.
//!
//! * [`zone`]: which zone owns which path prefix, where its assets and server
//!   functions live, and where it listens by default. The edge builds its route
//!   table from [`zone::Zone::ALL`]; zones and shared-ui build links from it.
//! * [`me`]: the JSON shape of `GET /auth/me`, `/shop/api/me` and `/api/me`.
//! * `runtime` (feature `runtime`): logging set-up and the shutdown signal
//!   every server binary uses.

pub mod me;
#[cfg(feature = "runtime")]
pub mod runtime;
pub mod zone;

pub use me::{MeResponse, UserSummary};
pub use zone::Zone;
