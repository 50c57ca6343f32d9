import { test as base, expect, type Page } from '@playwright/test';

/** The zones and where each one serves its bundle from. */
export const zones = {
  identity: { home: '/auth', pkg: '/auth/pkg' },
  shop: { home: '/shop', pkg: '/shop/pkg' },
  public: { home: '/', pkg: '/public/pkg' },
} as const;

export type ZoneName = keyof typeof zones;

/**
 * A page that records console errors and uncaught exceptions; every test
 * using it fails if any occurred.
 */
export const test = base.extend<{ errors: string[] }>({
  errors: async ({ page }, use) => {
    const errors: string[] = [];
    page.on('console', (msg) => {
      if (msg.type() === 'error') errors.push(`console: ${msg.text()}`);
    });
    page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
    await use(errors);
    expect(errors, 'no console errors').toEqual([]);
  },
});

export { expect };

/** Waits until the zone's wasm has hydrated the islands on the page. */
export async function hydrated(page: Page) {
  await expect(page.locator('html[data-hydrated]')).toHaveCount(1);
}

/** Asserts the shared header and footer, and which zone rendered the page. */
export async function expectShell(page: Page, zone: ZoneName) {
  await expect(page.locator('header.site-header')).toBeVisible();
  await expect(page.locator('header .brand')).toHaveText(/Meridian/);
  await expect(page.locator('footer.site-footer')).toBeVisible();
  await expect(page.locator('footer .zone-name')).toHaveText(zone);
  await expect(page.locator('body')).toHaveAttribute('data-zone', zone);
}
