//! What every zone renders the same way: the HTML document shell, the site
//! header and footer, shared islands, cross-zone links and the not-found
//! page. Components only: the zone server runtime is `zone-runtime`.

pub mod cache;
pub mod cart_badge;
pub mod document;
pub mod dom;
pub mod footer;
pub mod form;
pub mod format;
pub mod header;
#[cfg(feature = "hydrate")]
pub mod hydrate;
pub mod links;
pub mod menu;
pub mod not_found;

pub use cart_badge::CartBadge;
pub use document::Document;
pub use footer::Footer;
pub use header::Header;
pub use links::ZoneLink;
pub use menu::MenuButton;
pub use not_found::NotFound;

/// The product name shown in the header, titles and error pages.
pub const SITE_NAME: &str = "Meridian";
