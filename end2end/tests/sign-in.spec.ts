import type { Browser } from '@playwright/test';
import {
  test,
  expect,
  hydrated,
  expectShell,
  accountName,
  expectSignedOutPage,
  signIn,
  signInAtProvider,
  signOut,
  whoAmI,
  at,
  authPaths,
  mockIdp,
  providerForm,
  sessionCookie,
  urlContaining,
  urlEndingWith,
} from './fixtures';

test('one sign-in reaches every zone, one sign-out leaves them all', async ({ page, errors }) => {
  // A protected shop page sends us to identity's login, then the mock IdP.
  await page.goto(at.shop('/orders'));
  await expect(page).toHaveURL(providerForm);
  await expect(page.locator('h1')).toHaveText('Sign in to Meridian ID');
  await page.getByLabel('Username').fill('alice');
  await page.getByRole('button', { name: 'Sign in' }).click();

  // Back where we started, signed in.
  await expect(page).toHaveURL(urlEndingWith(at.shop('/orders')));
  await expect(page.locator('h1')).toHaveText('Your orders');
  await expectShell(page, 'shop');
  await expect(accountName(page)).toHaveText('alice');

  // The cookie is the shared, host-only, HttpOnly session cookie.
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === sessionCookie);
  expect(session?.httpOnly).toBe(true);
  expect(session?.sameSite).toBe('Lax');
  expect(session?.path).toBe('/');
  expect(await page.evaluate(() => document.cookie)).not.toContain(sessionCookie);

  // Every zone knows alice, without signing in again.
  for (const [path, zone] of [
    [at.public(), 'public'],
    [at.public('/account-area'), 'public'],
    [at.identity(), 'identity'],
    [at.shop(), 'shop'],
  ] as const) {
    await page.goto(path);
    await expectShell(page, zone);
    await expect(accountName(page)).toHaveText('alice');
    await hydrated(page);
  }
  await page.goto(at.public());
  await expect(page.locator('.greeting')).toHaveText('Welcome back, alice');

  // Sign out from the header of the shop zone: the session ends here, then
  // at the provider, which sends the browser back to the signed-out page.
  await page.goto(at.shop());
  await hydrated(page);
  await signOut(page);
  await expectSignedOutPage(page);
  expect(await whoAmI(page)).toBeNull();
  await page.goto(at.public());
  await expect(page.locator('.greeting')).toHaveText('Welcome');
  await expect(page.locator('.account').getByRole('link', { name: 'Sign in' })).toBeVisible();

  // "Sign in again" asks the provider who you are: no silent sign-in.
  await page.goto(authPaths.signed_out);
  await page.locator('main').getByRole('link', { name: /sign in/i }).click();
  await expect(page).toHaveURL(providerForm);
  await expect(page.getByLabel('Username')).toBeVisible();

  // Signed out everywhere: the protected page asks for sign-in again.
  await page.goto(at.shop('/orders'));
  await expect(page).toHaveURL(providerForm);
  await page.goto(at.identity());
  await expect(page.locator('.account').getByRole('link', { name: 'Sign in' })).toBeVisible();
  expect(errors).toEqual([]);
});

test('cancelling at the provider shows a helpful page, not an error', async ({ page }) => {
  await page.goto(at.public('/account-area'));
  await page.locator('.account').getByRole('link', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(providerForm);
  await page.getByRole('button', { name: 'Cancel' }).click();
  await expect(page).toHaveURL(urlEndingWith(`${authPaths.error}?reason=denied`));
  await expect(page.locator('h1')).toHaveText('Sign-in did not complete');
  await expect(page.locator('.lead')).toContainText('cancelled');
  await expectShell(page, 'identity');
});

test('the sign-in link brings you back to the page you were on', async ({ page }) => {
  await page.goto(at.public('/account-area'));
  await page.locator('.account').getByRole('link', { name: 'Sign in' }).click();
  await page.getByLabel('Username').fill('bob');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(urlEndingWith(at.public('/account-area')));
  await expect(page.locator('.lead')).toContainText('Signed in as bob');
});

/**
 * The attacker's half of a login CSRF: in their own browser, start a sign-in
 * and complete the provider's form as `username`, but keep the callback link
 * the provider answers with instead of following it. (The provider's answer
 * is a redirect, and routes never see redirected requests, so the form post
 * itself is intercepted and sent without following redirects.)
 */
async function callbackLinkMadeBy(browser: Browser, username: string): Promise<string> {
  const context = await browser.newContext();
  const page = await context.newPage();
  let callback: string | undefined;
  await page.route(`**${mockIdp}/authorize`, async (route) => {
    if (route.request().method() !== 'POST') return route.continue();
    const answer = await route.fetch({ maxRedirects: 0 });
    const location = answer.headers()['location'];
    if (location) callback = new URL(location, route.request().url()).toString();
    await route.fulfill({ status: 200, contentType: 'text/html', body: '<p>Link kept.</p>' });
  });
  await page.goto(
    `${authPaths.login}?return_to=${encodeURIComponent(at.public('/account-area'))}`,
  );
  await signInAtProvider(page, username);
  await expect.poll(() => callback).toContain(`${authPaths.callback}?code=`);
  await context.close();
  return callback ?? '';
}

test('a callback link made in another browser signs no one in (login CSRF)', async ({
  page,
  browser,
}) => {
  // The victim is signed in as alice.
  await signIn(page, 'alice', at.public('/account-area'));
  await expect(accountName(page)).toHaveText('alice');

  // mallory signs in at the provider in her own browser and sends alice
  // the callback link; alice opens it.
  const link = await callbackLinkMadeBy(browser, 'mallory');
  await page.goto(link);

  // The link was made for another browser: the sign-in error page, and
  // alice is still alice, in the header and for every zone.
  await expect(page).toHaveURL(urlContaining(`${authPaths.error}?reason=`));
  await expect(page.locator('h1')).toHaveText('Sign-in did not complete');
  await expectShell(page, 'identity');
  await expect(accountName(page)).toHaveText('alice');
  expect(await whoAmI(page)).toBe('alice');
  await page.goto(at.shop());
  await expect(accountName(page)).toHaveText('alice');
});
