import { test, expect, at, signIn, uniqueUser, accountName } from './fixtures';

// The edge cache as a visitor meets it: an anonymous catalogue comes from
// the edge's cache; browsers are told to ask again every time, so the
// page a visitor saw before signing in does not come back after; a
// signed-in page never comes from the cache.
test('anonymous pages come from the edge cache, signed-in ones never', async ({
  page,
  request,
  errors,
}) => {
  // Without cookies, twice: the second answer is the edge's copy.
  const first = await request.get(at.shop());
  expect(first.status()).toBe(200);
  expect(first.headers()['cache-control']).toBe('no-cache');
  expect(first.headers()['cdn-cache-control']).toContain('stale-if-error=');
  const second = await request.get(at.shop());
  expect(['HIT', 'STALE']).toContain(second.headers()['x-cache']);
  expect(Number(second.headers()['age'])).toBeGreaterThanOrEqual(0);
  expect(await second.text()).toContain('data-signed-in="false"');

  // The browser sees the anonymous catalogue, signs in and lands on it
  // again: signed in at once, not a copy from before.
  const anonymous = await page.goto(at.shop());
  expect(anonymous?.status()).toBe(200);
  await expect(page.locator('body')).toContainText('The catalogue');
  const user = uniqueUser('cache');
  await signIn(page, user, at.shop());
  await expect(accountName(page)).toHaveText(user);
  const signedIn = await page.goto(at.shop());
  expect(signedIn?.headers()['x-cache']).toBeUndefined();
  expect(signedIn?.headers()['cache-control']).toBe('private, no-store');
  expect(signedIn?.headers()['cdn-cache-control']).toBeUndefined();
  await expect(accountName(page)).toHaveText(user);
  expect(errors).toEqual([]);
});
