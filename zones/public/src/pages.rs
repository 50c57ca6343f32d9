//! One module per route.

pub mod account_area;
pub mod home;
