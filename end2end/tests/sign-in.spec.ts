import { test, expect, hydrated, expectShell, accountName, signOut } from './fixtures';

test('one sign-in reaches every zone, one sign-out leaves them all', async ({ page, errors }) => {
  // A protected shop page sends us to identity's login, then the mock IdP.
  await page.goto('/shop/orders');
  await expect(page).toHaveURL(/\/mock-idp\/authorize\?/);
  await expect(page.locator('h1')).toHaveText('Sign in to Meridian ID');
  await page.getByLabel('Username').fill('alice');
  await page.getByRole('button', { name: 'Sign in' }).click();

  // Back where we started, signed in.
  await expect(page).toHaveURL(/\/shop\/orders$/);
  await expect(page.locator('h1')).toHaveText('Your orders');
  await expectShell(page, 'shop');
  await expect(accountName(page)).toHaveText('alice');

  // The cookie is the shared, host-only, HttpOnly session cookie.
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === 'auth.session-token');
  expect(session?.httpOnly).toBe(true);
  expect(session?.sameSite).toBe('Lax');
  expect(session?.path).toBe('/');
  expect(await page.evaluate(() => document.cookie)).not.toContain('auth.session-token');

  // Every zone knows alice, without signing in again.
  for (const [path, zone] of [
    ['/', 'public'],
    ['/account-area', 'public'],
    ['/auth', 'identity'],
    ['/shop', 'shop'],
  ] as const) {
    await page.goto(path);
    await expectShell(page, zone);
    await expect(accountName(page)).toHaveText('alice');
    await hydrated(page);
  }
  await page.goto('/');
  await expect(page.locator('.greeting')).toHaveText('Welcome back, alice');

  // Sign out from the header of the shop zone.
  await page.goto('/shop');
  await hydrated(page);
  await signOut(page);
  await expect(page).toHaveURL(/\/$/);
  await expect(page.locator('.greeting')).toHaveText('Welcome');
  await expect(page.locator('.account').getByRole('link', { name: 'Sign in' })).toBeVisible();

  // Signed out everywhere: the protected page asks for sign-in again.
  await page.goto('/shop/orders');
  await expect(page).toHaveURL(/\/mock-idp\/authorize\?/);
  await page.goto('/auth');
  await expect(page.locator('.account').getByRole('link', { name: 'Sign in' })).toBeVisible();
  expect(errors).toEqual([]);
});

test('cancelling at the provider shows a helpful page, not an error', async ({ page }) => {
  await page.goto('/account-area');
  await page.locator('.account').getByRole('link', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/mock-idp\/authorize\?/);
  await page.getByRole('button', { name: 'Cancel' }).click();
  await expect(page).toHaveURL(/\/auth\/error\?reason=denied$/);
  await expect(page.locator('h1')).toHaveText('Sign-in did not complete');
  await expect(page.locator('.lead')).toContainText('cancelled');
  await expectShell(page, 'identity');
});

test('the sign-in link brings you back to the page you were on', async ({ page }) => {
  await page.goto('/account-area');
  await page.locator('.account').getByRole('link', { name: 'Sign in' }).click();
  await page.getByLabel('Username').fill('bob');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/account-area$/);
  await expect(page.locator('.lead')).toContainText('Signed in as bob');
});
