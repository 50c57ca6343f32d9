import { test as base, expect, type Page } from '@playwright/test';
import { manifest, type ZoneName } from '../manifest';

export type { ZoneName };

/** The zones (home, prefixes, bundle, API prefix...), from the zone manifest. */
export const zones = manifest.zones;

/** Identity's sign-in endpoints (login, callback, signed_out, error...). */
export const authPaths = manifest.auth;

/** Where the development-only mock provider is served. */
export const mockIdp = manifest.mock_idp_prefix;

/** The edge's own paths (health). */
export const edge = manifest.edge;

/** The session cookie's name (plain http). */
export const sessionCookie = manifest.cookies.session;

/** A path inside `zone`, as `contracts::Zone::path` builds it. */
function zonePath(zone: ZoneName, rest: string): string {
  const home = zones[zone].home;
  return home === '/' ? rest || '/' : `${home}${rest}`;
}

/**
 * Paths inside each zone: `at.shop('/cart')` is the shop's cart,
 * `at.public('/account-area')` the public account area, `at.shop()` the
 * shop's home.
 */
export const at = {
  identity: (rest = '') => zonePath('identity', rest),
  shop: (rest = '') => zonePath('shop', rest),
  public: (rest = '') => zonePath('public', rest),
};

/** `text` with every character a regular expression treats specially escaped. */
function escaped(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** A URL whose path (and query) ends with `path`, then `tail` (a pattern). */
export function urlEndingWith(path: string, tail = ''): RegExp {
  return new RegExp(`${escaped(path)}${tail}$`);
}

/** A URL that contains `text` anywhere. */
export function urlContaining(text: string): RegExp {
  return new RegExp(escaped(text));
}

/** Any page of the mock provider's sign-in form. */
export const providerForm = urlContaining(`${mockIdp}/authorize?`);

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

/** A username no earlier test run has used. */
export function uniqueUser(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
}

/**
 * Completes the mock identity provider's form (the page must be on it);
 * works with and without JavaScript.
 */
export async function signInAtProvider(page: Page, username: string) {
  await expect(page).toHaveURL(providerForm);
  await page.getByLabel('Username').fill(username);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Signs `username` in from `start` and waits to be back there. */
export async function signIn(page: Page, username: string, start = at.public('/account-area')) {
  await page.goto(`${authPaths.login}?return_to=${encodeURIComponent(start)}`);
  await signInAtProvider(page, username);
  await expect(page).toHaveURL(urlEndingWith(start));
}

/** The signed-in user's name in the header's user menu. */
export function accountName(page: Page) {
  return page.locator('.account .menu__label');
}

/**
 * Where a whole sign-out ends: identity's page, after the provider's own
 * sign-out (RP-initiated logout) sent the browser back, maybe with `state`.
 */
export const signedOutUrl = urlEndingWith(authPaths.signed_out, '(\\?[^#]*)?');

/** Opens the user menu, presses "Sign out" and waits for the signed-out page. */
export async function signOut(page: Page) {
  await page.locator('.account .menu__button').click();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(signedOutUrl);
}

/** Asserts the signed-out page: identity's shell, anonymous, a way back in. */
export async function expectSignedOutPage(page: Page) {
  await expect(page).toHaveURL(signedOutUrl);
  await expect(page.locator('h1')).toHaveText(/signed out/i);
  await expectShell(page, 'identity');
  await expect(page.locator('.account').getByRole('link', { name: 'Sign in' })).toBeVisible();
  await expect(page.locator('main').getByRole('link', { name: /sign in/i })).toBeVisible();
}

/** The `/…/me` JSON every zone answers (contracts::MeResponse). */
type Me = { authenticated: boolean; zone: ZoneName; user: { id: string; username: string } | null };

/** Who identity's `/…/me` says the page's browser context (its cookies) is, or null. */
export async function whoAmI(page: Page): Promise<string | null> {
  const response = await page.request.get(zones.identity.me_path);
  expect(response.status()).toBe(200);
  const me = (await response.json()) as Me;
  return me.authenticated ? (me.user?.username ?? null) : null;
}
