// The dashboard's browser test, run by tests/browser_test.cpp against in-process sunkeep servers:
// Debian's chromium (never a downloaded browser) driven by playwright-core. It checks that
//  1. every page (Now, History, Energy, Devices, Device) loads with no console error or warning
//     and no request leaving the sunkeep host, at desktop and phone sizes (no sideways scroll);
//  2. the Now page shows the values of /api/v1/site/latest, and changes without a reload when a
//     simulated SMA Energy Meter sends a captured datagram;
//  3. a device that is offline reads "offline", the meter that just sent reads "online";
//  4. zooming the History chart by dragging changes the URL and the chart;
//  5. the Energy table equals /api/v1/site/energy;
//  6. with a token set the page asks for it, says a wrong one was refused, and works with the right one;
//  7. the dark theme follows the system setting;
// and writes screenshots of every page to --shots. Exit code 0 when every check passed.
import { chromium } from 'playwright-core';
import dgram from 'node:dgram';
import fs from 'node:fs';
import path from 'node:path';

const args = Object.fromEntries(process.argv.slice(2).map((a) => {
  const eq = a.indexOf('=');
  return [a.slice(2, eq), a.slice(eq + 1)];
}));
const base = args.url;
const failures = [];
const check = (ok, what) => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures.push(what);
};

// A displayed power ("1,055 W", "10.5 kW", "—") in W; null for "—".
function watts(text) {
  const t = (text ?? '').trim();
  if (t === '' || t === '—') return null;
  const n = Number(t.replace(/[^0-9.\-]/g, ''));
  return /kW/.test(t) ? n * 1000 : n;
}
const near = (shown, expected) =>
  (shown === null && expected === null) ||
  (shown !== null && expected !== null && Math.abs(shown - expected) <= Math.max(1, Math.abs(expected) * 0.01));

async function api(url, target) {
  const r = await fetch(url + target);
  return r.json();
}

async function sendDatagram() {
  const socket = dgram.createSocket('udp4');
  const bytes = fs.readFileSync(args['meter-datagram']);
  await new Promise((resolve, reject) => socket.send(bytes, Number(args['meter-port']), '127.0.0.1', (e) => (e ? reject(e) : resolve())));
  socket.close();
}

// A page that records console problems and requests to other hosts.
async function watchedPage(context, origin, label) {
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') failures.push(`${label}: console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => failures.push(`${label}: page error: ${e.message}`));
  page.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(origin) && !u.startsWith('data:') && !u.startsWith('blob:')) failures.push(`${label}: request off the host: ${u}`);
  });
  return page;
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(args.shots, `${name}.png`), fullPage: true });
}

const text = (page, id) => page.locator(`[data-testid="${id}"]`).first().innerText();

async function nowPage(page, size) {
  const started = Date.now();
  await page.goto(`${base}/#/`);
  await page.locator('[data-testid="now-grid"]').first().waitFor();
  await page.waitForFunction(() => !document.querySelector('[data-testid="now-grid"]')?.textContent?.includes('…'));
  const visibleMs = Date.now() - started;
  console.log(`     Now values visible ${visibleMs} ms after navigation (${size})`);
  const latest = await api(base, '/api/v1/site/latest');
  for (const [id, metric] of [['now-pv', 'pv_power'], ['now-grid', 'grid_power'], ['now-battery', 'battery_power'], ['now-load', 'load_power']]) {
    const el = page.locator(`[data-testid="${id}"]`);
    if ((await el.count()) === 0) continue;  // a node the site has no source for is hidden
    const shown = watts(await el.first().innerText());
    check(near(shown, latest.metrics[metric].value), `${size}: Now ${id} shows ${shown} for ${latest.metrics[metric].value}`);
  }
  await shot(page, `${size}-now`);
}

async function noSidewaysScroll(page, label) {
  const wide = await page.evaluate(() => document.scrollingElement.scrollWidth - window.innerWidth);
  check(wide <= 1, `${label}: no sideways scroll (${wide} px over)`);
}

