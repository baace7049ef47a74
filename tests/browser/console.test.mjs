// The web console in headless Chromium against a real `flare serve`:
// two users chat 1:1 and in a group, one goes offline and comes back to
// every message in order, an image shows its thumbnail, recall / edit /
// reaction reach the other side, the admin view shows who is online and
// a chart with data. Run by tests/browser/run.mjs (ctest BrowserConsole),
// which passes BROWSER_TEST_FLARE, BROWSER_TEST_WEB_DIR and BROWSER_TEST_SCREENSHOTS.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { makePng, startFlare, startHookReceiver, waitForTexts } from './support.mjs';

const shots = process.env.BROWSER_TEST_SCREENSHOTS;
const CHROMIUM = process.env.BROWSER_TEST_CHROMIUM ?? '/usr/bin/chromium';
let server;
let browser;
let hookReceiver;
const pageErrors = [];

before(async () => {
  hookReceiver = await startHookReceiver();
  // A post_send hook, so the admin view has a hook with statistics to show.
  server = await startFlare(process.env.BROWSER_TEST_FLARE, process.env.BROWSER_TEST_WEB_DIR, {
    extraConfig: `
[[hooks]]
name = "audit"
point = "post_send"
url = "${hookReceiver.url}"
secret = "0123456789abcdef0123"
`,
  });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox'],
  });
  fs.mkdirSync(shots, { recursive: true });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  hookReceiver?.close();
});

async function screenshot(page, name) {
  await page.screenshot({ path: path.join(shots, `${name}.png`) });
}

/** A browser context for one user's device, signed in through the page. */
async function signIn(user, device = `${user}-web`) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  page.on('pageerror', (e) => pageErrors.push(`${user}: ${e.message}`));
  await page.goto(`${server.base}/`);
  await page.getByTestId('signin-user').fill(user);
  await page.getByTestId('signin-device').fill(device);
  await page.getByTestId('signin-button').click();
  try {
    await online(page);
  } catch (e) {
    const why = await page.getByTestId('signin-error').textContent();
    throw new Error(`${user} did not get online: ${why || e.message}`);
  }
  return { context, page };
}

const online = (page) =>
  page.locator('[data-testid=connection-state][data-state=online]').waitFor();
const conversation = (page, title) =>
  page.locator(`[data-testid=conversation-item][data-title="${title}"]`);
const exactly = (text) => new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
/** The message bubble whose text is exactly `text`. */
const message = (page, text) =>
  page.locator('[data-testid=message]').filter({
    has: page.locator('[data-testid=message-text]', { hasText: exactly(text) }),
  });

/** Waits for `locator`; a timeout names what the page reported in `errorTestId`. */
async function appears(locator, page, errorTestId) {
  try {
    await locator.waitFor();
  } catch (e) {
    const shown = await page.getByTestId(errorTestId).textContent();
    throw new Error(`${e.message}\npage says: ${shown}`);
  }
}

async function send(page, text) {
  await page.getByTestId('composer-input').fill(text);
  await page.getByTestId('composer-input').press('Enter');
  await message(page, text).waitFor();
}

