// Now: the power-flow diagram (PV, grid, battery, home), today's energy tiles and the devices.
import { apiPath, getJSON, siteInfo } from '../api';
import type { Device, EnergyAnswer, SiteInfo, SiteLatest } from '../api';
import { orderDevices, redirectionPointer, setState, stateBadge } from '../devices-common';
import { errorText, h, isAbort, setStatus, statusLine } from '../dom';
import { fmtEnergy, fmtPercent, fmtPower, fmtRatio, NONE } from '../format';
import { subscribe } from '../live';
import { deviceHref, setTitle } from '../router';
import type { Page } from '../router';
import { nowS } from '../time';

type NodeKey = 'pv' | 'grid' | 'battery' | 'load';
const R = 46;
// Node centres in the diagram's 400 × 322 viewBox.
const POS: Record<NodeKey, [number, number]> = { pv: [200, 56], grid: [50, 238], load: [200, 238], battery: [350, 238] };
const NAME: Record<NodeKey, string> = { pv: 'PV', grid: 'Grid', battery: 'Battery', load: 'Home' };
const IDLE_W = 0.5;
const LOADING = '…';

/** A node: a circle with its name and value as HTML (foreignObject), so the text scales with the picture. */
function nodeMarkup(k: NodeKey): string {
  const [x, y] = POS[k];
  const soc = k === 'battery' ? `<span class="node-soc" data-testid="now-soc">${LOADING}</span>` : '';
  const word = k === 'grid' || k === 'battery' ? `<text class="node-word" x="${x}" y="${y + R + 18}" data-word="${k}"></text>` : '';
  return `<g class="node node-${k}" data-node="${k}" aria-label="${NAME[k]}: unknown">` +
    `<circle cx="${x}" cy="${y}" r="${R}"/>` +
    `<foreignObject x="${x - R}" y="${y - R}" width="${2 * R}" height="${2 * R}"><div class="node-box">` +
    `<span class="node-name">${NAME[k]}</span><span class="node-value" data-testid="now-${k}">${LOADING}</span>${soc}` +
    `</div></foreignObject>${word}</g>`;
}

/** A link from a node to Home, ending at the circles' edges; + flow runs towards Home. */
function linkMarkup(k: Exclude<NodeKey, 'load'>, labelX: number, labelY: number, anchor: string): string {
  const [x1, y1] = POS[k];
  const [x2, y2] = POS.load;
  const len = Math.hypot(x2 - x1, y2 - y1);
  const ux = (x2 - x1) / len;
  const uy = (y2 - y1) / len;
  const gap = R + 5;
  const d = `M${x1 + ux * gap} ${y1 + uy * gap}L${x2 - ux * gap} ${y2 - uy * gap}`;
  return `<g class="link link-${k}" data-link="${k}"><path class="flow idle" d="${d}"/>` +
    `<text class="link-value" x="${labelX}" y="${labelY}" text-anchor="${anchor}">${LOADING}</text></g>`;
}

/** The diagram with the nodes the site has (no PV or battery node without a source), cropped to them. */
function diagramMarkup(hasPv: boolean, hasBat: boolean): string {
  const top = hasPv ? 0 : 172;
  const width = hasBat ? 400 : 254;
  return `<svg class="flow-diagram" viewBox="0 ${top} ${width} ${322 - top}" role="img" aria-labelledby="flow-title">` +
    `<title id="flow-title">Power flow</title>` +
    `<defs><marker id="flow-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="4" markerHeight="4" ` +
    `orient="auto-start-reverse"><path d="M0 0L10 5L0 10z"/></marker></defs>` +
    (hasPv ? linkMarkup('pv', 210, 152, 'start') : '') + linkMarkup('grid', 125, 212, 'middle') +
    (hasBat ? linkMarkup('battery', 275, 212, 'middle') : '') +
    (hasPv ? nodeMarkup('pv') : '') + nodeMarkup('grid') + (hasBat ? nodeMarkup('battery') : '') + nodeMarkup('load') +
    '</svg>';
}

