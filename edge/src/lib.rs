//! The edge: a small reverse proxy that makes the zones look like one site.
//!
//! * [`routes`]: the route table, built from the zone manifest in
//!   `shared_auth::zone`, matched on whole path segments, longest prefix first.
//! * [`forward`]: what happens to headers on the way through (hop-by-hop
//!   removal, `X-Forwarded-*`).
//! * [`proxy`]: the handler that streams a request to its zone and the
//!   response back.
//! * [`error_page`]: the branded pages the edge answers with itself.
//! * [`config`]: command-line and environment settings.

pub mod config;
pub mod error_page;
pub mod forward;
pub mod proxy;
pub mod routes;

pub use config::Config;
pub use proxy::{Edge, app};
pub use routes::RouteTable;
