import { defineConfig } from '@playwright/test';
import base from './playwright.config';

// The development pages of the edge (`--dev-waiting-page`), against the
// stack `cargo xtask test` starts for them with one zone left down; the
// spec starts that zone itself, from $E2E_LATE_ZONE.
export default defineConfig({
  ...base,
  testDir: './dev',
  fullyParallel: false,
  workers: 1,
});
