// The zone manifest, generated from the Rust one (`contracts::zone`) by
// `cargo xtask manifest` (`cargo xtask test`, `dev` and `start` write it
// too): the tests keep no copy of a zone's prefixes, identity's sign-in
// paths or the cookie names. Read from $E2E_MANIFEST, else from
// target/e2e/manifest.json in the workspace.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** One zone (mirrors xtask's `manifest::ZoneEntry`). */
export type ZoneEntry = {
  name: string;
  title: string;
  prefixes: string[];
  /** The zone's home page, e.g. `/shop` (`/` for the public zone). */
  home: string;
  api_prefix: string;
  /** Where its bundle is served from, e.g. `/shop/pkg`. */
  pkg: string;
  me_path: string;
  health_path: string;
  default_addr: string;
};

/** The zone names the tests refer to (checked against the file). */
export const zoneNames = ['identity', 'shop', 'public'] as const;
export type ZoneName = (typeof zoneNames)[number];

/** The whole file (mirrors xtask's `manifest::Manifest`). */
export type Manifest = {
  zones: Record<ZoneName, ZoneEntry>;
  auth: { login: string; callback: string; logout: string; signed_out: string; error: string };
  mock_idp_prefix: string;
  cookies: { session: string; login: string };
  cart_count_path: string;
  edge: { default_url: string; health_path: string };
};

function load(): Manifest {
  const file =
    process.env.E2E_MANIFEST ?? path.resolve(__dirname, '..', 'target', 'e2e', 'manifest.json');
  if (!existsSync(file)) {
    throw new Error(
      `The zone manifest ${file} is missing: run \`cargo xtask manifest\` to write it ` +
        '(`cargo xtask test`, `dev` and `start` write it too).',
    );
  }
  const manifest = JSON.parse(readFileSync(file, 'utf8')) as Manifest;
  const missing = zoneNames.filter((zone) => typeof manifest.zones?.[zone]?.home !== 'string');
  if (missing.length > 0 || typeof manifest.auth?.login !== 'string') {
    throw new Error(
      `The zone manifest ${file} is not what the tests expect ` +
        `(zones missing: ${missing.join(', ') || 'none'}): run \`cargo xtask manifest\` again.`,
    );
  }
  return manifest;
}

export const manifest: Manifest = load();
