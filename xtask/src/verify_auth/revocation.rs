//! "Sign out everywhere else" reaches every zone within a second: the
//! other device is anonymous in identity, the shop and the public zone. In
//! store mode that is immediate; in token mode each zone process learns it
//! from the revocation log (read every 250 ms), so the time is measured
//! and printed, per zone.

use std::time::{Duration, Instant};

use contracts::Zone;
use shared_auth::token::random_token;

use super::Verifier;
use super::http::Jar;

/// The bound the issue sets for revocation to reach every zone.
const REVOCATION_BOUND: Duration = Duration::from_secs(1);

/// How long to keep looking past the bound, to report how late it was.
const GIVE_UP_AFTER: Duration = Duration::from_secs(5);

const REVOKE_OTHERS: &str = "/auth/api/sessions/revoke-others";

impl Verifier {
    pub(super) fn sign_out_everywhere_else_reaches_every_zone(&mut self) -> anyhow::Result<()> {
        let username = format!("erin-{}", random_token(6));
        let laptop = self.sign_in(&username)?;
        let phone = self.sign_in(&username)?;
        for zone in Zone::ALL {
            self.is_signed_in_as(
                &format!("two devices of one user: the second is signed in at the {zone} zone"),
                zone,
                &phone,
                &username,
            )?;
        }
        let origin = self.base().to_owned();
        let revoke = self
            .http
            .post_form(REVOKE_OTHERS, &[], &laptop, Some(&origin))?;
        let started = Instant::now();
        let status = revoke.status();
        self.check(
            "the first device signs out everywhere else",
            status.is_success(),
            || status.to_string(),
        )?;
        self.refused_everywhere_within_the_bound(
            "…and the other device is anonymous in every zone",
            &phone,
            started,
        )?;
        for zone in Zone::ALL {
            self.is_signed_in_as(
                &format!("…while the first device stays signed in at the {zone} zone"),
                zone,
                &laptop,
                &username,
            )?;
        }
        Ok(())
    }

    /// Polls every zone's `/…/me` with `jar` (cookies of a session that
    /// ended at `started`) until each says anonymous; checks that all did
    /// within [`REVOCATION_BOUND`] and reports the time per zone.
    pub(super) fn refused_everywhere_within_the_bound(
        &mut self,
        what: &str,
        jar: &Jar,
        started: Instant,
    ) -> anyhow::Result<()> {
        let mut reached: Vec<(Zone, Option<Duration>)> =
            Zone::ALL.iter().map(|zone| (*zone, None)).collect();
        while reached.iter().any(|(_, at)| at.is_none()) && started.elapsed() < GIVE_UP_AFTER {
            for (zone, at) in reached.iter_mut().filter(|(_, at)| at.is_none()) {
                let me = self.http.me(zone.me_path(), jar)?;
                if me["authenticated"] == false {
                    *at = Some(started.elapsed());
                }
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let report = reached
            .iter()
            .map(|(zone, at)| match at {
                Some(at) => format!("{zone} {} ms", at.as_millis()),
                None => format!("{zone} not after {} s", GIVE_UP_AFTER.as_secs()),
            })
            .collect::<Vec<_>>()
            .join(", ");
        self.check(
            &format!(
                "{what} within {} s (measured: {report})",
                REVOCATION_BOUND.as_secs()
            ),
            reached
                .iter()
                .all(|(_, at)| at.is_some_and(|at| at <= REVOCATION_BOUND)),
            || report.clone(),
        )
    }
}
