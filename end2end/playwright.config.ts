import { defineConfig } from '@playwright/test';
import { manifest } from './manifest';

// `cargo xtask test` starts the stack on free ports and sets E2E_BASE_URL;
// against `cargo xtask dev` / `start` the default is their edge, as the
// zone manifest (`cargo xtask manifest`) says.
const baseURL = process.env.E2E_BASE_URL ?? manifest.edge.default_url;

export default defineConfig({
  testDir: './tests',
  outputDir: './test-results',
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: true,
  workers: 2,
  retries: 0,
  forbidOnly: true,
  reporter: [['list']],
  use: {
    baseURL,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      // Debian's Chromium: Playwright must not download a browser here.
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    },
  },
});
