// The dashboard's budgets (dashboard.md §3), measured in Debian's chromium by bench/run.sh against
// a release sunkeep holding the benchmark year: bytes transferred for a first load (an empty
// cache), how long after navigation the Now page shows values, and how long after its data
// arrived the History chart of a year at 1 h steps is drawn (the page's performance marks).
// Prints one line per figure; the best and the median of --runs runs.
import { chromium } from 'playwright-core';

const args = Object.fromEntries(process.argv.slice(2).map((a) => [a.slice(2, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]));
const base = args.url;
const runs = Number(args.runs ?? 3);
const summary = (xs) => {
  if (xs.length === 0) return 'not measured';
  const s = [...xs].sort((a, b) => a - b);
  return `best ${s[0].toFixed(0)}, median ${s[Math.floor(s.length / 2)].toFixed(0)}`;
};

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync'],
});
const transferred = [];
const nowVisible = [];
const historyDrawn = [];
const points = [];
try {
  for (let run = 0; run < runs; ++run) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const files = [];
    page.on('requestfinished', (r) => { if (!new URL(r.url()).pathname.startsWith('/api/')) files.push(r); });
    const start = Date.now();
    await page.goto(`${base}/#/`);
    await page.waitForFunction(() => {
      const el = document.querySelector('[data-testid="now-pv"], [data-testid="now-grid"], [data-testid="now-load"]');
      return el && !el.textContent.includes('…');
    });
    nowVisible.push(Date.now() - start);
    let bytes = 0;
    for (const r of files) {
      const sizes = await r.sizes();
      bytes += sizes.responseBodySize + sizes.responseHeadersSize;
    }
    transferred.push(bytes);

    await page.goto(`${base}/#/history?from=${args.from}&to=${args.to}&step=3600`);
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="history-chart"]')?.dataset.points ?? 0) > 0,
                               null, { timeout: 60000 });
    await page.waitForTimeout(300);
    const ms = await page.evaluate(() => {
      const data = performance.getEntriesByName('sunkeep:history-data').at(-1);
      const drawn = data && performance.getEntriesByName('sunkeep:chart-drawn').filter((m) => m.startTime >= data.startTime).at(-1);
      return drawn ? drawn.startTime - data.startTime : null;
    });
    if (ms === null) console.log('dashboard History: no drawn mark after the data mark (not measured this run)');
    else historyDrawn.push(ms);
    points.push(Number(await page.locator('[data-testid="history-chart"]').getAttribute('data-points')));
    await context.close();
  }
} finally {
  await browser.close();
}
console.log(`dashboard first load: ${summary(transferred)} bytes transferred (gzip, headers included; budget 150,000)`);
console.log(`dashboard Now values visible after navigation: ${summary(nowVisible)} ms (budget 1,000)`);
console.log(`dashboard History, a year at 1 h steps (${points[0]} points): drawn ${summary(historyDrawn)} ms after its data arrived (budget 300)`);
