// The first page loads only its own module; the others come when one of their pages opens. A
// page whose module cannot be fetched (a phone that lost its connection) says so, and the app
// goes on working.
export default async function modules({ base: BASE, browser, check, fail }) {
  const context = await browser.newContext({ viewport: { width: 360, height: 800 }, locale: 'ru-RU' });
  const page = await context.newPage();
  const fetched = [];
  page.on('request', r => { if (/\/assets\/page-[0-9a-f]+\.wasm$/.test(r.url())) fetched.push(r.url()); });
  page.on('pageerror', e => fail(`page error: ${e.message}`));
  try {
    await page.goto(`${BASE}/login`);
    await page.getByRole('heading', { name: 'Вход' }).waitFor();
    check(fetched.length === 0, 'modules: the login page loads no page module');

    await page.route(/\/assets\/page-[0-9a-f]+\.wasm$/, route => route.abort('internetdisconnected'));
    await page.getByRole('link', { name: 'Зарегистрироваться' }).click();
    await page.getByText('Не удалось загрузить страницу').waitFor();
    check(true, 'modules: a module that cannot be fetched is reported in the page');

    await page.unroute(/\/assets\/page-[0-9a-f]+\.wasm$/);
    await page.goto(`${BASE}/register`);
    await page.getByRole('heading', { name: 'Регистрация' }).waitFor();
    check(fetched.length > 0, 'modules: the registration page comes with its module');
  } finally {
    await context.close();
  }
}