function value(s: SiteLatest | null, key: string): number | null {
  const v = s?.metrics?.[key]?.value;
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

export function nowPage(root: HTMLElement): Page {
  setTitle('Now');
  const ctrl = new AbortController();
  const signal = ctrl.signal;

  const heading = h('h1', null, 'Now');
  const warnings = h('div', { class: 'notice', 'data-testid': 'warnings', role: 'status', hidden: true });
  const welcome = h('section', { class: 'card welcome', 'data-testid': 'welcome', hidden: true },
    h('h2', null, 'Welcome to sunkeep'),
    h('p', null, 'No device has connected yet.'),
    h('p', null, redirectionPointer));
  const flowStatus = statusLine();
  const flowBox = h('div', { class: 'flow-box' });
  const flow = h('section', { class: 'card flow', 'aria-labelledby': 'flow-h' },
    h('h2', { id: 'flow-h' }, 'Power flow'), flowBox, flowStatus);

  const tileKeys = [
    ['produced', 'Produced'], ['consumed', 'Consumed'], ['imported', 'Imported'],
    ['exported', 'Exported'], ['self-sufficiency', 'Self-sufficiency'],
  ] as const;
  const tileValues = new Map<string, HTMLElement>();
  const tilesStatus = statusLine();
  const tiles = h('section', { class: 'card today', 'aria-labelledby': 'today-h' },
    h('h2', { id: 'today-h' }, 'Today'),
    h('div', { class: 'tiles' }, tileKeys.map(([key, label]) => {
      const v = h('span', { class: 'tile-value', 'data-testid': 'tile-' + key }, LOADING);
      tileValues.set(key, v);
      return h('div', { class: 'tile' }, h('span', { class: 'tile-label' }, label), v);
    })),
    tilesStatus);

  const devCount = h('span', { class: 'muted' });
  const devList = h('ul', { class: 'device-list' });
  const devStatus = statusLine();
  const devSection = h('section', { class: 'card devices', 'aria-labelledby': 'devices-h' },
    h('h2', { id: 'devices-h' }, 'Devices ', devCount), devStatus, devList);

  root.append(heading, warnings, welcome, h('div', { class: 'now-grid' }, flow, tiles), devSection);
  setStatus(devStatus, 'Loading…');
  setStatus(tilesStatus, '');

  let site: SiteInfo | null = null;
  let latest: SiteLatest | null = null;
  const states = new Map<string, HTMLElement>();

  // ---- the diagram -------------------------------------------------------------------------
  let shape = '';
  let latestFailed = false;
  const q = <T extends Element>(sel: string) => flowBox.querySelector(sel) as T | null;
  const setText = (sel: string, text: string) => {
    const el = q<Element>(sel);
    if (el && el.textContent !== text) el.textContent = text;
  };
  const hasPv = () => !site || site.sources.pv.length > 0;
  const hasBat = () => !site || site.sources.battery.length > 0;

  /** (Re)draws the diagram when the nodes to show changed. */
  function drawDiagram(): void {
    const want = `${hasPv()}/${hasBat()}`;
    if (want === shape) return;
    shape = want;
    flowBox.innerHTML = diagramMarkup(hasPv(), hasBat());
    const svg = q<SVGSVGElement>('svg');
    if (svg) svg.style.maxWidth = Math.round((540 * (hasBat() ? 400 : 254)) / 400) + 'px';
  }

  function setLink(k: 'pv' | 'grid' | 'battery', w: number | null): void {
    const path = q<SVGPathElement>(`[data-link="${k}"] path`);
    if (!path) return;
    const dir = w === null || Math.abs(w) < IDLE_W ? 'idle' : w > 0 ? 'fwd' : 'rev';
    path.setAttribute('class', 'flow ' + dir);
    setText(`[data-link="${k}"] text`, w === null ? NONE : fmtPower(Math.abs(w)));
  }

  function applyLatest(): void {
    if (!shape) return;
    if (!latest) {
      if (!latestFailed) return; // still "…"
      for (const el of flowBox.querySelectorAll('[data-testid^="now-"], .link-value')) el.textContent = NONE;
      return;
    }
    const pv = value(latest, 'pv_power');
    const grid = value(latest, 'grid_power');
    const bat = value(latest, 'battery_power');
    const load = value(latest, 'load_power');
    const soc = value(latest, 'battery_soc');
    const abs = (v: number | null) => (v === null ? NONE : fmtPower(Math.abs(v)));

    // Values with the API's signs (grid + import, battery + discharging); the word says which way.
    setText('[data-testid="now-pv"]', fmtPower(pv));
    setText('[data-testid="now-grid"]', fmtPower(grid));
    setText('[data-testid="now-battery"]', fmtPower(bat));
    setText('[data-testid="now-load"]', fmtPower(load));
    setText('[data-testid="now-soc"]', fmtPercent(soc));
    const gridWord = grid === null ? '' : grid > IDLE_W ? 'importing' : grid < -IDLE_W ? 'exporting' : 'idle';
    const batWord = bat === null ? '' : bat > IDLE_W ? 'discharging' : bat < -IDLE_W ? 'charging' : 'idle';
    setText('[data-word="grid"]', gridWord);
    setText('[data-word="battery"]', batWord);

    const labels: Record<NodeKey, string> = {
      pv: pv === null ? 'PV: unknown' : `PV: producing ${fmtPower(pv)}`,
      grid: grid === null ? 'Grid: unknown' : gridWord === 'idle' ? 'Grid: idle, 0 W' : `Grid: ${gridWord} ${abs(grid)}`,
      battery: (bat === null ? 'Battery: unknown' : batWord === 'idle' ? 'Battery: idle, 0 W' : `Battery: ${batWord} ${abs(bat)}`) +
        (soc === null ? ', state of charge unknown' : `, state of charge ${fmtPercent(soc)}`),
      load: load === null ? 'Home: unknown' : `Home: using ${fmtPower(load)}`,
    };
    const shown = (['pv', 'grid', 'battery', 'load'] as NodeKey[])
      .filter((k) => (k === 'pv' ? hasPv() : k === 'battery' ? hasBat() : true));
    for (const k of shown) q<SVGGElement>(`[data-node="${k}"]`)?.setAttribute('aria-label', labels[k]);
    setText('title', 'Power flow: ' + shown.map((k) => labels[k]).join('. ') + '.');

    setLink('pv', pv);
    setLink('grid', grid);
    setLink('battery', bat);
    devCount.textContent = `(${latest.devices_online} of ${latest.devices} online)`;
  }

  function applySite(): void {
    drawDiagram();
    applyLatest();
    if (!site) return;
    warnings.replaceChildren();
    if (site.warnings.length) {
      warnings.append(h('strong', null, 'Site configuration'),
        h('ul', null, site.warnings.map((w) => h('li', null, w))));
    }
    warnings.hidden = site.warnings.length === 0;
    if (site.name) heading.textContent = `Now · ${site.name}`;
  }

  // ---- devices -----------------------------------------------------------------------------
  function applyDevices(devices: Device[]): void {
    states.clear();
    welcome.hidden = devices.length > 0;
    devSection.hidden = devices.length === 0;
    // A flat list: children follow their parent, indented (so rows never nest).
    devList.replaceChildren(...orderDevices(devices).map(({ dev, depth }) => {
      const badge = stateBadge(dev.online);
      states.set(dev.id, badge);
      return h('li', { 'data-testid': 'device-row', 'data-id': dev.id, 'data-depth': Math.min(depth, 3) },
        h('a', { href: deviceHref(dev.id) }, dev.id),
        dev.model ? h('span', { class: 'muted' }, dev.model) : null,
        badge);
    }));
  }

  async function loadDevices(): Promise<void> {
    try {
      const devices = await getJSON<Device[]>(apiPath('devices'), signal);
      applyDevices(devices);
      setStatus(devStatus, '');
    } catch (e) {
      if (!isAbort(e)) setStatus(devStatus, 'Could not load the devices: ' + errorText(e), true);
    }
  }

  async function loadSite(fresh: boolean): Promise<void> {
    try {
      site = await siteInfo(fresh);
      if (!signal.aborted) applySite();
    } catch (e) {
      if (isAbort(e)) return;
      setStatus(flowStatus, 'Could not load the site: ' + errorText(e), true);
      applySite(); // draw every node then
    }
  }

  async function loadLatest(): Promise<void> {
    try {
      const s = await getJSON<SiteLatest>(apiPath('site/latest'), signal);
      if (!latest) latest = s; // a live event may have been newer
      applyLatest();
      setStatus(flowStatus, '');
    } catch (e) {
      if (isAbort(e)) return;
      latestFailed = true;
      applyLatest();
      setStatus(flowStatus, 'Could not load the values: ' + errorText(e), true);
    }
  }

  async function loadToday(): Promise<void> {
    try {
      // The server rounds `from` down to the start of its day, so "one second ago" means today.
      const ans = await getJSON<EnergyAnswer>(apiPath('site/energy', { period: 'day', from: nowS() - 1 }), signal);
      const row = ans.rows.length ? ans.rows[ans.rows.length - 1] : null;
      tileValues.get('produced')!.textContent = fmtEnergy(row?.produced);
      tileValues.get('consumed')!.textContent = fmtEnergy(row?.consumed);
      tileValues.get('imported')!.textContent = fmtEnergy(row?.imported);
      tileValues.get('exported')!.textContent = fmtEnergy(row?.exported);
      tileValues.get('self-sufficiency')!.textContent = fmtRatio(row?.self_sufficiency);
      setStatus(tilesStatus, '');
    } catch (e) {
      if (isAbort(e)) return;
      for (const el of tileValues.values()) if (el.textContent === LOADING) el.textContent = NONE;
      setStatus(tilesStatus, 'Could not load today\'s energy: ' + errorText(e), true);
    }
  }

  let refreshTimer = 0;
  function refreshSoon(): void {
    window.clearTimeout(refreshTimer);
    refreshTimer = window.setTimeout(() => {
      void loadDevices();
      void loadSite(true);
    }, 500);
  }

  const unsubscribe = subscribe({
    site(s) {
      latest = s;
      applyLatest();
      setStatus(flowStatus, '');
    },
    availability(a) {
      const el = states.get(a.device);
      if (el) setState(el, a.online);
      else refreshSoon();
    },
    device(d) {
      if (!states.has(d.device)) refreshSoon();
    },
    tick() {
      void loadDevices();
      void loadSite(true);
    },
  });

  void loadSite(false); // main.ts has just read it
  void loadLatest();
  void loadDevices();
  void loadToday();
  const todayTimer = window.setInterval(() => void loadToday(), 60_000);

  return {
    destroy() {
      ctrl.abort();
      unsubscribe();
      window.clearInterval(todayTimer);
      window.clearTimeout(refreshTimer);
    },
  };
}
