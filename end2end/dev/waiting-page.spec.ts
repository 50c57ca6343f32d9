import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test, expect } from '@playwright/test';
import { zones, hydrated, expectShell, type ZoneName } from '../tests/fixtures';

/** How to start the zone the stack left down (written by `cargo xtask test`). */
type LateZone = {
  zone: ZoneName;
  program: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
};

function lateZone(): LateZone {
  const file = process.env.E2E_LATE_ZONE;
  if (!file) {
    throw new Error('E2E_LATE_ZONE is not set: run this through `cargo xtask test`');
  }
  return JSON.parse(readFileSync(file, 'utf8')) as LateZone;
}

test('a zone that starts late shows the waiting page, which turns into the zone by itself', async ({
  page,
}) => {
  // The polls that find the zone down log failed requests; scripts must
  // not fail.
  const scriptErrors: string[] = [];
  page.on('pageerror', (err) => scriptErrors.push(err.message));
  const late = lateZone();
  const home = zones[late.zone].home;
  const response = await page.goto(home);
  expect(response?.status()).toBe(503);
  expect(response?.headers()['retry-after']).toBe('1');
  expect(response?.headers()['cache-control']).toBe('no-store');
  await expect(page.locator('h1')).toHaveText(`The ${late.zone} zone is starting…`);
  // Nothing answers yet: the page stays (it polls, it does not loop).
  await page.waitForTimeout(1500);
  await expect(page.locator('h1')).toHaveText(`The ${late.zone} zone is starting…`);

  const reloads: string[] = [];
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) reloads.push(frame.url());
  });
  const zone = spawn(late.program, late.args, {
    cwd: late.cwd,
    env: late.env,
    stdio: 'ignore',
  });
  try {
    // No reload by hand: the waiting page reloads once the zone answers.
    await expectShell(page, late.zone);
    await hydrated(page);
    expect(reloads.length).toBeGreaterThan(0);
    expect(new URL(page.url()).pathname).toBe(home);
    expect(scriptErrors).toEqual([]);
  } finally {
    zone.kill('SIGTERM');
  }
});
