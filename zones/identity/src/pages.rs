//! One module per route.

pub mod error;
pub mod logout;
pub mod overview;
pub mod profile;
pub mod sessions;
pub mod signed_out;
