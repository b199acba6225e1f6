// Entry point: mounts the page for the current hash route, marks the navigation, shows the live state.
import { siteInfo } from './api';
import { askToken, getToken } from './auth';
import { onModeChange } from './live';
import type { LiveMode } from './live';
import { href, parseHash, setTitle } from './router';
import type { Page, PageFactory, PageKind, Route } from './router';
import { h } from './dom';
import { nowPage } from './pages/now';
import { historyPage } from './pages/history';
import { energyPage } from './pages/energy';
import { devicesPage } from './pages/devices';
import { devicePage } from './pages/device';

const notFound: PageFactory = (root) => {
  setTitle('Not found');
  root.append(h('h1', null, 'Page not found'),
    h('p', null, 'There is no such page. ', h('a', { href: href('') }, 'Go to Now'), '.'));
  return { destroy() {} };
};

const PAGES: Record<PageKind, PageFactory> = {
  now: nowPage, history: historyPage, energy: energyPage, devices: devicesPage, device: devicePage, notfound: notFound,
};

const NAV_OF: Record<PageKind, string> = {
  now: 'now', history: 'history', energy: 'energy', devices: 'devices', device: 'devices', notfound: '',
};

const MODE_TEXT: Record<LiveMode, string> = {
  off: '', connecting: 'connecting…', live: 'live', polling: 'polling every 10 s', unreachable: 'server unreachable',
};

let current: { kind: PageKind; id: string; page: Page } | null = null;

function markNav(route: Route): void {
  for (const a of document.querySelectorAll<HTMLAnchorElement>('nav.main-nav a[data-nav]')) {
    if (a.dataset.nav === NAV_OF[route.page]) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

function render(): void {
  const main = document.getElementById('main');
  if (!main) return;
  const route = parseHash(location.hash);
  markNav(route);
  if (current && current.kind === route.page && current.page.update?.(route)) return;
  const first = current === null;
  current?.page.destroy();
  main.replaceChildren();
  try {
    current = { kind: route.page, id: route.id, page: PAGES[route.page](main, route) };
  } catch (e) {
    current = null;
    main.replaceChildren(h('p', { class: 'status error', role: 'alert' }, 'This page failed: ' + String(e)));
    return;
  }
  if (!first) {
    window.scrollTo(0, 0);
    main.focus({ preventScroll: true }); // screen readers start at the new page
  }
}

async function tokenFirst(): Promise<void> {
  try {
    const res = await fetch('/api/v1/health', { cache: 'no-store' });
    const health = (await res.json()) as { token_required?: boolean };
    if (health.token_required && !getToken()) await askToken(false);
  } catch {
    /* unreachable now: the pages say so */
  }
}

function start(): void {
  const status = document.getElementById('live-status');
  if (status) {
    onModeChange((m) => {
      status.textContent = MODE_TEXT[m];
      status.dataset.mode = m;
    });
  }
  // Health (open to all) says whether a token is needed: with one set and none kept, the prompt
  // comes before any request that would be refused. Then the site, which fills the cache the
  // pages read the site's zone from.
  void tokenFirst()
    .then(() => siteInfo())
    .catch(() => undefined)
    .then(() => {
      window.addEventListener('hashchange', render);
      render();
    });
}

start();
