// History: the site's powers (PV, grid, battery, home) over a range kept in the URL; drag to zoom, ◀ ▶ to pan.
import { apiPath, getJSON, siteZone } from '../api';
import type { SeriesAnswer } from '../api';
import { align, TimeChart } from '../chart';
import { errorText, h, isAbort, setStatus, statusLine } from '../dom';
import { fmtPower, fmtPowerAxis, fmtTime } from '../format';
import { go, href, replace, setTitle } from '../router';
import type { Page, Route } from '../router';
import { chooseStep, fromLocalInput, nowS, stepLabel, toLocalInput } from '../time';

const PRESETS: [string, string, number][] = [
  ['24h', '24 h', 86400], ['7d', '7 d', 7 * 86400], ['30d', '30 d', 30 * 86400], ['1y', '1 y', 365 * 86400],
];
const METRICS = ['pv_power', 'grid_power', 'battery_power', 'load_power'];
const MIN_SPAN = 60;

interface Range {
  from: number;
  to: number;
  preset: string | null;
  step?: number;  // seconds, from `step=` in the URL; otherwise chosen for about 2,000 points
}

// `step=<seconds>` fixes the step (10 s at least), as a bookmark or the benchmark wants it.
function parseStep(params: URLSearchParams): number | undefined {
  const step = Number(params.get('step'));
  return params.has('step') && Number.isInteger(step) && step >= 10 ? step : undefined;
}

function parseRange(params: URLSearchParams): Range | null {
  const from = Number(params.get('from'));
  const to = Number(params.get('to'));
  const step = parseStep(params);
  if (params.has('from') && params.has('to') && Number.isFinite(from) && Number.isFinite(to) && to > from) {
    return { from: Math.floor(from), to: Math.ceil(to), preset: null, step };
  }
  const preset = PRESETS.find(([key]) => key === params.get('range'));
  if (!preset) return null;
  const now = nowS();
  return { from: now - preset[2], to: now, preset: preset[0], step };
}

function rangeHref(from: number, to: number): string {
  if (to - from < MIN_SPAN) {
    const mid = (from + to) / 2;
    from = Math.floor(mid - MIN_SPAN / 2);
    to = from + MIN_SPAN;
  }
  return href('history', { from: Math.floor(from), to: Math.ceil(to) });
}

