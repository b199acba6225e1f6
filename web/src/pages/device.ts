// Device: its properties, every latest metric, a chart of one metric, its events and raw frames.
import { ApiError, apiPath, devicePath, getJSON } from '../api';
import type { Device, DeviceLatest, EventRow, FrameRow, MetricValue, SeriesAnswer } from '../api';
import { align, TimeChart } from '../chart';
import { setState, stateBadge } from '../devices-common';
import { errorText, h, isAbort, setStatus, statusLine } from '../dom';
import type { Child } from '../dom';
import { fmtNumber, fmtPowerAxis, fmtSeconds, fmtTime, fmtValue, NONE } from '../format';
import { subscribe } from '../live';
import { deviceHref, go, href, setTitle } from '../router';
import type { Page, Route } from '../router';
import { chooseStep, nowS, stepLabel } from '../time';

/** Canonical metric names (interfaces.md §4), listed before vendor names. */
const CANONICAL = new Set([
  'pv_power', 'grid_power', 'battery_power', 'load_power', 'battery_soc', 'battery_voltage', 'battery_current',
  'battery_temperature', 'inverter_temperature', 'grid_frequency', 'ac_power', 'signal_strength',
  'pv_energy_total', 'grid_import_energy_total', 'grid_export_energy_total', 'battery_charge_energy_total',
  'battery_discharge_energy_total', 'pv_energy_today',
]);
const PREFERRED = ['pv_power', 'battery_power', 'grid_power', 'load_power', 'ac_power', 'battery_soc'];

function sortedNames(metrics: Record<string, MetricValue>): string[] {
  return Object.keys(metrics).sort((a, b) => {
    const ca = CANONICAL.has(a) ? 0 : 1;
    const cb = CANONICAL.has(b) ? 0 : 1;
    return ca - cb || a.localeCompare(b);
  });
}

