// Energy: bars per day of a month or per month of a year, with totals, self-sufficiency and a table.
import { apiPath, ENERGY_KEYS, getJSON, siteZone } from '../api';
import type { EnergyAnswer, EnergyKey, EnergyRow } from '../api';
import { errorText, esc, h, isAbort, setStatus, statusLine } from '../dom';
import { fmtEnergy, fmtEnergyCell, fmtRatio } from '../format';
import { go, href, replace, setTitle } from '../router';
import type { Page, Route } from '../router';
import { validZone, zonedMidnight, zonedParts } from '../time';

interface Sel {
  period: 'day' | 'month';
  y: number;
  m: number; // 1…12 (the month shown with period=day)
}

const LABEL: Record<EnergyKey, string> = {
  produced: 'Produced', consumed: 'Consumed', imported: 'Imported',
  exported: 'Exported', charged: 'Charged', discharged: 'Discharged',
};
// Two stacked bars per period: where the energy came from, and where it went (they balance).
const IN_KEYS: EnergyKey[] = ['produced', 'imported', 'discharged'];
const OUT_KEYS: EnergyKey[] = ['consumed', 'exported', 'charged'];

const pad2 = (n: number) => String(n).padStart(2, '0');

function parseSel(params: URLSearchParams): Sel | null {
  if (params.get('period') === 'month') {
    const y = /^\d{4}$/.test(params.get('year') ?? '') ? Number(params.get('year')) : NaN;
    return Number.isFinite(y) ? { period: 'month', y, m: 1 } : null;
  }
  if ((params.get('period') ?? 'day') === 'day') {
    const mm = /^(\d{4})-(\d{2})$/.exec(params.get('month') ?? '');
    if (mm && +mm[2] >= 1 && +mm[2] <= 12) return { period: 'day', y: +mm[1], m: +mm[2] };
  }
  return null;
}

function selHref(s: Sel): string {
  return s.period === 'month'
    ? href('energy', { period: 'month', year: s.y })
    : href('energy', { period: 'day', month: `${s.y}-${pad2(s.m)}` });
}

function shift(s: Sel, dir: number): Sel {
  if (s.period === 'month') return { ...s, y: s.y + dir };
  const i = s.y * 12 + (s.m - 1) + dir;
  return { period: 'day', y: Math.floor(i / 12), m: (i % 12) + 1 };
}

function bounds(s: Sel, tz: string): [number, number] {
  return s.period === 'month'
    ? [zonedMidnight(s.y, 1, 1, tz), zonedMidnight(s.y + 1, 1, 1, tz)]
    : [zonedMidnight(s.y, s.m, 1, tz), zonedMidnight(s.y, s.m + 1, 1, tz)];
}

function selTitle(s: Sel): string {
  if (s.period === 'month') return String(s.y);
  return new Date(Date.UTC(s.y, s.m - 1, 15)).toLocaleDateString('en-US', { month: 'long', year: 'numeric', timeZone: 'UTC' });
}

function sum(rows: EnergyRow[], k: EnergyKey): number | null {
  let total: number | null = null;
  for (const r of rows) if (typeof r[k] === 'number') total = (total ?? 0) + (r[k] as number);
  return total;
}

