//! What every zone renders the same way: the HTML document shell, the site
//! header and footer, shared islands, cross-zone links and the not-found page.
//! Behind the `ssr` feature, [`server`] runs a zone's axum server so every zone
//! boots, logs and shuts down identically.

pub mod cart_badge;
pub mod document;
pub mod footer;
pub mod format;
pub mod header;
#[cfg(feature = "hydrate")]
pub mod hydrate;
pub mod links;
pub mod menu;
pub mod not_found;
#[cfg(feature = "ssr")]
pub mod server;
#[cfg(feature = "testing")]
pub mod testing;

pub use cart_badge::CartBadge;
pub use document::Document;
pub use footer::Footer;
pub use header::Header;
pub use links::ZoneLink;
pub use menu::MenuButton;
pub use not_found::NotFound;
pub use shared_auth::Zone;

/// The product name shown in the header, titles and error pages.
pub const SITE_NAME: &str = "Meridian";