export function devicePage(root: HTMLElement, route: Route): Page {
  const id = route.id;
  setTitle(id);
  const ctrl = new AbortController();
  const signal = ctrl.signal;
  let metrics: Record<string, MetricValue> = {};
  let metric = route.params.get('metric') ?? '';
  let chart: TimeChart | null = null;
  let chartCtrl: AbortController | null = null;
  let allDevices: Device[] = [];

  const status = statusLine();
  const props = h('dl', { class: 'props' });
  const badge = stateBadge(false);
  const metricsBody = h('tbody');
  const metricsStatus = statusLine();
  const select = h('select', { id: 'dev-metric' });
  const chartStatus = statusLine();
  const chartLabel = h('p', { class: 'range-label muted' });
  const chartEl = h('div', { class: 'chart', 'data-testid': 'device-chart', 'data-points': '0' });
  const eventsWrap = h('div', { class: 'table-wrap' });
  const framesPre = h('pre', { class: 'frames', 'data-testid': 'device-frames' });
  const framesStatus = statusLine();
  const eventsStatus = statusLine();

  select.addEventListener('change', () => go(deviceHref(id, { metric: select.value })));

  root.append(
    h('p', { class: 'crumbs' }, h('a', { href: href('devices') }, 'Devices'), ' › '),
    h('h1', { class: 'device-id' }, id),
    status,
    h('section', { class: 'card', 'aria-labelledby': 'dev-about' }, h('h2', { id: 'dev-about' }, 'Device'), props),
    h('section', { class: 'card', 'aria-labelledby': 'dev-latest' }, h('h2', { id: 'dev-latest' }, 'Latest values'),
      metricsStatus,
      h('div', { class: 'table-wrap' }, h('table', { 'data-testid': 'device-metrics' },
        h('thead', null, h('tr', null, ['Metric', 'Value', 'Unit', 'Time'].map((t) => h('th', { scope: 'col' }, t)))),
        metricsBody))),
    h('section', { class: 'card chart-card', 'aria-labelledby': 'dev-chart' }, h('h2', { id: 'dev-chart' }, 'Last 24 hours'),
      h('div', { class: 'toolbar' }, h('label', { for: 'dev-metric' }, 'Metric'), select),
      chartLabel, chartStatus, chartEl),
    h('section', { class: 'card', 'aria-labelledby': 'dev-events' }, h('h2', { id: 'dev-events' }, 'Events'), eventsStatus, eventsWrap),
    h('section', { class: 'card', 'aria-labelledby': 'dev-frames' }, h('h2', { id: 'dev-frames' }, 'Raw frames (newest 20)'),
      framesStatus, framesPre),
  );
  setStatus(status, 'Loading…');

  // ---- properties ----------------------------------------------------------------------------
  function renderProps(d: Device): void {
    setState(badge, d.online);
    const children = allDevices.filter((c) => c.parent === d.id).sort((a, b) => a.id.localeCompare(b.id));
    const link = (x: string) => h('a', { href: deviceHref(x) }, x);
    const item = (term: string, desc: Child) => [h('dt', null, term), h('dd', null, desc)];
    props.replaceChildren(...[
      item('Vendor', d.vendor || NONE),
      item('Serial', d.serial || NONE),
      item('Model', d.model ?? NONE),
      item('Firmware', d.firmware ?? NONE),
      item('Parent', d.parent ? link(d.parent) : NONE),
      item('Children', children.length
        ? h('ul', { class: 'inline-list' }, children.map((c) => h('li', null, link(c.id), ' ', stateBadge(c.online))))
        : NONE),
      item('State', badge),
      item('Last seen', fmtTime(d.last_seen)),
      item('First seen', fmtTime(d.first_seen)),
      item('Clock offset', fmtSeconds(d.clock_offset_s)),
      item('Connected from', d.peer ?? NONE),
    ].flat());
  }

  /** Reads the device list (the device and its children); false when there is no such device. */
  async function loadDevice(): Promise<boolean> {
    try {
      allDevices = await getJSON<Device[]>(apiPath('devices'), signal);
      const d = allDevices.find((x) => x.id === id);
      if (!d) {
        // Known from the list, so no request ends in a 404 (which a browser logs as an error).
        setStatus(status, `There is no device with the id ${id}.`, true);
        for (const s of root.querySelectorAll('section')) s.hidden = true;
        stopLive();
        return false;
      }
      renderProps(d);
      setStatus(status, '');
      return true;
    } catch (e) {
      if (!isAbort(e)) setStatus(status, 'Could not load the device: ' + errorText(e), true);
      return !isAbort(e);
    }
  }

  // ---- latest metrics ------------------------------------------------------------------------
  function renderMetrics(): void {
    const names = sortedNames(metrics);
    metricsBody.replaceChildren(...names.map((name) => {
      const m = metrics[name];
      return h('tr', { 'data-metric': name, class: CANONICAL.has(name) ? 'canonical' : '' },
        h('th', { scope: 'row' }, name),
        h('td', { class: 'num' }, fmtNumber(m.value)),
        h('td', null, m.unit || ''),
        h('td', null, fmtTime(m.time ?? null)));
    }));
    setStatus(metricsStatus, names.length ? '' : 'This device has reported no values yet.');
    const current = [...select.options].map((o) => o.value);
    if (current.join('\n') !== names.join('\n')) {
      select.replaceChildren(...names.map((n) => h('option', { value: n }, n)));
    }
    if (!metric || !(metric in metrics)) metric = PREFERRED.find((n) => n in metrics) ?? names[0] ?? '';
    select.value = metric;
    ensureChart();
  }

  let chartMetric = '';
  function ensureChart(): void {
    if (metric && metric !== chartMetric) {
      chartMetric = metric;
      void loadChart();
    }
  }

  async function loadLatest(): Promise<void> {
    try {
      const l = await getJSON<DeviceLatest>(apiPath(devicePath(id, 'latest')), signal);
      metrics = l.metrics ?? {};
      renderMetrics();
    } catch (e) {
      if (!isAbort(e) && !(e instanceof ApiError && e.status === 404)) {
        setStatus(metricsStatus, 'Could not load the values: ' + errorText(e), true);
      }
    }
  }

  // ---- chart ---------------------------------------------------------------------------------
  async function loadChart(): Promise<void> {
    chartCtrl?.abort();
    if (!metric) return;
    const c = new AbortController();
    chartCtrl = c;
    signal.addEventListener('abort', () => c.abort(), { once: true });
    const to = nowS();
    const from = to - 86400;
    const step = chooseStep(from, to);
    const name = metric;
    chartLabel.textContent = `${name}, ${fmtTime(from)} – ${fmtTime(to)} · step ${stepLabel(step)}`;
    setStatus(chartStatus, 'Loading…');
    try {
      const ans = await getJSON<SeriesAnswer>(apiPath(devicePath(id, 'series'), { metric: name, step, from, to }), c.signal);
      if (c.signal.aborted) return;
      const s = ans.series.find((x) => x.metric === name) ?? ans.series[0];
      const pts = s?.points ?? [];
      const unit = s?.unit ?? metrics[name]?.unit ?? '';
      chart?.destroy();
      chartEl.replaceChildren();
      chart = new TimeChart(chartEl, {
        series: [{ label: unit ? `${name} (${unit})` : name, colorVar: '--c-pv', fmt: (v) => fmtValue(v, unit) }],
        axisFmt: unit === 'W' ? fmtPowerAxis : (v) => fmtNumber(v),
      });
      const [x, ys] = align([{ t: pts.map((p) => Date.parse(p[0]) / 1000), v: pts.map((p) => p[1]) }]);
      chart.setData(x, ys, from, to);
      setStatus(chartStatus, x.length ? '' : 'No values in the last 24 hours.');
    } catch (e) {
      if (isAbort(e) || c.signal.aborted) return;
      setStatus(chartStatus, 'Could not load the chart: ' + errorText(e), true);
    }
  }

  // ---- events and frames ---------------------------------------------------------------------
  async function loadEvents(): Promise<void> {
    try {
      const ans = await getJSON<{ events: EventRow[] }>(
        apiPath(devicePath(id, 'events'), { from: 0, to: nowS() + 86400, limit: 50 }), signal);
      const events = [...ans.events].sort((a, b) => Date.parse(b.time) - Date.parse(a.time));
      if (!events.length) {
        eventsWrap.replaceChildren(h('p', { class: 'muted' }, 'No events.'));
        return;
      }
      eventsWrap.replaceChildren(h('table', { 'data-testid': 'device-events' },
        h('thead', null, h('tr', null, ['Time', 'Source', 'Code', 'Text'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', null, events.map((ev) => h('tr', null,
          h('td', null, fmtTime(ev.time)), h('td', null, ev.source), h('td', null, ev.code ?? NONE), h('td', null, ev.text ?? NONE))))));
      setStatus(eventsStatus, '');
    } catch (e) {
      if (!isAbort(e) && !(e instanceof ApiError && e.status === 404)) setStatus(eventsStatus, 'Could not load the events: ' + errorText(e), true);
    }
  }

  async function loadFrames(): Promise<void> {
    try {
      const ans = await getJSON<{ frames: FrameRow[] }>(apiPath(devicePath(id, 'frames'), { from: 0, limit: 20 }), signal);
      framesPre.textContent = ans.frames.length
        ? ans.frames.map((f) => `${fmtTime(f.time)}  ${f.direction}  command ${f.command ?? NONE}\n${f.hex}`).join('\n\n')
        : 'No frames archived.';
      setStatus(framesStatus, '');
    } catch (e) {
      if (!isAbort(e) && !(e instanceof ApiError && e.status === 404)) setStatus(framesStatus, 'Could not load the frames: ' + errorText(e), true);
    }
  }

  // ---- live ----------------------------------------------------------------------------------
  let deviceTimer = 0;
  let stopLive = subscribe({
    device(d) {
      if (d.device !== id) return;
      metrics = d.metrics ?? {};
      renderMetrics();
      if (!deviceTimer) {
        // "Last seen" moved on: refresh the properties now and then, not on every event.
        deviceTimer = window.setTimeout(() => {
          deviceTimer = 0;
          void loadDevice();
        }, 10_000);
      }
    },
    availability(a) {
      if (a.device === id) setState(badge, a.online);
      else if (allDevices.some((c) => c.id === a.device && c.parent === id)) void loadDevice();
    },
    tick() {
      void loadLatest();
      void loadDevice();
    },
  });
  const unsub = stopLive;
  stopLive = () => {
    unsub();
    stopLive = () => undefined;
  };

  void loadDevice().then((exists) => {
    if (!exists) return;
    void loadLatest();
    void loadEvents();
    void loadFrames();
  });

  return {
    update(r: Route) {
      if (r.id !== id) return false;
      const m = r.params.get('metric') ?? '';
      if (m && m !== metric) {
        metric = m;
        select.value = m;
        if (m in metrics) ensureChart();
      }
      return true;
    },
    destroy() {
      ctrl.abort();
      chartCtrl?.abort();
      stopLive();
      window.clearTimeout(deviceTimer);
      chart?.destroy();
    },
  };
}
