//! One module per route.

pub mod catalogue;
pub mod orders;
