//! One module per route.

pub mod error;
pub mod logout;
pub mod overview;
pub mod profile;
mod session_editor;
pub mod sessions;
pub mod signed_out;
