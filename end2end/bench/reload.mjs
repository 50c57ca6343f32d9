// The dev loop as a browser sees it, for `cargo xtask bench`: opens URL in
// Debian's Chromium against `cargo xtask dev`, and COUNT times prints
// `ready` once the page is hydrated and its live-reload socket is open,
// then `reloaded` once the page has reloaded (after xtask saved an edit)
// and loaded again. xtask times the edit → `reloaded` span.
//   node end2end/bench/reload.mjs URL COUNT
import { chromium } from '@playwright/test';

const [url, countArg] = process.argv.slice(2);
const count = Number(countArg ?? '1');
if (!url || !Number.isInteger(count) || count < 1) {
  console.error('usage: node end2end/bench/reload.mjs URL COUNT');
  process.exit(2);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
});
try {
  const page = await browser.newPage();
  const isMain = (frame) => frame === page.mainFrame();
  let socket = page.waitForEvent('websocket', { timeout: 120_000 });
  await page.goto(url);
  for (let i = 0; i < count; i++) {
    await page.waitForSelector('html[data-hydrated]', { state: 'attached', timeout: 120_000 });
    await socket;
    const reloaded = page.waitForEvent('framenavigated', { predicate: isMain, timeout: 600_000 });
    socket = page.waitForEvent('websocket', { timeout: 600_000 });
    console.log('ready');
    await reloaded;
    await page.waitForLoadState('load');
    console.log('reloaded');
  }
} finally {
  await browser.close();
}
