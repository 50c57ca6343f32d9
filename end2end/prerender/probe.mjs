// Cross-zone clicks served from a prerender, timed without a debugger
// attached: Chromium disables prerendering while DevTools (Playwright's
// CDP) is attached (`PrerenderingDisabledByDevTools`), so the navigation
// spec can show prefetches but never a prerender.
//
// Each run starts a fresh Chromium (no DevTools client) on probe.html,
// which asks for a prerender of the target (or not) and then navigates
// there. Once the target has had time to hydrate, the probe attaches over
// CDP and reads the target's own timeline: `activationStart` (non-zero
// when the page was prerendered) and the `meridian:hydrated` mark that
// shared-ui sets. Time to hydrated, from the click: for a prerendered page
// max(0, mark - activationStart), else the mark itself.
//
// Env: E2E_BASE_URL (the edge), CHROMIUM_PATH, PROBE_PAGE (path of
// probe.html as served), PROBE_RUNS (default 3), PROBE_REPORT (JSON out).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from '@playwright/test';

const base = process.env.E2E_BASE_URL ?? 'http://127.0.0.1:8080';
const page = process.env.PROBE_PAGE;
const runs = Number(process.env.PROBE_RUNS ?? 3);
const wait = 3000;
const HYDRATED_MARK = 'meridian:hydrated';
const targets = { public_to_shop: '/shop', public_to_identity: '/auth' };

const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

async function devtoolsPort(dir) {
  const file = join(dir, 'DevToolsActivePort');
  for (let i = 0; i < 100; i++) {
    if (existsSync(file)) return readFileSync(file, 'utf8').split('\n')[0];
    await sleep(100);
  }
  throw new Error('Chromium never opened its DevTools port');
}

/** One click to `to`, prerendered or not: { prerendered, ms }. */
async function once(to, rules) {
  const dir = mkdtempSync(join(tmpdir(), 'meridian-probe-'));
  const url = `${base}${page}?to=${encodeURIComponent(to)}&rules=${rules ? 1 : 0}&wait=${wait}`;
  const browser = spawn(
    process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--user-data-dir=${dir}`,
      '--remote-debugging-port=0',
      url,
    ],
    { stdio: 'ignore' },
  );
  try {
    const port = await devtoolsPort(dir);
    // Nothing is attached until the click is over and the page hydrated.
    await sleep(wait + 2500);
    const cdp = await chromium.connectOverCDP(`http://127.0.0.1:${port}`);
    try {
      const pages = cdp.contexts().flatMap((context) => context.pages());
      const target = pages.find((p) => new URL(p.url()).pathname === to);
      if (!target) throw new Error(`never reached ${to}: ${pages.map((p) => p.url()).join(', ')}`);
      const seen = await target.evaluate((mark) => {
        const navigation = performance.getEntriesByType('navigation')[0];
        const hydrated = performance.getEntriesByName(mark)[0];
        return { activation: navigation.activationStart, hydrated: hydrated?.startTime ?? null };
      }, HYDRATED_MARK);
      if (seen.hydrated === null) throw new Error(`${to} never hydrated`);
      const prerendered = seen.activation > 0;
      const ms = prerendered ? Math.max(0, seen.hydrated - seen.activation) : seen.hydrated;
      return { prerendered, ms: Math.round(ms * 10) / 10 };
    } finally {
      await cdp.close();
    }
  } finally {
    browser.kill('SIGKILL');
    await sleep(200);
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const report = {};
for (const [name, to] of Object.entries(targets)) {
  const prerender = [];
  const plain = [];
  for (let i = 0; i < runs; i++) {
    prerender.push(await once(to, true));
    plain.push(await once(to, false));
  }
  if (!prerender.some((run) => run.prerendered)) {
    throw new Error(`${to} was never served from a prerender`);
  }
  if (plain.some((run) => run.prerendered)) {
    throw new Error(`${to} was prerendered without rules`);
  }
  report[name] = {
    prerendered_ms: median(prerender.map((run) => run.ms)),
    plain_ms: median(plain.map((run) => run.ms)),
    prerendered_runs: prerender.filter((run) => run.prerendered).length,
    runs,
    prerender: prerender.map((run) => run.ms),
    plain: plain.map((run) => run.ms),
  };
  console.log(
    `    ${to}: prerendered ${report[name].prerendered_ms} ms (${report[name].prerendered_runs}/${runs} activated), ` +
      `without rules ${report[name].plain_ms} ms`,
  );
}
if (process.env.PROBE_REPORT) writeFileSync(process.env.PROBE_REPORT, JSON.stringify(report, null, 2));