test('the console: 1:1 and group chat, offline catch-up, events, history, admin view', async () => {
  const alice = await signIn('alice');
  const bob = await signIn('bob');

  // 1:1: alice opens a chat with bob; bob sees it with an unread count.
  await alice.page.getByTestId('peer-input').fill('bob');
  await alice.page.getByTestId('open-peer').click();
  await send(alice.page, 'hello bob');
  await conversation(bob.page, 'alice')
    .getByTestId('unread-badge')
    .filter({ hasText: '1' })
    .waitFor();
  await screenshot(bob.page, '01-bob-unread');
  await conversation(bob.page, 'alice').click();
  await message(bob.page, 'hello bob').waitFor();
  // bob read it: alice gets the read receipt; bob's typing reaches alice.
  await message(alice.page, 'hello bob')
    .getByTestId('receipt')
    .filter({ hasText: 'Read' })
    .waitFor();
  await bob.page.getByTestId('composer-input').pressSequentially('hi');
  await alice.page.getByTestId('typing-indicator').filter({ hasText: 'bob is typing' }).waitFor();
  await bob.page.getByTestId('composer-input').press('Enter');
  await message(alice.page, 'hi').waitFor();
  await alice.page.getByTestId('peer-presence').filter({ hasText: 'online' }).waitFor();
  await screenshot(alice.page, '02-alice-1to1');

  // Group: alice creates "team" with bob; bob sees it and its message.
  await alice.page.getByTestId('group-name').fill('team');
  await alice.page.getByTestId('group-members').fill('bob');
  await alice.page.getByTestId('create-group').click();
  await alice.page.getByTestId('conversation-title').filter({ hasText: 'team' }).waitFor();
  await send(alice.page, 'hello team');
  await conversation(bob.page, 'team').click();
  await message(bob.page, 'hello team').waitFor();
  await bob.page.getByTestId('system-message').filter({ hasText: 'alice created' }).waitFor();
  await send(bob.page, 'team reply');
  await message(alice.page, 'team reply').waitFor();
  await message(alice.page, 'hello team')
    .getByTestId('receipt')
    .filter({ hasText: 'Read by 1/1' })
    .waitFor();
  await alice.page.getByTestId('add-member-input').fill('carol');
  await alice.page.getByTestId('add-member-button').click();
  await bob.page.getByTestId('system-message').filter({ hasText: 'alice added carol' }).waitFor();
  await screenshot(bob.page, '03-bob-group');

  // bob loses the network; alice sends while he is away; he comes back to
  // every message, in order, once.
  await conversation(bob.page, 'alice').click();
  await bob.context.setOffline(true);
  // Closing the socket from inside stands for the connection the lost
  // network breaks; reconnect attempts fail until the network is back.
  await bob.page.evaluate(() => window.flare.ws?.close(4999, 'network lost'));
  await bob.page.locator('[data-testid=connection-state]:not([data-state=online])').waitFor();
  await conversation(alice.page, 'bob').click();
  // bob's presence went offline with his last device.
  await alice.page.getByTestId('peer-presence').filter({ hasText: 'offline' }).waitFor();
  const away = ['away 1', 'away 2', 'away 3', 'away 4', 'away 5'];
  for (const text of away) await send(alice.page, text);
  await bob.context.setOffline(false);
  await online(bob.page);
  await waitForTexts(bob.page, '[data-testid=message-list] [data-testid=message-text]', [
    'hello bob',
    'hi',
    ...away,
  ]);
  await screenshot(bob.page, '04-bob-caught-up');

  // Events: alice edits and recalls, bob reacts; each side sees the other's.
  const edited = message(alice.page, 'away 1');
  await edited.hover();
  await edited.getByTestId('edit-button').click();
  await alice.page.getByTestId('composer-input').fill('away 1 (edited)');
  await alice.page.getByTestId('composer-input').press('Enter');
  await message(bob.page, 'away 1 (edited)').getByTestId('message-edited').waitFor();
  await message(alice.page, 'away 1 (edited)').getByTestId('message-edited').waitFor();

  const recalled = message(alice.page, 'away 2');
  await recalled.hover();
  await recalled.getByTestId('recall-button').click();
  await bob.page.locator('[data-testid=message][data-status=recalled]').waitFor();
  await alice.page.locator('[data-testid=message][data-status=recalled]').waitFor();
  assert.equal(await message(bob.page, 'away 2').count(), 0);

  const liked = message(bob.page, 'away 3');
  await liked.hover();
  await liked.getByTestId('react-button').click();
  await message(bob.page, 'away 3')
    .locator('[data-testid=reaction][data-emoji="👍"]', { hasText: '1' })
    .waitFor();
  await message(alice.page, 'away 3')
    .locator('[data-testid=reaction][data-emoji="👍"]', { hasText: '1' })
    .waitFor();
  await screenshot(alice.page, '05-alice-events');
  await screenshot(bob.page, '06-bob-events');

  // History: a new device of alice's loads the last 50 messages of a long
  // conversation and the older ones when scrolled to the top.
  await alice.page.evaluate(async () => {
    for (let i = 1; i <= 60; i++) await window.flare.sendText('carol', `history ${i}`);
  });
  const tablet = await signIn('alice', 'alice-tablet');
  await conversation(tablet.page, 'carol').click();
  await message(tablet.page, 'history 60').waitFor();
  const texts = () =>
    tablet.page.$$eval('[data-testid=message-text]', (els) => els.map((e) => e.textContent));
  assert.deepEqual((await texts())[0], 'history 11');
  await tablet.page.getByTestId('message-list').evaluate((el) => (el.scrollTop = 0));
  await message(tablet.page, 'history 1').waitFor();
  assert.deepEqual(
    await texts(),
    Array.from({ length: 60 }, (_, i) => `history ${i + 1}`),
  );
  await screenshot(tablet.page, '07-alice-tablet-history');
  await tablet.context.close();

  // The admin view: both users online, a chart with data.
  const admin = await browser.newContext();
  const adminPage = await admin.newPage();
  adminPage.on('pageerror', (e) => pageErrors.push(`admin: ${e.message}`));
  await adminPage.goto(`${server.base}/admin.html?poll_ms=300`);
  await appears(
    adminPage.locator('[data-testid=online-user][data-user=alice]'),
    adminPage,
    'admin-error',
  );
  await adminPage.locator('[data-testid=online-user][data-user=bob]').waitFor();
  // A rate point needs two scrapes; a latency point a send between two.
  await adminPage.locator('[data-testid=chart-rate]:not([data-points="0"])').waitFor();
  await send(alice.page, 'while the admin watches');
  await adminPage.locator('[data-testid=chart-latency]:not([data-points="0"])').waitFor();
  // The hook and its calls (every message above was a post_send call).
  await adminPage.waitForFunction(() => {
    const cell = document.querySelector('[data-hook=audit] [data-testid=hook-calls]');
    return cell && Number(cell.textContent) > 0;
  });
  assert.ok(hookReceiver.calls() > 0);

  // An API key: created (its secret shown once), listed, revoked.
  await adminPage.getByTestId('apikey-tenant').fill('default');
  await adminPage.getByTestId('apikey-create').click();
  await appears(adminPage.getByTestId('apikey-secret'), adminPage, 'admin-error');
  await adminPage
    .locator('[data-testid=apikey][data-revoked=false]')
    .getByTestId('apikey-revoke')
    .click();
  await adminPage.locator('[data-testid=apikey][data-revoked=true]').waitFor();
  await screenshot(adminPage, '08-admin');

  assert.deepEqual(pageErrors, []);
});

test('an image upload shows its thumbnail on both sides', async () => {
  const alice = await signIn('alice', 'alice-photos');
  const bob = await signIn('bob', 'bob-photos');
  await alice.page.getByTestId('peer-input').fill('bob');
  await alice.page.getByTestId('open-peer').click();
  await send(alice.page, 'a picture:');
  await conversation(bob.page, 'alice').click();
  // alice uploads it; both see its thumbnail.
  await alice.page.getByTestId('file-input').setInputFiles({
    name: 'gradient.png',
    mimeType: 'image/png',
    buffer: makePng(),
  });
  for (const page of [alice.page, bob.page]) {
    const img = page.getByTestId('message-image').last();
    await appears(img, page, 'flash');
    await page.waitForFunction(
      (el) => el.complete && el.naturalWidth > 0 && el.src.includes('/thumbnail'),
      await img.elementHandle(),
    );
  }
  await screenshot(bob.page, '09-bob-image');

  await alice.context.close();
  await bob.context.close();
  assert.deepEqual(pageErrors, []);
});