async function pages(context, size) {
  const page = await watchedPage(context, base, size);
  await nowPage(page, size);
  await noSidewaysScroll(page, `${size} Now`);

  await page.goto(`${base}/#/devices`);
  await page.locator('[data-testid="device-row"]').first().waitFor();
  const state = async (id) => page.locator(`[data-testid="device-row"][data-id="${id}"] [data-testid="device-state"]`).first().innerText();
  check((await state('alphaess:E1')).trim() === 'offline', `${size}: alphaess:E1 (last heard in March) reads offline`);
  await shot(page, `${size}-devices`);
  await noSidewaysScroll(page, `${size} Devices`);

  await page.goto(`${base}/#/devices/${encodeURIComponent('alphaess:E1')}`);
  await page.getByText('pv_energy_total').first().waitFor();
  await shot(page, `${size}-device`);

  const from = 1774652400;  // 2026-03-28T00:00+01:00 (seeded)
  await page.goto(`${base}/#/history?from=${from}&to=${from + 86400}`);
  const chart = page.locator('[data-testid="history-chart"]');
  await page.waitForFunction(() => Number(document.querySelector('[data-testid="history-chart"]')?.dataset.points ?? 0) > 0);
  await shot(page, `${size}-history`);
  await noSidewaysScroll(page, `${size} History`);

  await page.goto(`${base}/#/energy?period=day&month=2026-03`);
  await page.locator('[data-testid="energy-table"] tr[data-start]').first().waitFor();
  await shot(page, `${size}-energy`);
  await noSidewaysScroll(page, `${size} Energy`);
  await page.close();
  return chart;
}

async function liveChange(context) {
  const page = await watchedPage(context, base, 'live');
  await page.goto(`${base}/#/`);
  await page.locator('[data-testid="now-grid"]').first().waitFor();
  await page.evaluate(() => { window.__stillTheSamePage = true; });
  const before = watts(await text(page, 'now-grid'));
  await sendDatagram();
  const sent = Date.now();
  let changed = false;
  try {
    await page.waitForFunction(() => /1[,.]?05[45]/.test(document.querySelector('[data-testid="now-grid"]')?.textContent ?? ''), null, { timeout: 5000 });
    changed = true;
  } catch { /* reported below */ }
  const after = watts(await text(page, 'now-grid'));
  check(changed && near(after, 1054.6), `Now grid changed from ${before} to ${after} W within ${Date.now() - sent} ms of the datagram`);
  check(await page.evaluate(() => window.__stillTheSamePage === true), 'the Now page changed without a reload');
  await page.goto(`${base}/#/devices`);
  const meter = page.locator('[data-testid="device-row"][data-id="sma:1901429669"] [data-testid="device-state"]');
  await meter.first().waitFor();
  check((await meter.first().innerText()).trim() === 'online', 'the meter that just sent reads online');
  await page.close();
}

async function historyZoom(context) {
  const page = await watchedPage(context, base, 'zoom');
  const from = 1774652400;
  await page.goto(`${base}/#/history?from=${from}&to=${from + 86400}`);
  await page.waitForFunction(() => Number(document.querySelector('[data-testid="history-chart"]')?.dataset.points ?? 0) > 0);
  const points = async () => Number(await page.locator('[data-testid="history-chart"]').getAttribute('data-points'));
  const beforeHash = await page.evaluate(() => location.hash);
  const beforePoints = await points();
  const over = page.locator('[data-testid="history-chart"] .u-over').first();
  const box = await over.boundingBox();
  await page.mouse.move(box.x + box.width * 0.25, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2, { steps: 8 });
  await page.mouse.up();
  await page.waitForFunction((h) => location.hash !== h, beforeHash, { timeout: 5000 }).catch(() => {});
  const afterHash = await page.evaluate(() => location.hash);
  await page.waitForTimeout(500);
  const params = new URLSearchParams(afterHash.split('?')[1] ?? '');
  const span = Number(params.get('to')) - Number(params.get('from'));
  check(afterHash !== beforeHash && span > 0 && span < 86400, `History zoom put a shorter range in the URL (${beforeHash} → ${afterHash})`);
  check((await points()) !== beforePoints, `History zoom redrew the chart (${beforePoints} → ${await points()} points)`);
  await page.close();
}

