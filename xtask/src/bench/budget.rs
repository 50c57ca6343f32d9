//! A budget: a target from DESIGN.md or an issue, and how a run did
//! against it (every section that has one reports it the same way).

use serde::Serialize;

/// A target and how it went.
#[derive(Clone, Debug, Serialize)]
pub struct Budget {
    pub what: String,
    pub limit: String,
    pub measured: String,
    pub met: bool,
}
