// Takes the README's screenshots from the real pages in Debian's Chromium.
// Run against a running stack: `cargo xtask start`, then
//   node end2end/screenshots.mjs [base URL, default: the edge of `start`]
// Writes docs/screenshots/*.png. Paths come from the zone manifest that
// `cargo xtask start` (or `cargo xtask manifest`) writes.
import { existsSync, readFileSync } from 'node:fs';
import { chromium } from '@playwright/test';

const manifestFile =
  process.env.E2E_MANIFEST ?? new URL('../target/e2e/manifest.json', import.meta.url).pathname;
if (!existsSync(manifestFile)) {
  throw new Error(`The zone manifest ${manifestFile} is missing: run \`cargo xtask manifest\`.`);
}
const manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
const shop = manifest.zones.shop.home;
const identity = manifest.zones.identity.home;

const base = process.argv[2] ?? process.env.E2E_BASE_URL ?? manifest.edge.default_url;
const out = new URL('../docs/screenshots/', import.meta.url).pathname;
const user = `reader-${Date.now().toString(36)}`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu'],
});
const page = await browser.newPage({ viewport: { width: 1100, height: 760 } });
const shot = async (name) => {
  await page.waitForSelector('html[data-hydrated]');
  await page.screenshot({ path: `${out}${name}.png` });
  console.log(`wrote docs/screenshots/${name}.png`);
};

await page.goto(`${base}${shop}`);
await shot('shop-catalogue');

// Sign in from a product page, add two products, open the cart.
await page.goto(`${base}${shop}/p/desk-lamp`);
await page.waitForSelector('html[data-hydrated]');
await page.getByRole('button', { name: 'Add to cart' }).click();
await page.getByLabel('Username').fill(user);
await page.getByRole('button', { name: 'Sign in' }).click();
await page.waitForURL(/added=1$/);
await page.goto(`${base}${shop}/p/pour-over`);
await page.waitForSelector('html[data-hydrated]');
await page.getByLabel('Quantity').fill('2');
await page.getByRole('button', { name: 'Add to cart' }).click();
await page.waitForSelector('.form-status:not(:empty)');
await shot('shop-product');
await page.goto(`${base}${shop}/cart`);
await shot('shop-cart');

await page.goto(`${base}${identity}/sessions`);
await page.waitForSelector('html[data-hydrated]');
await page.locator('.menu__button').click();
await shot('identity-sessions');

await browser.close();
