//! `--<zone>-upstream` / `EDGE_<ZONE>_UPSTREAM`: where each zone's
//! instances are. The flags are made from the zone manifest
//! (`contracts::Zone::ALL`), so a zone added there gets its flag here
//! without an edit; clap's derive wants literal names, hence the hand-made
//! `Args` impl.

use clap::{Arg, ArgMatches, Args, Command, FromArgMatches};
use contracts::Zone;

/// The instances given for the zones that were given any.
#[derive(Debug, Clone, Default)]
pub struct ZoneUpstreams {
    given: Vec<(Zone, Vec<String>)>,
}

impl ZoneUpstreams {
    /// The instances configured for `zone` (trimmed), or its default
    /// address when none were given. An empty value (`EDGE_SHOP_UPSTREAM=`,
    /// `a:1,`) is kept, so the route table refuses it at start-up rather
    /// than the zone's traffic silently going to its development port.
    pub fn of(&self, zone: Zone) -> Vec<String> {
        match self.given.iter().find(|(z, _)| *z == zone) {
            Some((_, given)) => given.iter().map(|s| s.trim().to_owned()).collect(),
            None => vec![zone.default_addr().to_string()],
        }
    }
}

impl Args for ZoneUpstreams {
    fn augment_args(command: Command) -> Command {
        Zone::ALL.into_iter().fold(command, |command, zone| {
            command.arg(
                Arg::new(zone.upstream_flag())
                    .long(zone.upstream_flag())
                    .env(zone.upstream_env())
                    .value_name("HOST:PORT,…")
                    .value_delimiter(',')
                    .num_args(1)
                    .action(clap::ArgAction::Append)
                    .help(format!(
                        "Instances of the {} zone, comma-separated host:port (default {})",
                        zone.name(),
                        zone.default_addr()
                    )),
            )
        })
    }

    fn augment_args_for_update(command: Command) -> Command {
        Self::augment_args(command)
    }
}

impl FromArgMatches for ZoneUpstreams {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let given = Zone::ALL
            .into_iter()
            .filter_map(|zone| {
                let values = matches.get_many::<String>(&zone.upstream_flag())?;
                Some((zone, values.cloned().collect()))
            })
            .collect();
        Ok(Self { given })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}
