import {
  test,
  expect,
  hydrated,
  expectShell,
  expectSignedOutPage,
  accountName,
  signIn,
  signInAtProvider,
  signOut,
  uniqueUser,
  at,
  providerForm,
  urlEndingWith,
} from './fixtures';

const badge = (page: import('@playwright/test').Page) => page.locator('.cart-badge__count');

test('shop, sign in on the way, check out, rename, sign out everywhere', async ({
  page,
  browser,
  errors,
}) => {
  const user = uniqueUser('shopper');

  // Browse anonymously to a product and add it: sign-in comes first.
  await page.goto(at.shop());
  await page.getByRole('link', { name: 'Enamel mug' }).click();
  await expect(page).toHaveURL(urlEndingWith(at.shop('/p/enamel-mug')));
  await expect(page.locator('h1')).toHaveText('Enamel mug');
  await hydrated(page);
  await page.getByLabel('Quantity').fill('2');
  await page.getByRole('button', { name: 'Add to cart' }).click();
  await signInAtProvider(page, user);

  // Back on the product, the item in the cart, the badge counting it.
  await expect(page).toHaveURL(urlEndingWith(at.shop('/p/enamel-mug?added=2')));
  await expect(page.locator('.notice')).toContainText('Added 2 to your cart');
  await expect(accountName(page)).toHaveText(user);
  await hydrated(page);
  await expect(badge(page)).toHaveText('2');

  // Add another product with JavaScript: the badge follows without a reload.
  await page.goto(at.shop('/p/brass-pen'));
  await hydrated(page);
  await expect(badge(page)).toHaveText('2');
  await page.getByRole('button', { name: 'Add to cart' }).click();
  await expect(page.locator('.form-status')).toHaveText('Added. Your cart holds 3 items.');
  await expect(badge(page)).toHaveText('3');

  // The cart: change a quantity, remove a line, in place.
  await page.goto(at.shop('/cart'));
  await hydrated(page);
  await expect(page.locator('tr.cart-line')).toHaveCount(2);
  await page.getByLabel('Quantity of Enamel mug').fill('3');
  await page.locator('tr[data-slug="enamel-mug"]').getByRole('button', { name: 'Update' }).click();
  await expect(page.locator('.cart__total')).toHaveText('€91.50');
  await expect(badge(page)).toHaveText('4');
  await page.locator('tr[data-slug="brass-pen"]').getByRole('button', { name: 'Remove' }).click();
  await expect(page.locator('tr.cart-line')).toHaveCount(1);
  await expect(page.locator('.cart__total')).toHaveText('€43.50');
  await expect(badge(page)).toHaveText('3');

  // Every zone's header shows the same count, fetched from the shop.
  for (const path of [at.public(), at.identity()]) {
    await page.goto(path);
    await hydrated(page);
    await expect(badge(page)).toHaveText('3');
  }

  // Check out: one order, listed; the badge is back to zero everywhere.
  await page.goto(at.shop('/cart'));
  await hydrated(page);
  await page.getByRole('button', { name: 'Place order' }).click();
  await expect(page).toHaveURL(urlEndingWith(at.shop('/orders/'), '[A-Za-z0-9_-]+'));
  const orderId = page.url().split('/').pop()!;
  await expect(page.locator('h1')).toHaveText(`Order ${orderId}`);
  await expect(page.locator('.order__total')).toHaveText('€43.50');
  await page.goto(at.shop('/orders'));
  await expect(page.locator('.order-row')).toHaveCount(1);
  await expect(page.locator(`.order-row[data-order="${orderId}"]`)).toContainText('€43.50');
  for (const path of [at.public(), at.identity()]) {
    await page.goto(path);
    await hydrated(page);
    await expect(badge(page)).toHaveText('0');
  }

  // Rename in identity; the shop's header says the new name.
  await page.goto(at.identity('/profile'));
  await hydrated(page);
  await page.getByLabel('Display name').fill('Ada Shopper');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.locator('.form-status')).toContainText('Ada Shopper');
  await page.goto(at.shop());
  await expect(accountName(page)).toHaveText('Ada Shopper');
  await page.goto(at.public());
  await expect(page.locator('.greeting')).toHaveText('Welcome back, Ada Shopper');

  // A second device; "sign out everywhere else" ends it for every zone.
  const phone = await browser.newContext();
  const phonePage = await phone.newPage();
  await signIn(phonePage, user, at.shop());
  await expect(accountName(phonePage)).toHaveText('Ada Shopper');
  await page.goto(at.identity('/sessions'));
  await hydrated(page);
  await expect(page.locator('li.session')).toHaveCount(2);
  await expect(page.locator('li.session--current')).toContainText('This device');
  await page.getByRole('button', { name: 'Sign out everywhere else' }).click();
  await expect(page.locator('li.session')).toHaveCount(1);
  // Every zone learns of it within a second (token mode reads the
  // revocation log every 250 ms), so the phone may need a reload or two.
  await expect(async () => {
    await phonePage.goto(at.shop());
    await expectShell(phonePage, 'shop');
    await expect(phonePage.locator('.account').getByRole('link', { name: 'Sign in' })).toBeVisible({
      timeout: 100,
    });
  }).toPass({ intervals: [100], timeout: 3_000 });
  await phone.close();

  // And signing out here leaves the shop anonymous too.
  await signOut(page);
  await page.goto(at.shop());
  await expect(page.locator('.account').getByRole('link', { name: 'Sign in' })).toBeVisible();
  await page.goto(at.shop('/orders'));
  await expect(page).toHaveURL(providerForm);
  expect(errors).toEqual([]);
});