export function historyPage(root: HTMLElement, route: Route): Page {
  setTitle('History');
  let range: Range = parseRange(route.params) ?? { from: 0, to: 0, preset: '24h' };
  let ctrl: AbortController | null = null;

  const presetButtons = PRESETS.map(([key, label]) =>
    h('button', { type: 'button', 'aria-pressed': 'false', onclick: () => go(href('history', { range: key })) }, label));
  const pan = (dir: number) => {
    const half = Math.round((range.to - range.from) / 2);
    go(rangeHref(range.from + dir * half, range.to + dir * half));
  };
  const fromInput = h('input', { type: 'datetime-local', id: 'h-from', required: true });
  const toInput = h('input', { type: 'datetime-local', id: 'h-to', required: true });
  const formError = h('p', { class: 'error', role: 'alert', hidden: true });
  const custom = h('form', { class: 'custom-range' },
    h('label', { for: 'h-from' }, 'From'), fromInput,
    h('label', { for: 'h-to' }, 'To'), toInput,
    h('button', { type: 'submit' }, 'Show'), formError);
  custom.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const f = fromLocalInput(fromInput.value);
    const t = fromLocalInput(toInput.value);
    if (f === null || t === null || t <= f) {
      formError.textContent = '"To" must be after "From".';
      formError.hidden = false;
      return;
    }
    formError.hidden = true;
    go(rangeHref(f, t));
  });

  const rangeLabel = h('p', { class: 'range-label muted' });
  const status = statusLine();
  const chartEl = h('div', {
    class: 'chart', 'data-testid': 'history-chart', 'data-points': '0', tabindex: 0,
    'aria-label': 'Site power chart. Drag to zoom; the left and right arrow keys move by half a range.',
  });
  chartEl.addEventListener('keydown', (ev) => {
    if (ev.key === 'ArrowLeft' || ev.key === 'ArrowRight') {
      ev.preventDefault();
      pan(ev.key === 'ArrowLeft' ? -1 : 1);
    }
  });

  root.append(
    h('h1', null, 'History'),
    h('div', { class: 'toolbar' },
      h('div', { class: 'seg', role: 'group', 'aria-label': 'Range' }, presetButtons),
      h('div', { class: 'seg', role: 'group', 'aria-label': 'Move' },
        h('button', { type: 'button', title: 'Earlier by half a range', onclick: () => pan(-1) }, '◀'),
        h('button', { type: 'button', title: 'Later by half a range', onclick: () => pan(1) }, '▶'))),
    custom,
    h('section', { class: 'card chart-card', 'aria-label': 'Site power' }, rangeLabel, status, chartEl),
    h('p', { class: 'muted small' }, 'Grid: + import, − export. Battery: + discharging, − charging. ' +
      'Drag across the chart to zoom in; the range stays in the address, so it can be bookmarked.'),
  );

  const chart = new TimeChart(chartEl, {
    series: [
      { label: 'PV (W)', colorVar: '--c-pv', fmt: fmtPower },
      { label: 'Grid (W, + import)', colorVar: '--c-grid', fmt: fmtPower },
      { label: 'Battery (W, + discharge)', colorVar: '--c-bat', fmt: fmtPower },
      { label: 'Home (W)', colorVar: '--c-load', fmt: fmtPower },
    ],
    axisFmt: fmtPowerAxis,
    onSelect: (from, to) => go(rangeHref(from, to)),
  });

  function showControls(): void {
    presetButtons.forEach((b, i) => b.setAttribute('aria-pressed', String(PRESETS[i][0] === range.preset)));
    fromInput.value = toLocalInput(range.from);
    toInput.value = toLocalInput(range.to);
  }

  async function load(): Promise<void> {
    ctrl?.abort();
    const c = new AbortController();
    ctrl = c;
    const { from, to } = range;
    const step = range.step ?? chooseStep(from, to);
    rangeLabel.textContent = `${fmtTime(from)} – ${fmtTime(to)} · step ${stepLabel(step)}`;
    chartEl.setAttribute('data-step', String(step));
    chartEl.setAttribute('aria-busy', 'true');
    setStatus(status, 'Loading…');
    try {
      const tz = step === 86400 ? await siteZone() : undefined;
      const ans = await getJSON<SeriesAnswer>(apiPath('site/series', { metric: METRICS, step, from, to, tz }), c.signal);
      if (c.signal.aborted) return;
      performance.mark('sunkeep:history-data');  // the benchmark times data → drawn
      const cols = METRICS.map((m) => {
        const s = ans.series.find((x) => x.metric === m);
        const pts = s?.points ?? [];
        return { t: pts.map((p) => Date.parse(p[0]) / 1000), v: pts.map((p) => p[1]) };
      });
      const [x, ys] = align(cols);
      chart.setData(x, ys, from, to);
      setStatus(status, x.length ? '' : 'No data in this range.');
    } catch (e) {
      if (isAbort(e) || c.signal.aborted) return;
      setStatus(status, 'Could not load the history: ' + errorText(e), true);
    } finally {
      if (ctrl === c) chartEl.removeAttribute('aria-busy');
    }
  }

  function show(r: Route): void {
    const parsed = parseRange(r.params);
    if (!parsed) {
      // The range always lives in the URL.
      range = parseRange(new URLSearchParams('range=24h')) as Range;
      replace(href('history', { range: '24h' }));
    } else {
      range = parsed;
    }
    showControls();
    void load();
  }

  show(route);

  return {
    update(r: Route) {
      show(r);
      return true;
    },
    destroy() {
      ctrl?.abort();
      chart.destroy();
    },
  };
}
