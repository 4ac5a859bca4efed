// The account screens in the browser: registration (gmail refused in the page), the link
// from the received mail, login, session restore on reload, ☰ menu, settings (profile,
// password, e-mail), logout, protected pages, password reset, e-mail change.
export default async function auth({ base: BASE, browser, linkFor, shots: SHOTS, check, fail }) {
  const stamp = Date.now().toString(36);
  const email = `tester.${stamp}@mail.ru`;
  const newEmail = `renamed.${stamp}@yandex.ru`;
  const password = 'Тёплый-дом-2024!';
  const password2 = 'Новый-пароль-2025?';
  const password3 = 'Третий-пароль-2026#';


  const context = await browser.newContext({ viewport: { width: 360, height: 800 }, locale: 'ru-RU' });
  const page = await context.newPage();
  const apiCalls = [];
  page.on('request', r => { if (r.url().includes('/api/v1/')) apiCalls.push(`${r.method()} ${new URL(r.url()).pathname}`); });
  page.on('console', m => { if (m.type() === 'error' && !m.text().includes('401')) console.log('console:', m.text()); });
  page.on('pageerror', e => fail(`page error: ${e.message}`));

  try {
    // Login page. The first load (a new context, nothing cached) is timed: from navigation to
    // the form rendered by the WebAssembly and taking input. Printed as a figure, not asserted.
    const started = performance.now();
    await page.goto(`${BASE}/login`, { waitUntil: 'commit' });
    await page.getByLabel('Email').fill('x');
    const interactiveMs = performance.now() - started;
    await page.getByLabel('Email').fill('');
    const transfer = await page.evaluate(() => performance.getEntriesByType('resource')
      .filter(r => /\.(wasm|js|css)$/.test(new URL(r.name).pathname))
      .reduce((sum, r) => sum + r.encodedBodySize, 0));
    console.log(`figure: login form interactive ${interactiveMs.toFixed(0)} ms after navigation (first load); wasm+js+css transferred ${(transfer / 1024).toFixed(0)} KiB`);
    await page.getByRole('heading', { name: 'Вход' }).waitFor();
    check(await page.getByLabel('Email').isVisible(), 'login: Email field has a label');
    check(await page.getByLabel('Пароль').isVisible(), 'login: Пароль field has a label');
    check(await page.getByLabel('Запомнить меня?').isVisible(), 'login: Запомнить меня? checkbox');
    for (const link of ['Забыли пароль ?', 'Зарегистрироваться', 'Отправить повторно подтверждение на почту']) {
      check(await page.getByRole('link', { name: link }).isVisible(), `login: link «${link}»`);
    }
    await page.getByText('8(8412)21-07-21').waitFor({ timeout: 5000 });
    check(true, 'footer shows the hotline');
    await page.getByRole('button', { name: 'Войти' }).click();
    check(await page.getByText('Введите адрес электронной почты.').isVisible(), 'login: empty form refused in the page');
    check(await page.evaluate(() => document.activeElement?.id) === 'email', 'login: focus goes to the first invalid field');

    // Registration: gmail refused before any request.
    await page.getByRole('link', { name: 'Зарегистрироваться' }).click();
    await page.getByRole('heading', { name: 'Регистрация' }).waitFor();
    check(await page.getByText('406-ФЗ').first().isVisible(), 'register: the 406-ФЗ note is shown');
    await page.getByLabel('Email').fill('ivan@gmail.com');
    await page.getByLabel('ФИО').fill('Иванов Иван Иванович');
    await page.getByLabel('Номер телефона').fill('7(987)-654-32-10');
    await page.getByLabel('Пароль', { exact: true }).fill(password);
    await page.getByLabel('Подтверждения пароля').fill(password);
    await page.getByLabel('Подтвердить обработку перс данных').check();
    const before = apiCalls.length;
    await page.getByRole('button', { name: 'Регистрация' }).click();
    await page.locator('#email-error').waitFor();
    check((await page.locator('#email-error').textContent()).includes('406-ФЗ'), 'register: gmail refused next to the field');
    check(apiCalls.slice(before).every(c => !c.includes('/auth/register')), 'register: no request sent for gmail');
    await page.screenshot({ path: `${SHOTS}/register-gmail-360.png`, fullPage: true });

    // Phone with + refused on blur.
    await page.getByLabel('Номер телефона').fill('+79876543210');
    await page.getByLabel('Номер телефона').blur();
    check((await page.locator('#phone-error').textContent()).includes('«+»'), 'register: phone with + refused as the field is left');
    await page.getByLabel('Номер телефона').fill('7(987)-654-32-10');

    // Registration succeeds.
    await page.getByLabel('Email').fill(email);
    let since = Date.now() - 1000;
    await page.getByRole('button', { name: 'Регистрация' }).click();
    await page.locator('.alert-success').waitFor();
    check(true, 'register: success notice: ' + (await page.locator('.alert-success').textContent()));
    const confirmLink = await linkFor(email, '/confirm-email', since);

    // Login before confirmation.
    await page.goto(`${BASE}/login`);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Пароль').fill(password);
    await page.getByRole('button', { name: 'Войти' }).click();
    await page.locator('.alert-error').waitFor();
    check((await page.locator('.alert-error').textContent()).includes('не подтверждён'), 'login: unconfirmed account is told so');
    check(await page.locator('.alert-action a').isVisible(), 'login: resend link offered');

    // Confirmation page: nothing consumed until the button is pressed.
    const callsBefore = apiCalls.length;
    await page.goto(confirmLink);
    await page.getByRole('button', { name: 'Подтвердить email' }).waitFor();
    check(apiCalls.slice(callsBefore).every(c => !c.includes('confirm-email')), 'confirm: opening the page sends nothing');
    await page.getByRole('button', { name: 'Подтвердить email' }).click();
    await page.locator('.alert-success').waitFor();
    check((await page.locator('.alert-success').textContent()).includes('Готово'), 'confirm: «Готово!»');

    // Login.
    await page.getByRole('link', { name: 'Войти' }).click();
    await page.getByLabel('Email').fill(email.toUpperCase());
    await page.getByLabel('Пароль').fill(password);
    await page.getByLabel('Запомнить меня?').check();
    await page.getByRole('button', { name: 'Войти' }).click();
    await page.getByRole('heading', { name: 'Панель операций' }).waitFor();
    check(page.url() === `${BASE}/`, 'login: lands on the main page');
    for (const tile of ['Мои лицевые счета', 'Передача показаний', 'Приборы учета', 'Мои заявления', 'Настройки']) {
      check(await page.locator('.tiles').getByText(tile).isVisible(), `main: tile «${tile}»`);
    }
    await page.getByText('Здравствуйте, Иванов Иван Иванович!').waitFor();
    check(true, 'main: greets the user by name');
    check(!(await page.evaluate(() => JSON.stringify(localStorage) + JSON.stringify(sessionStorage))).includes('ey'), 'no token in web storage');
    await page.screenshot({ path: `${SHOTS}/main-360.png`, fullPage: true });

    // Reload: the session is restored from the refresh cookie.
    await page.reload();
    await page.getByRole('heading', { name: 'Панель операций' }).waitFor();
    check(true, 'reload: session restored');

    // Two tabs restored at once refresh in turn (one refresh cookie, rotated on every use: the
    // same one sent twice would end the session).
    const second = await context.newPage();
    await second.goto(`${BASE}/`);
    await second.getByRole('heading', { name: 'Панель операций' }).waitFor();
    await Promise.all([page.reload(), second.reload()]);
    const signedIn = tab => tab.getByText('Здравствуйте, Иванов Иван Иванович!')
      .waitFor({ timeout: 10000 }).then(() => true, () => false);
    const both = await Promise.all([signedIn(page), signedIn(second)]);
    check(both.every(Boolean), 'two tabs reloaded at once both stay signed in');
    await second.close();
    await page.reload();
    await page.getByRole('heading', { name: 'Панель операций' }).waitFor();
    check(true, 'the session outlives the two refreshes');

    // ☰ menu, keyboard.
    await page.getByRole('button', { name: 'Меню' }).click();
    check(await page.locator('#side-menu').isVisible(), 'menu: opens');
    await page.screenshot({ path: `${SHOTS}/menu-360.png` });
    await page.keyboard.press('Escape');
    check(!(await page.locator('#side-menu').isVisible()), 'menu: Escape closes it');
    check(await page.evaluate(() => document.activeElement?.id) === 'menu-button', 'menu: focus back on ☰');
    await page.getByRole('button', { name: 'Меню' }).click();
    await page.locator('#side-menu').getByRole('link', { name: 'Передача показаний' }).click();
    await page.getByRole('heading', { name: 'Передача показаний' }).waitFor();
    check(!(await page.locator('#side-menu').isVisible()), 'menu: closes after a link');

    // Settings: profile.
    await page.goto(`${BASE}/settings`);
    await page.getByRole('heading', { name: 'Управление аккаунтом' }).waitFor();
    await page.waitForFunction(() => document.querySelector('#phone')?.value === '79876543210');
    check(true, 'profile: form filled from the profile');
    await page.getByLabel('Номер телефона').fill('+79001112233');
    await page.getByRole('button', { name: 'Сохранить' }).click();
    check((await page.locator('#phone-error').textContent()).includes('«+»'), 'profile: + refused in the page');
    await page.getByLabel('Номер телефона').fill('7 900 111-22-33');
    await page.getByRole('button', { name: 'Сохранить' }).click();
    await page.getByText('Изменения сохранены.').waitFor();
    check(await page.locator('#phone').inputValue() === '79001112233', 'profile: saved and normalised');
    await page.screenshot({ path: `${SHOTS}/settings-profile-360.png`, fullPage: true });

    // Settings: password, a server field error next to its field.
    await page.getByRole('link', { name: 'Пароль' }).click();
    await page.getByRole('heading', { name: 'Изменение пароля' }).waitFor();
    await page.getByLabel('Текущий пароль').fill('неверный-пароль');
    await page.getByLabel('Новый пароль').fill(password2);
    await page.getByLabel('Подтверждение пароля').fill(password2);
    await page.getByRole('button', { name: 'Обновить пароль' }).click();
    await page.locator('#current_password-error').waitFor();
    check((await page.locator('#current_password-error').textContent()).includes('Неверный текущий пароль'), 'password: server field error next to «Текущий пароль»');
    check((await page.locator('.alert-error').textContent()).length > 0, 'password: detail at the top of the form');
    await page.getByLabel('Текущий пароль').fill(password);
    await page.getByRole('button', { name: 'Обновить пароль' }).click();
    await page.locator('.alert-success').waitFor();
    check(true, 'password: changed');

    // Settings: e-mail.
    await page.getByRole('link', { name: 'Email', exact: true }).click();
    await page.getByText(email).waitFor();
    check(await page.getByText('После не забудьте подтвердить новую почту.').isVisible(), 'email: the reminder is shown');
    await page.getByLabel('Новый email').fill(newEmail);
    await page.getByLabel('Текущий пароль').fill(password2);
    since = Date.now() - 1000;
    await page.getByRole('button', { name: 'Изменить email' }).click();
    await page.locator('.alert-success').waitFor();
    check(true, 'email: change requested');
    const changeLink = await linkFor(newEmail, '/confirm-email-change', since);

    // Logout.
    await page.getByRole('button', { name: 'Выход' }).first().click();
    await page.getByRole('heading', { name: 'Вход' }).waitFor();
    check(page.url() === `${BASE}/login`, 'logout: back on the login page');
    await page.goto(`${BASE}/settings/email`);
    await page.getByRole('heading', { name: 'Вход' }).waitFor();
    check(page.url().includes('/login?next=/settings/email'), 'protected page redirects to login with next');

    // Confirm the e-mail change, then sign in with the new address, coming back to next.
    await page.goto(changeLink);
    await page.getByRole('button', { name: 'Подтвердить новый email' }).click();
    await page.locator('.alert-success').waitFor();
    check((await page.locator('.alert-success').textContent()).includes(newEmail), 'email change confirmed');

    // Forgot password → reset.
    await page.goto(`${BASE}/login`);
    await page.getByRole('link', { name: 'Забыли пароль ?' }).click();
    // The login page stays until the page's module is loaded.
    await page.getByRole('heading', { name: 'Забыли пароль?' }).waitFor();
    await page.getByLabel('Email').fill(newEmail);
    since = Date.now() - 1000;
    await page.getByRole('button', { name: 'Отправить ссылку' }).click();
    await page.locator('.alert-success').waitFor();
    const resetLink = await linkFor(newEmail, '/reset-password', since);
    await page.goto(resetLink);
    await page.getByLabel('Новый пароль').fill(password3);
    await page.getByLabel('Подтверждение пароля').fill(password3 + 'x');
    await page.getByRole('button', { name: 'Сохранить пароль' }).click();
    check((await page.locator('#password_confirmation-error').textContent()).includes('не совпадают'), 'reset: mismatch refused in the page');
    await page.getByLabel('Подтверждение пароля').fill(password3);
    await page.getByRole('button', { name: 'Сохранить пароль' }).click();
    await page.locator('.alert-success').waitFor();
    check(true, 'reset: password changed');

    await page.goto(`${BASE}/login?next=/settings/email`);
    await page.getByLabel('Email').fill(newEmail);
    await page.getByLabel('Пароль').fill(password3);
    await page.getByRole('button', { name: 'Войти' }).click();
    await page.getByRole('heading', { name: 'Управление аккаунтом' }).waitFor();
    check(page.url() === `${BASE}/settings/email`, 'login with next returns to the page');
    await page.getByText(newEmail).waitFor();
    check(true, 'settings show the new address');

    // Access token expiry simulation: drop the in-memory token by reloading, then navigate.
    await page.reload();
    await page.getByText(newEmail).waitFor();
    check(true, 'reload on a protected page keeps the user there');

    // Desktop layout.
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.screenshot({ path: `${SHOTS}/settings-email-1280.png` });
    await page.goto(`${BASE}/`);
    await page.getByRole('heading', { name: 'Панель операций' }).waitFor();
    await page.screenshot({ path: `${SHOTS}/main-1280.png` });
    await page.getByRole('button', { name: 'Меню' }).click();
    await page.screenshot({ path: `${SHOTS}/menu-1280.png` });
    await page.keyboard.press('Escape');
    await page.setViewportSize({ width: 360, height: 800 });
    await page.getByRole('button', { name: 'Меню' }).click();
    await page.waitForTimeout(200);
    await page.screenshot({ path: `${SHOTS}/menu-360.png` });
    await page.keyboard.press('Escape');

    // Resend confirmation page, prefilled.
    await page.goto(`${BASE}/resend-confirmation?email=${encodeURIComponent(newEmail)}`);
    await page.getByRole('heading', { name: 'Подтверждение почты' }).waitFor();
    check(await page.getByLabel('Email').inputValue() === newEmail, 'resend: e-mail prefilled from the link');

    await page.goto(`${BASE}/confirm-email`);
    await page.getByText('Ссылка неполная').waitFor();
    check(true, 'confirm without token: explained');
    await page.goto(`${BASE}/no-such-page`);
    await page.getByRole('heading', { name: 'Страница не найдена' }).waitFor();
    check(true, '404 page');
  } catch (e) {
    fail(`auth: ${e.message}`);
    await page.screenshot({ path: `${SHOTS}/auth-error.png`, fullPage: true });
  } finally {
    await context.close();
}
}
