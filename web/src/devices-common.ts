// Shared device helpers: parent/child ordering and the online/offline label.
import type { Device } from './api';
import { h } from './dom';

/** Where a new user learns to point a device at sunkeep (shown while no device has connected). */
export const redirectionPointer =
  'Point a device at sunkeep as the README explains (the sections from "Pointing an AlphaESS system at sunkeep" on), ' +
  'or list an inverter or ECU to poll in the config.';

export interface DeviceEntry {
  dev: Device;
  depth: number;
}

/** Top-level devices sorted by id, each followed by its children (a device with an unknown parent is top-level). */
export function orderDevices(devices: Device[]): DeviceEntry[] {
  const ids = new Set(devices.map((d) => d.id));
  const byParent = new Map<string, Device[]>();
  const top: Device[] = [];
  for (const d of devices) {
    if (d.parent && ids.has(d.parent) && d.parent !== d.id) {
      const list = byParent.get(d.parent) ?? [];
      list.push(d);
      byParent.set(d.parent, list);
    } else {
      top.push(d);
    }
  }
  const byId = (a: Device, b: Device) => a.id.localeCompare(b.id);
  const out: DeviceEntry[] = [];
  const seen = new Set<string>();
  const walk = (d: Device, depth: number) => {
    if (seen.has(d.id)) return;
    seen.add(d.id);
    out.push({ dev: d, depth });
    for (const c of (byParent.get(d.id) ?? []).sort(byId)) walk(c, depth + 1);
  };
  for (const d of top.sort(byId)) walk(d, 0);
  for (const d of devices) if (!seen.has(d.id)) walk(d, 0); // cycles: still listed
  return out;
}

/** The "online"/"offline" badge (data-testid="device-state"). */
export function stateBadge(online: boolean): HTMLSpanElement {
  const el = h('span', { 'data-testid': 'device-state' });
  setState(el, online);
  return el;
}

export function setState(el: HTMLElement, online: boolean): void {
  el.textContent = online ? 'online' : 'offline';
  el.className = 'state ' + (online ? 'online' : 'offline');
}