test('hydrated forms post in place: refusals, the cart emptied, the profile', async ({
  page,
  errors,
}) => {
  const user = uniqueUser('inplace');
  // A page shown with a plain post's error ("InvalidQuantity") keeps the
  // message but, once hydrated, drops it from the address.
  await page.goto(at.shop('/p/field-bottle?x=1&__path=/shop/api/cart/add&__err=IkludmFsaWRRdWFudGl0eSI%3D'));
  await expect(page.locator('.form-error')).toHaveText('Please choose a quantity from 1 to 99.');
  await hydrated(page);
  await expect(page).toHaveURL(urlEndingWith(at.shop('/p/field-bottle?x=1')));
  await signIn(page, user, at.shop('/p/field-bottle'));
  await hydrated(page);
  await page.getByRole('button', { name: 'Add to cart' }).click();
  await expect(page.locator('.form-status')).toHaveText('Added. Your cart holds 1 items.');

  // A mark on the page's window: gone if anything below reloaded the page.
  await page.goto(at.shop('/cart'));
  await hydrated(page);
  await page.evaluate(() => ((window as unknown as { stayed: boolean }).stayed = true));
  const stayed = () => page.evaluate(() => (window as unknown as { stayed?: boolean }).stayed === true);

  // The server refuses what the browser's own checks would have stopped.
  const quantity = page.getByLabel('Quantity of Field bottle');
  await quantity.evaluate((input) => input.removeAttribute('max'));
  await quantity.fill('500');
  await page.getByRole('button', { name: 'Update' }).click();
  await expect(page.locator('.form-error')).toHaveText('Please choose a quantity from 1 to 99.');
  await expect(page.locator('.cart__total')).toHaveText('€32.00');

  // The same form submitted twice in one go posts once, in place.
  const updates: string[] = [];
  page.on('request', (r) => {
    if (r.method() === 'POST' && r.url().endsWith('/shop/api/cart/update')) updates.push(r.url());
  });
  await quantity.fill('2');
  await page.locator('form.cart-line__quantity').evaluate((form: HTMLFormElement) => {
    form.requestSubmit();
    form.requestSubmit();
  });
  await expect(page.locator('.cart__total')).toHaveText('€64.00');
  await expect(page.locator('form[aria-busy]')).toHaveCount(0);
  expect(updates).toHaveLength(1);
  await expect(page.locator('.cart__count')).toHaveText('2 items');
  await expect(page.locator('.form-status')).toHaveText('Cart updated: 2 items, €64.00.');
  await expect(page.locator('.form-error')).toHaveText('');
  await expect(badge(page)).toHaveText('2');

  // The last line removed: the empty notice instead of the table.
  await page.getByRole('button', { name: 'Remove' }).click();
  await expect(page.locator('tr.cart-line')).toHaveCount(0);
  await expect(page.getByRole('heading', { name: 'Your cart is empty' })).toBeVisible();
  await expect(page.locator('table.cart')).toBeHidden();
  await expect(page.getByRole('button', { name: 'Place order' })).toBeHidden();
  await expect(badge(page)).toHaveText('0');
  expect(await stayed()).toBe(true);

  // The profile: a refused name says why, a good one is confirmed.
  await page.goto(at.identity('/profile'));
  await hydrated(page);
  await page.evaluate(() => ((window as unknown as { stayed: boolean }).stayed = true));
  await page.getByLabel('Display name').fill('   ');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.locator('.form-error')).toHaveText('Please enter a name.');
  await page.getByLabel('Display name').fill('In Place');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.locator('.form-status')).toContainText('In Place');
  await expect(page.locator('.form-error')).toHaveText('');
  expect(await stayed()).toBe(true);
  // Chromium logs every 4xx answer to fetch; exactly the two refusals asked
  // for above are allowed, anything else fails the test.
  const refusals = errors.filter((e) => e.includes('status of 422 (Unprocessable Entity)'));
  expect(refusals).toHaveLength(2);
  errors.splice(0, errors.length, ...errors.filter((e) => !refusals.includes(e)));
  expect(errors).toEqual([]);
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('every form works before (and without) hydration', async ({ page }) => {
    const user = uniqueUser('nojs');

    // Anonymous add to cart → sign in → back on the product, item added.
    await page.goto(at.shop('/p/oak-coasters'));
    await page.getByLabel('Quantity').fill('2');
    await page.getByRole('button', { name: 'Add to cart' }).click();
    await signInAtProvider(page, user);
    await expect(page).toHaveURL(urlEndingWith(at.shop('/p/oak-coasters?added=2')));
    await expect(page.locator('.notice')).toContainText('Added 2 to your cart');
    await expect(page.locator('html[data-hydrated]')).toHaveCount(0);

    // A second product, then the cart: update and remove by plain posts.
    await page.goto(at.shop('/p/field-bottle'));
    await page.getByRole('button', { name: 'Add to cart' }).click();
    await expect(page).toHaveURL(urlEndingWith(at.shop('/p/field-bottle')));
    await page.goto(at.shop('/cart'));
    await expect(page.locator('tr.cart-line')).toHaveCount(2);
    await page.getByLabel('Quantity of Oak coasters').fill('5');
    await page.locator('tr[data-slug="oak-coasters"]').getByRole('button', { name: 'Update' }).click();
    await expect(page).toHaveURL(urlEndingWith(at.shop('/cart')));
    await expect(page.locator('.cart__total')).toHaveText('€112.00');
    await page.locator('tr[data-slug="field-bottle"]').getByRole('button', { name: 'Remove' }).click();
    await expect(page.locator('tr.cart-line')).toHaveCount(1);
    await expect(page.locator('.cart__total')).toHaveText('€80.00');

    // Place the order: straight to its page.
    await page.getByRole('button', { name: 'Place order' }).click();
    await expect(page).toHaveURL(urlEndingWith(at.shop('/orders/'), '[A-Za-z0-9_-]+'));
    await expect(page.locator('.order__total')).toHaveText('€80.00');

    // Profile: a refused name shows its error, a good one the header.
    await page.goto(at.identity('/profile'));
    await page.getByLabel('Display name').fill('   ');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect(page.locator('.form-error')).toHaveText('Please enter a name.');
    await page.getByLabel('Display name').fill('Plain Form');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect(accountName(page)).toHaveText('Plain Form');

    // The user menu is open without JavaScript; sign out from it: the
    // provider's sign-out too, back on the signed-out page.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expectSignedOutPage(page);
    await page.goto(at.shop());
    await expect(page.locator('.account').getByRole('link', { name: 'Sign in' })).toBeVisible();
  });
});
