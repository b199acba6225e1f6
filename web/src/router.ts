// Hash routes, so every page has its own URL: #/, #/history, #/energy, #/devices, #/devices/<id>.

export type PageKind = 'now' | 'history' | 'energy' | 'devices' | 'device' | 'notfound';

export interface Route {
  page: PageKind;
  /** Device id (decoded) for the device page. */
  id: string;
  params: URLSearchParams;
}

/** A page mounted in <main>: `update` may take a new route of the same kind without a rebuild. */
export interface Page {
  destroy(): void;
  update?(route: Route): boolean;
}

export type PageFactory = (root: HTMLElement, route: Route) => Page;

export function parseHash(hash: string): Route {
  let s = hash.replace(/^#/, '');
  const q = s.indexOf('?');
  const params = new URLSearchParams(q >= 0 ? s.slice(q + 1) : '');
  s = (q >= 0 ? s.slice(0, q) : s).replace(/^\/+/, '').replace(/\/+$/, '');
  const route = (page: PageKind, id = ''): Route => ({ page, id, params });
  if (s === '') return route('now');
  if (s === 'history' || s === 'energy' || s === 'devices') return route(s);
  if (s.startsWith('devices/')) {
    try {
      const id = decodeURIComponent(s.slice('devices/'.length));
      if (id) return route('device', id);
    } catch {
      /* malformed escape: not found */
    }
  }
  return route('notfound');
}

/** Builds "#/path?k=v". */
export function href(path: string, params?: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params ?? {})) if (v !== undefined && v !== '') q.set(k, String(v));
  const qs = q.toString();
  return '#/' + path.replace(/^\/+/, '') + (qs ? '?' + qs : '');
}

export function deviceHref(id: string, params?: Record<string, string | number | undefined>): string {
  return href('devices/' + encodeURIComponent(id), params);
}

/** Goes to a route (a new history entry; the hashchange handler renders it). The same route again
 * is shown afresh (e.g. "24 h" clicked twice moves the range to now). */
export function go(hash: string): void {
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else location.hash = hash;
}

/** Rewrites the URL without a history entry and without a hashchange (the page already shows it). */
export function replace(hash: string): void {
  if (location.hash === hash) return;
  history.replaceState(history.state, '', hash);
}

export function setTitle(page: string): void {
  document.title = page + ' · sunkeep';
}
