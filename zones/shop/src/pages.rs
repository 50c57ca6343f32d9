//! One module per route.

pub mod catalogue;