function niceStep(raw: number): number {
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  const f = raw / p;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

export function energyPage(root: HTMLElement, route: Route): Page {
  setTitle('Energy');
  let sel: Sel | null = null;
  let tz = 'UTC';
  let rows: EnergyRow[] = [];
  let ctrl: AbortController | null = null;
  let lastWidth = 0;

  const tabs = {
    day: h('a', { href: '#/energy' }, 'Days of a month'),
    month: h('a', { href: '#/energy?period=month' }, 'Months of a year'),
  };
  const prev = h('button', { type: 'button', onclick: () => sel && go(selHref(shift(sel, -1))) }, '◀');
  const next = h('button', { type: 'button', onclick: () => sel && go(selHref(shift(sel, 1))) }, '▶');
  const periodLabel = h('h2', { class: 'period-label', 'aria-live': 'polite' });
  const status = statusLine();
  const totals = h('div', { class: 'tiles' });
  const chart = h('div', { class: 'bars' });
  const legend = h('ul', { class: 'legend' },
    [...IN_KEYS, ...OUT_KEYS].map((k) => h('li', null, h('span', { class: 'swatch e-' + k }), LABEL[k])),
    h('li', null, h('span', { class: 'incomplete-mark' }, '*'), ' incomplete (in progress or data missing; shown lighter)'));
  const tableWrap = h('div', { class: 'table-wrap' });

  root.append(
    h('h1', null, 'Energy'),
    h('div', { class: 'toolbar' },
      h('nav', { class: 'seg', 'aria-label': 'Period' }, tabs.day, tabs.month),
      h('div', { class: 'seg', role: 'group', 'aria-label': 'Move' }, prev, next)),
    h('section', { class: 'card' }, periodLabel, status, totals),
    h('section', { class: 'card', 'aria-label': 'Energy chart' }, chart, legend,
      h('p', { class: 'muted small' }, 'Each period has two bars that balance: where the energy came from ' +
        '(PV, grid, battery) and where it went (home, grid, battery).')),
    h('section', { class: 'card', 'aria-label': 'Energy table' }, tableWrap),
  );

  const ro = new ResizeObserver(() => {
    if (chart.clientWidth !== lastWidth) drawBars();
  });
  ro.observe(chart);

  function slotOf(row: EnergyRow, s: Sel): number {
    const p = zonedParts(Date.parse(row.start), tz);
    if (s.period === 'month') return p.y === s.y ? p.m - 1 : -1;
    return p.y === s.y && p.m === s.m ? p.d - 1 : -1;
  }

  function rowLabel(row: EnergyRow, s: Sel, long: boolean): string {
    const d = new Date(Date.parse(row.start));
    if (s.period === 'month') {
      return d.toLocaleDateString('en-US', { timeZone: tz, month: long ? 'long' : 'short', year: long ? 'numeric' : undefined });
    }
    if (long) return d.toLocaleDateString('en-US', { timeZone: tz, weekday: 'short', day: 'numeric', month: 'short' });
    const wd = d.toLocaleDateString('en-US', { timeZone: tz, weekday: 'short' });
    return `${wd} ${zonedParts(d.getTime(), tz).d}`;
  }

  function drawBars(): void {
    const s = sel;
    if (!s) return;
    const W = Math.max(280, chart.clientWidth || 600);
    lastWidth = chart.clientWidth;
    const H = W < 500 ? 200 : 260;
    const ml = 56, mr = 6, mt = 18, mb = 24;
    const pw = W - ml - mr;
    const ph = H - mt - mb;
    const n = s.period === 'month' ? 12 : new Date(Date.UTC(s.y, s.m, 0)).getUTCDate();
    const slotW = pw / n;
    const bw = Math.max(1, slotW * 0.38);
    const pos = (v: number | null) => Math.max(0, v ?? 0);
    let max = 0;
    for (const r of rows) {
      max = Math.max(max, IN_KEYS.reduce((a, k) => a + pos(r[k]), 0), OUT_KEYS.reduce((a, k) => a + pos(r[k]), 0));
    }
    const step = max > 0 ? niceStep(max / 4) : 1;
    const top = max > 0 ? Math.ceil(max / step) * step : 4;
    const y = (v: number) => mt + ph - (v / top) * ph;
    const parts: string[] = [];
    for (let i = 0; i * step <= top + step / 2; i++) {
      const v = Number((i * step).toPrecision(12));
      parts.push(`<line class="gridline" x1="${ml}" x2="${W - mr}" y1="${y(v)}" y2="${y(v)}"/>` +
        `<text class="axis" x="${ml - 6}" y="${y(v) + 4}" text-anchor="end">${esc(fmtAxisEnergy(v))}</text>`);
    }
    const every = slotW >= 20 ? 1 : slotW >= 10 ? 2 : 5;
    for (let i = 0; i < n; i++) {
      if (s.period === 'day' && i % every !== 0) continue;
      const label = s.period === 'month'
        ? new Date(Date.UTC(2000, i, 15)).toLocaleDateString('en-US', { month: slotW >= 30 ? 'short' : 'narrow', timeZone: 'UTC' })
        : String(i + 1);
      parts.push(`<text class="axis" x="${ml + slotW * (i + 0.5)}" y="${H - 6}" text-anchor="middle">${label}</text>`);
    }
    for (const r of rows) {
      const i = slotOf(r, s);
      if (i < 0 || i >= n) continue;
      const x0 = ml + slotW * i + slotW * 0.1;
      const name = rowLabel(r, s, true);
      const bars = [[IN_KEYS, x0], [OUT_KEYS, x0 + bw + slotW * 0.04]] as const;
      let g = `<g class="${r.complete ? '' : 'incomplete'}">`;
      for (const [keys, x] of bars) {
        let acc = 0;
        for (const k of keys) {
          const v = pos(r[k]);
          if (v <= 0) continue;
          const y1 = y(acc + v);
          g += `<rect class="e-${k}" x="${x.toFixed(1)}" y="${y1.toFixed(1)}" width="${bw.toFixed(1)}" ` +
            `height="${Math.max(0.5, y(acc) - y1).toFixed(1)}"><title>${esc(`${name}: ${LABEL[k].toLowerCase()} ${fmtEnergy(r[k])}`)}</title></rect>`;
          acc += v;
        }
      }
      if (!r.complete) g += `<text class="incomplete-mark" x="${ml + slotW * (i + 0.5)}" y="${mt - 4}" text-anchor="middle">*</text>`;
      parts.push(g + '</g>');
    }
    chart.innerHTML = `<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="` +
      esc(`Energy per ${s.period} of ${selTitle(s)} in kWh; the table below lists the values`) + `">` +
      parts.join('') + '</svg>';
  }

  function drawTable(): void {
    const s = sel;
    if (!s) return;
    const cols = [...ENERGY_KEYS];
    const th = (text: string) => h('th', { scope: 'col' }, text);
    const cells = (src: Record<EnergyKey, number | null>, ratio: number | null) => [
      ...cols.map((k) => h('td', { 'data-key': k }, fmtEnergyCell(src[k]))),
      h('td', { 'data-key': 'self_sufficiency' }, fmtRatio(ratio)),
    ];
    const body = rows.map((r) =>
      h('tr', { 'data-start': r.start, 'data-complete': String(r.complete), class: r.complete ? '' : 'incomplete' },
        h('th', { scope: 'row' }, rowLabel(r, s, false),
          r.complete ? null : h('span', { class: 'incomplete-mark', title: 'incomplete' }, '*', h('span', { class: 'sr-only' }, ' (incomplete)'))),
        cells(r, r.self_sufficiency)));
    const tot = totalsOf();
    tableWrap.replaceChildren(h('table', { 'data-testid': 'energy-table' },
      h('caption', null, `${selTitle(s)}, energy in kWh`),
      h('thead', null, h('tr', null, th(s.period === 'month' ? 'Month' : 'Day'), cols.map((k) => th(LABEL[k])), th('Self-sufficiency'))),
      h('tbody', null, body),
      rows.length ? h('tfoot', null, h('tr', { class: 'total' }, h('th', { scope: 'row' }, 'Total'), cells(tot.values, tot.ratio))) : null));
  }

  function totalsOf(): { values: Record<EnergyKey, number | null>; ratio: number | null } {
    const values = {} as Record<EnergyKey, number | null>;
    for (const k of ENERGY_KEYS) values[k] = sum(rows, k);
    const c = values.consumed;
    const i = values.imported;
    const ratio = c !== null && i !== null && c > 0 ? Math.min(1, Math.max(0, 1 - i / c)) : null;
    return { values, ratio };
  }

  function drawTotals(): void {
    const t = totalsOf();
    totals.replaceChildren(
      ...ENERGY_KEYS.map((k) => h('div', { class: 'tile' }, h('span', { class: 'tile-label' }, LABEL[k]),
        h('span', { class: 'tile-value', 'data-testid': 'energy-total-' + k }, fmtEnergy(t.values[k])))),
      h('div', { class: 'tile' }, h('span', { class: 'tile-label' }, 'Self-sufficiency'),
        h('span', { class: 'tile-value', 'data-testid': 'energy-total-self-sufficiency' }, fmtRatio(t.ratio))));
  }

  async function show(r: Route): Promise<void> {
    ctrl?.abort();
    const c = new AbortController();
    ctrl = c;
    const zone = await siteZone();
    if (c.signal.aborted) return;
    tz = validZone(zone) ? zone : 'UTC';
    let s = parseSel(r.params);
    if (!s) {
      const p = zonedParts(Date.now(), tz);
      const year = /^\d{4}$/.test(r.params.get('year') ?? '') ? Number(r.params.get('year')) : p.y;
      s = r.params.get('period') === 'month' ? { period: 'month', y: year, m: 1 } : { period: 'day', y: p.y, m: p.m };
      replace(selHref(s)); // the period always lives in the URL
    }
    sel = s;
    tabs.day.href = selHref({ period: 'day', y: s.y, m: s.period === 'day' ? s.m : 1 });
    tabs.month.href = selHref({ period: 'month', y: s.y, m: 1 });
    tabs.day.setAttribute('aria-current', String(s.period === 'day'));
    tabs.month.setAttribute('aria-current', String(s.period === 'month'));
    const unit = s.period === 'month' ? 'year' : 'month';
    prev.title = `Previous ${unit}`;
    next.title = `Next ${unit}`;
    const [from, to] = bounds(s, tz);
    next.disabled = bounds(shift(s, 1), tz)[0] > Date.now() / 1000;
    periodLabel.textContent = selTitle(s);
    setStatus(status, 'Loading…');
    try {
      const ans = await getJSON<EnergyAnswer>(apiPath('site/energy', { period: s.period, from, to }), c.signal);
      if (c.signal.aborted) return;
      if (ans.timezone && validZone(ans.timezone)) tz = ans.timezone;
      rows = ans.rows;
      setStatus(status, rows.length ? '' : `No energy data for ${selTitle(s)}.`);
    } catch (e) {
      if (isAbort(e) || c.signal.aborted) return;
      rows = [];
      setStatus(status, 'Could not load the energy: ' + errorText(e), true);
    }
    drawTotals();
    drawBars();
    drawTable();
  }

  void show(route);

  return {
    update(r: Route) {
      void show(r);
      return true;
    },
    destroy() {
      ctrl?.abort();
      ro.disconnect();
    },
  };
}

function fmtAxisEnergy(v: number): string {
  return (Number.isInteger(v) ? String(v) : v.toFixed(v < 1 ? 2 : 1)) + ' kWh';
}
