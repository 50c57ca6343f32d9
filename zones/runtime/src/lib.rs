//! The zone server runtime: every zone binary boots, reads its settings,
//! opens the shared store, resolves sessions, serves its Leptos app, logs
//! and shuts down the same way ([`server`]). Behind the `testing` feature,
//! [`testing`] mounts a zone's router on a test database so a zone's tests
//! drive it as the edge would. [`assets`]: the release's hashed and
//! precompressed assets, their caching, and on-the-fly compression.

pub mod assets;
pub mod server;
#[cfg(feature = "testing")]
pub mod testing;

pub use server::{NoExtra, ZoneApp, ZoneConfig, run, run_with};
