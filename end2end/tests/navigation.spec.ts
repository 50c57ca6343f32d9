// What a visitor downloads and waits for, measured in Chromium through the
// edge: a cold and a warm visit to each zone's main page (bytes over the
// wire from CDP network events, time to `<html data-hydrated>`), and a
// hover-then-click walk public → shop → identity, served from the
// speculation rules' prefetch or prerender. The checks are about
// behaviour (a warm visit fetches only the page; a hovered link is served
// from what the browser fetched ahead); the figures are written to
// $E2E_NAVIGATION_REPORT when set, for `cargo xtask bench`, which also runs
// this file against a stack without speculation rules
// (E2E_SPECULATION=off).
import { writeFileSync } from 'node:fs';
import type { CDPSession, Page } from '@playwright/test';
import { test, expect, zones, at, hydrated, type ZoneName } from './fixtures';

const speculation = process.env.E2E_SPECULATION !== 'off';

/** Bytes received over the network per resource type, from CDP's Network
 * events (answers from the browser's cache move no bytes and are left out). */
class Wire {
  private seen = new Map<string, { type: string; url: string }>();
  private cached = new Set<string>();
  bytes: Record<string, number> = {};
  /** What moved over the wire, as `type url`. */
  fetched: string[] = [];
  constructor(cdp: CDPSession) {
    cdp.on('Network.requestServedFromCache', (e) => this.cached.add(e.requestId));
    cdp.on('Network.responseReceived', (e) => {
      this.seen.set(e.requestId, { type: e.type.toLowerCase(), url: e.response.url });
      if (e.response.fromDiskCache || e.response.fromPrefetchCache) this.cached.add(e.requestId);
    });
    cdp.on('Network.loadingFinished', (e) => {
      const seen = this.seen.get(e.requestId);
      if (!seen || this.cached.has(e.requestId) || e.encodedDataLength === 0) return;
      this.bytes[seen.type] = (this.bytes[seen.type] ?? 0) + e.encodedDataLength;
      this.fetched.push(`${seen.type} ${new URL(seen.url).pathname}`);
    });
  }
  reset() {
    this.bytes = {};
    this.fetched = [];
  }
  total(): number {
    return Object.values(this.bytes).reduce((a, b) => a + b, 0);
  }
}

async function watch(page: Page): Promise<{ cdp: CDPSession; wire: Wire }> {
  await recordHydration(page);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  return { cdp, wire: new Wire(cdp) };
}

/** Records, in every page, the moment `<html data-hydrated>` appears
 * (`window.__hydratedAt`, from `performance.now()`): polling from the
 * test would add Playwright's own latency after a click to the figure. */
async function recordHydration(page: Page) {
  // Runs before the document exists: watch the document node itself.
  await page.addInitScript(() => {
    const w = window as unknown as { __hydratedAt?: number };
    new MutationObserver((_, observer) => {
      if (document.documentElement.hasAttribute('data-hydrated')) {
        w.__hydratedAt = performance.now();
        observer.disconnect();
      }
    }).observe(document, { attributes: true, subtree: true, attributeFilter: ['data-hydrated'] });
  });
}

/** Milliseconds from the start of the navigation to `zone`'s page (its
 * activation, if it was prerendered) until that page marked itself
 * hydrated, as the page recorded it. */
async function hydratedAfter(page: Page, zone: ZoneName): Promise<number> {
  const handle = await page.waitForFunction(
    (zone) => {
      const at = (window as unknown as { __hydratedAt?: number }).__hydratedAt;
      if (document.body?.dataset.zone !== zone || at === undefined) return 0;
      const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming & {
        activationStart?: number;
      };
      return Math.max(1, at - (nav.activationStart ?? 0));
    },
    zone,
    { timeout: 30_000 },
  );
  return Math.round((await handle.jsonValue()) as number);
}

const report: Record<string, unknown> = { speculation };