async function energyEqualsApi(context) {
  const page = await watchedPage(context, base, 'energy');
  await page.goto(`${base}/#/energy?period=day&month=2026-03`);
  await page.locator('[data-testid="energy-table"] tr[data-start]').first().waitFor();
  const answer = await api(base, '/api/v1/site/energy?period=day&from=2026-02-28T23:00:00Z&to=2026-03-31T22:00:00Z');
  check(answer.rows.length === 3, `the API has 3 March rows (${answer.rows.length})`);
  for (const row of answer.rows) {
    for (const key of ['produced', 'consumed', 'imported', 'exported', 'charged', 'discharged']) {
      const cell = page.locator(`[data-testid="energy-table"] tr[data-start="${row.start}"] [data-key="${key}"]`);
      const shown = (await cell.count()) ? (await cell.first().innerText()).trim() : 'missing';
      const expected = row[key] === null ? '—' : row[key].toFixed(2);
      check(shown.replace(/[^0-9.—-]/g, '') === expected, `Energy ${row.start} ${key}: ${shown} = ${expected}`);
    }
  }
  await page.close();
}

// The page's background in the light and the dark system setting: dark must be darker.
async function darkTheme(browser) {
  const lightness = async (colorScheme) => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme });
    const page = await watchedPage(context, base, `theme ${colorScheme}`);
    await page.goto(`${base}/#/`);
    await page.locator('[data-testid="now-grid"]').first().waitFor();
    const rgb = await page.evaluate(() => getComputedStyle(document.body).backgroundColor.match(/\d+/g).slice(0, 3).map(Number));
    if (colorScheme === 'dark') await shot(page, 'desktop-now-dark');
    await context.close();
    return (rgb[0] + rgb[1] + rgb[2]) / 3;
  };
  const light = await lightness('light');
  const dark = await lightness('dark');
  check(dark < 100 && light > 155, `the theme follows the system: background lightness ${light.toFixed(0)} light, ${dark.toFixed(0)} dark`);
}

async function tokenPrompt(browser) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const origin = args['token-url'];
  const page = await watchedPage(context, origin, 'token');
  // Only the wrong token typed on purpose may be refused (a 401 the browser logs); the page itself
  // learns from health that a token is needed and asks before any request.
  let wrongTokenSent = false;
  page.removeAllListeners('console');
  page.on('console', (m) => {
    const refusedOnPurpose = wrongTokenSent && /401/.test(m.text());
    if ((m.type() === 'error' || m.type() === 'warning') && !refusedOnPurpose) failures.push(`token: console ${m.type()}: ${m.text()}`);
  });
  await page.goto(`${origin}/#/`);
  const form = page.locator('[data-testid="token-form"]');
  await form.waitFor();
  await shot(page, 'desktop-token');
  await form.locator('input').first().fill('wrong');
  wrongTokenSent = true;
  await form.locator('button').first().click();
  await page.locator('[data-testid="token-error"]').waitFor({ timeout: 5000 }).then(() => check(true, 'a wrong token is a clear message'),
    () => check(false, 'a wrong token is a clear message'));
  await page.locator('[data-testid="token-form"] input').first().fill(args.token);
  await page.locator('[data-testid="token-form"] button').first().click();
  await page.locator('[data-testid="welcome"]').waitFor({ timeout: 5000 }).then(() => check(true, 'with the token, the empty database shows the welcome'),
    () => check(false, 'with the token, the empty database shows the welcome'));
  check(/no device has connected yet/i.test(await text(page, 'welcome')), 'the welcome says no device has connected yet');
  await shot(page, 'desktop-welcome');
  await context.close();
}

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync'],
});
try {
  const desktop = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  await pages(desktop, 'desktop');
  await pages(phone, 'phone');
  await liveChange(desktop);
  await historyZoom(desktop);
  await energyEqualsApi(desktop);
  await darkTheme(browser);
  await tokenPrompt(browser);
} catch (e) {
  failures.push(`stopped: ${e.stack ?? e}`);
} finally {
  await browser.close();
}
for (const f of failures) console.log(`FAIL ${f}`);
console.log(failures.length === 0 ? 'all browser checks passed' : `${failures.length} failure(s)`);
process.exit(failures.length === 0 ? 0 : 1);
