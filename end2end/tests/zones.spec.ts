import {
  test,
  expect,
  zones,
  hydrated,
  expectShell,
  signIn,
  uniqueUser,
  at,
  edge,
  urlEndingWith,
  type ZoneName,
} from './fixtures';

/** `islands`: whether the page renders one (only then is the bundle fetched). */
const pages: { path: string; zone: ZoneName; heading: RegExp; islands: boolean }[] = [
  {
    path: at.identity(),
    zone: 'identity',
    heading: /One sign-in for the whole site/,
    islands: true,
  },
  { path: at.shop(), zone: 'shop', heading: /The catalogue/, islands: true },
  { path: at.public(), zone: 'public', heading: /one site, built by three teams/, islands: true },
  { path: at.public('/account-area'), zone: 'public', heading: /Your account/, islands: false },
];

/** `<pkg>/app.<ext>`, or the release's content-hashed `<pkg>/app.<16 hex>.<ext>`. */
function bundleFile(pkg: string, ext: string): RegExp {
  return new RegExp(`^${pkg.replace(/[/.]/g, '\\$&')}/app(\\.[0-9a-f]{16})?\\.${ext}$`);
}

/** Every zone's home page. */
const homes = [at.public(), at.shop(), at.identity()];

for (const { path, zone, heading, islands } of pages) {
  test(`${path} is served by ${zone} with the shared shell and its own ${
    islands ? 'bundle' : 'styles, no bundle'
  }`, async ({ page, errors }) => {
    const pkg = zones[zone].pkg;
    const bundle: string[] = [];
    page.on('request', (r) => {
      const file = new URL(r.url()).pathname;
      if (bundleFile(pkg, 'wasm').test(file) || bundleFile(pkg, 'js').test(file)) bundle.push(file);
    });
    const css = page.waitForResponse((r) => bundleFile(pkg, 'css').test(new URL(r.url()).pathname));
    const wasm = islands
      ? page.waitForResponse((r) => bundleFile(pkg, 'wasm').test(new URL(r.url()).pathname))
      : null;
    const response = await page.goto(path);
    expect(response?.status()).toBe(200);
    expect((await css).status()).toBe(200);
    await expect(page.locator('h1')).toHaveText(heading);
    await expectShell(page, zone);
    if (wasm) {
      expect((await wasm).status()).toBe(200);
      await hydrated(page);
    } else {
      // A page without an island downloads neither the JS glue nor the wasm.
      await page.waitForLoadState('networkidle');
      expect(bundle).toEqual([]);
    }
    expect(errors).toEqual([]);
  });
}

test('identity: the sign-in steps disclosure opens and closes', async ({ page, errors }) => {
  await page.goto(at.identity());
  await hydrated(page);
  const toggle = page.locator('.disclosure__toggle');
  const steps = page.locator('#sign-in-steps');
  await expect(steps).toBeHidden();
  await toggle.click();
  await expect(steps).toBeVisible();
  await expect(toggle).toHaveAttribute('aria-expanded', 'true');
  await expect(toggle).toHaveText('Hide how sign-in works');
  await toggle.click();
  await expect(steps).toBeHidden();
  expect(errors).toEqual([]);
});

test('shop: the layout switch turns the grid into a list', async ({ page, errors }) => {
  await page.goto(at.shop());
  await hydrated(page);
  const products = page.locator('ul.products');
  await expect(products.locator('li.product')).toHaveCount(12);
  await expect(products).not.toHaveClass(/products--list/);
  await page.getByRole('button', { name: 'List' }).click();
  await expect(products).toHaveClass(/products--list/);
  await expect(page.getByRole('button', { name: 'List' })).toHaveAttribute('aria-pressed', 'true');
  await page.getByRole('button', { name: 'Grid' }).click();
  await expect(products).not.toHaveClass(/products--list/);
  expect(errors).toEqual([]);
});

test('public: the zone tour switches tabs', async ({ page, errors }) => {
  await page.goto(at.public());
  await hydrated(page);
  const panel = page.getByRole('tabpanel');
  await expect(panel.locator('h2')).toHaveText('The public zone');
  await page.getByRole('tab', { name: 'Shop' }).click();
  await expect(panel.locator('h2')).toHaveText('The shop zone');
  await expect(panel).toContainText(`${zones.shop.api_prefix}/`);
  await expect(page.getByRole('tab', { name: 'Shop' })).toHaveAttribute('aria-selected', 'true');
  expect(errors).toEqual([]);
});

test('cross-zone links are full page loads into the other zone', async ({ page, errors }) => {
  await page.goto(at.public());
  await hydrated(page);
  await page.evaluate(() => ((window as unknown as { marker: number }).marker = 1));
  await page.locator('.primary-nav').getByRole('link', { name: 'Shop' }).click();
  await expect(page).toHaveURL(urlEndingWith(at.shop()));
  await expectShell(page, 'shop');
  expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBeUndefined();
  await hydrated(page);
  await page.locator('footer').getByRole('link', { name: 'Identity' }).click();
  await expect(page).toHaveURL(urlEndingWith(at.identity()));
  await expectShell(page, 'identity');
  expect(errors).toEqual([]);
});

test('the user menu island opens, lists the account pages and closes on Escape', async ({
  page,
  errors,
}) => {
  await signIn(page, uniqueUser('menu'));
  for (const path of homes) {
    await page.goto(path);
    await hydrated(page);
    const button = page.locator('.menu__button');
    const panel = page.locator('#site-menu');
    await expect(button).toHaveAttribute('aria-expanded', 'false');
    await expect(panel).toBeHidden();
    await button.click();
    await expect(button).toHaveAttribute('aria-expanded', 'true');
    await expect(panel).toBeVisible();
    for (const name of ['Profile', 'Sessions', 'Your orders']) {
      await expect(panel.getByRole('link', { name })).toBeVisible();
    }
    await expect(panel.getByRole('button', { name: 'Sign out' })).toBeVisible();
    await page.keyboard.press('Escape');
    await expect(panel).toBeHidden();
    await expect(button).toBeFocused();
  }
  expect(errors).toEqual([]);
});

test('anonymous visitors see a sign-in button and no cart badge', async ({ page }) => {
  for (const path of homes) {
    await page.goto(path);
    await expect(page.locator('.account').getByRole('link', { name: 'Sign in' })).toBeVisible();
    await expect(page.locator('.cart-badge')).toHaveCount(0);
  }
});

for (const [path, zone] of [
  [at.public('/no-such-page'), 'public'],
  [at.shop('/p/no-such-product'), 'shop'],
  [at.shop('/no-such-product'), 'shop'],
  [at.identity('/no-such-page'), 'identity'],
] as const) {
  test(`unknown path ${path} is a 404 from ${zone} with the shared shell`, async ({ page }) => {
    const response = await page.goto(path);
    expect(response?.status()).toBe(404);
    await expect(page.locator('h1')).toHaveText('This page does not exist');
    await expectShell(page, zone);
  });
}

test('the edge answers its own health check', async ({ request }) => {
  const response = await request.get(edge.health_path);
  expect(response.status()).toBe(200);
  expect(await response.text()).toBe('ok');
});