test.afterAll(() => {
  const file = process.env.E2E_NAVIGATION_REPORT;
  if (file) writeFileSync(file, JSON.stringify(report, null, 2));
});

test.describe.configure({ mode: 'serial' });

for (const zone of ['public', 'shop', 'identity'] as ZoneName[]) {
  test(`${zone}: a warm revisit fetches only the page`, async ({ page, errors }) => {
    const { wire } = await watch(page);
    const home = zones[zone].home;
    await page.goto(home);
    const coldMs = await hydratedAfter(page, zone);
    await page.waitForLoadState('networkidle');
    const cold = { ...wire.bytes, total: wire.total(), hydrated_ms: coldMs };
    expect(cold.total).toBeGreaterThan(0);

    wire.reset();
    await page.goto(home);
    const warmMs = await hydratedAfter(page, zone);
    await page.waitForLoadState('networkidle');
    const warm = { ...wire.bytes, total: wire.total(), hydrated_ms: warmMs };
    // The bundle and styles come from the cache: only the document moves.
    expect(wire.fetched.filter((f) => !f.startsWith('document '))).toEqual([]);
    report[zone] = { cold, warm };
    expect(errors).toEqual([]);
  });
}

/** Hovers `link`, waits until the browser has fetched its page ahead (or,
 * without speculation rules, a moment), clicks, and times the next page's
 * hydration; how that navigation was served. */
async function hoverThenClick(page: Page, cdp: CDPSession, link: string, to: ZoneName) {
  const ready = new Promise<string>((resolve) => {
    const done = (e: { status: string; prerenderStatus?: string }) => {
      if (e.status === 'Ready') resolve(e.status);
      if (e.status === 'Failure') resolve(`${e.status} ${e.prerenderStatus ?? ''}`.trim());
    };
    cdp.on('Preload.prerenderStatusUpdated', done);
    cdp.on('Preload.prefetchStatusUpdated', done);
  });
  await page.locator(link).first().hover();
  const status = speculation
    ? await Promise.race([ready, page.waitForTimeout(5_000).then(() => 'timeout')])
    : (await page.waitForTimeout(500), 'off');
  await page.locator(link).first().click();
  const ms = await hydratedAfter(page, to);
  const served = await page.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming & {
      activationStart?: number;
      deliveryType?: string;
    };
    if ((nav.activationStart ?? 0) > 0) return 'prerender';
    if (nav.deliveryType === 'navigational-prefetch') return 'prefetch';
    return 'network';
  });
  return { ms, served, status };
}

test('hover then click: public → shop → identity', async ({ page, errors }) => {
  const { cdp } = await watch(page);
  await cdp.send('Preload.enable');

  // Warm: every zone's bundle is in the cache, as on a second visit.
  for (const home of [at.identity(), at.shop(), at.public()]) {
    await page.goto(home);
    await hydrated(page);
  }
  const toShop = await hoverThenClick(page, cdp, `.primary-nav a[data-zone-link="shop"]`, 'shop');
  await expect(page.locator('body')).toHaveAttribute('data-zone', 'shop');
  const toIdentity = await hoverThenClick(
    page,
    cdp,
    `footer a[data-zone-link="identity"]`,
    'identity',
  );
  await expect(page.locator('body')).toHaveAttribute('data-zone', 'identity');
  report.navigation = { public_to_shop: toShop, shop_to_identity: toIdentity };
  if (speculation) {
    // Served from what the browser fetched ahead. Chromium never
    // prerenders while a DevTools client (Playwright) is attached
    // (`PrerenderingDisabledByDevTools`), so here the primary navigation's
    // prerender rule is seen through its prefetch; a person's browser
    // prerenders it.
    expect(['prefetch', 'prerender']).toContain(toShop.served);
    expect(['prefetch', 'prerender']).toContain(toIdentity.served);
  } else {
    expect([toShop.served, toIdentity.served]).toEqual(['network', 'network']);
  }
  expect(errors).toEqual([]);
});
