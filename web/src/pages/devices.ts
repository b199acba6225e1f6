// Devices: every device with vendor, serial, model, online state and last seen; rows link to the device page.
import { apiPath, getJSON } from '../api';
import type { Device } from '../api';
import { orderDevices, redirectionPointer, setState, stateBadge } from '../devices-common';
import { errorText, h, isAbort, setStatus, statusLine } from '../dom';
import { fmtTime, NONE } from '../format';
import { subscribe } from '../live';
import { deviceHref, setTitle } from '../router';
import type { Page } from '../router';

export function devicesPage(root: HTMLElement): Page {
  setTitle('Devices');
  const ctrl = new AbortController();
  const status = statusLine();
  const wrap = h('div', { class: 'table-wrap' });
  const states = new Map<string, HTMLElement>();
  root.append(h('h1', null, 'Devices'), h('section', { class: 'card' }, status, wrap));
  setStatus(status, 'Loading…');

  function render(devices: Device[]): void {
    states.clear();
    if (devices.length === 0) {
      wrap.replaceChildren(h('p', { 'data-testid': 'welcome' }, 'No device has connected yet. ',
        redirectionPointer));
      return;
    }
    const col = (t: string) => h('th', { scope: 'col' }, t);
    const rows = orderDevices(devices).map(({ dev, depth }) => {
      const badge = stateBadge(dev.online);
      states.set(dev.id, badge);
      return h('tr', { 'data-testid': 'device-row', 'data-id': dev.id, 'data-depth': Math.min(depth, 3) },
        h('th', { scope: 'row', 'data-label': 'Device' }, h('a', { href: deviceHref(dev.id) }, dev.id)),
        h('td', { 'data-label': 'Vendor' }, dev.vendor || NONE),
        h('td', { 'data-label': 'Serial' }, dev.serial || NONE),
        h('td', { 'data-label': 'Model' }, dev.model ?? NONE),
        h('td', { 'data-label': 'State' }, badge),
        h('td', { 'data-label': 'Last seen' }, fmtTime(dev.last_seen)));
    });
    wrap.replaceChildren(h('table', { class: 'devices-table responsive' },
      h('thead', null, h('tr', null, col('Device'), col('Vendor'), col('Serial'), col('Model'), col('State'), col('Last seen'))),
      h('tbody', null, rows)));
  }

  let loading = false;
  async function load(): Promise<void> {
    if (loading) return;
    loading = true;
    try {
      render(await getJSON<Device[]>(apiPath('devices'), ctrl.signal));
      setStatus(status, '');
    } catch (e) {
      if (!isAbort(e)) setStatus(status, 'Could not load the devices: ' + errorText(e), true);
    } finally {
      loading = false;
    }
  }

  let reloadTimer = 0;
  const unsubscribe = subscribe({
    availability(a) {
      const el = states.get(a.device);
      if (el) setState(el, a.online);
      else void load();
    },
    device(d) {
      if (!states.has(d.device)) void load();
      else if (!reloadTimer) {
        // "Last seen" moved on: refresh now and then, not on every event.
        reloadTimer = window.setTimeout(() => {
          reloadTimer = 0;
          void load();
        }, 10_000);
      }
    },
    tick() {
      void load();
    },
  });
  void load();

  return {
    destroy() {
      ctrl.abort();
      unsubscribe();
      window.clearTimeout(reloadTimer);
    },
  };
}
