// Live updates: reads /api/v1/live (Server-Sent Events over fetch, so the token header can be
// sent); when the stream fails or ends, polls /api/v1/site/latest every 10 s and retries later.
import { apiFetch, apiPath, getJSON } from './api';
import type { Availability, DeviceLatest, SiteLatest } from './api';

export type LiveMode = 'off' | 'connecting' | 'live' | 'polling' | 'unreachable';

export interface LiveHandlers {
  site?(s: SiteLatest): void;
  device?(d: DeviceLatest): void;
  availability?(a: Availability): void;
  /** Data may have been missed (polling, or the stream came back): refresh what you show. */
  tick?(): void;
}

const POLL_MS = 10_000;
const STALL_MS = 45_000; // the server sends a keepalive after 15 s of silence
const RETRY_MIN_MS = 5_000;
const RETRY_MAX_MS = 60_000;

const subscribers = new Set<LiveHandlers>();
const modeListeners = new Set<(m: LiveMode) => void>();
let mode: LiveMode = 'off';
let running = false;
let ctrl: AbortController | null = null;
let pollTimer = 0;
let retryTimer = 0;
let stopTimer = 0;
let stallTimer = 0;
let retryMs = RETRY_MIN_MS;
let missed = false;

/** Receive live events while the returned function has not been called. */
export function subscribe(h: LiveHandlers): () => void {
  subscribers.add(h);
  window.clearTimeout(stopTimer);
  if (!running) start();
  return () => {
    subscribers.delete(h);
    if (subscribers.size === 0) {
      window.clearTimeout(stopTimer);
      stopTimer = window.setTimeout(() => {
        if (subscribers.size === 0) stop();
      }, 2_000);
    }
  };
}

export function onModeChange(listener: (m: LiveMode) => void): void {
  modeListeners.add(listener);
  listener(mode);
}

function setMode(m: LiveMode): void {
  if (m === mode) return;
  mode = m;
  for (const l of modeListeners) l(m);
}

function emit<K extends keyof LiveHandlers>(kind: K, arg?: unknown): void {
  for (const h of [...subscribers]) {
    const fn = h[kind] as ((a?: unknown) => void) | undefined;
    if (!fn) continue;
    try {
      fn.call(h, arg);
    } catch (e) {
      // A page's handler failing must not stop the stream.
      console.info('sunkeep: live handler failed', e);
    }
  }
}

function start(): void {
  running = true;
  retryMs = RETRY_MIN_MS;
  void connect();
}

function stop(): void {
  running = false;
  ctrl?.abort();
  ctrl = null;
  window.clearInterval(pollTimer);
  window.clearTimeout(retryTimer);
  window.clearTimeout(stallTimer);
  pollTimer = 0;
  setMode('off');
}

async function connect(): Promise<void> {
  if (!running) return;
  window.clearTimeout(retryTimer);
  const c = new AbortController();
  ctrl = c;
  if (mode !== 'polling' && mode !== 'unreachable') setMode('connecting');
  try {
    const res = await apiFetch(apiPath('live'), c.signal, 'text/event-stream');
    if (!res.ok || !res.body) {
      await res.body?.cancel().catch(() => undefined);
      throw new Error('live stream refused: ' + res.status);
    }
    window.clearInterval(pollTimer);
    pollTimer = 0;
    retryMs = RETRY_MIN_MS;
    setMode('live');
    if (missed) {
      missed = false;
      emit('tick');
    }
    await read(res.body, c);
  } catch {
    /* handled below: fall back to polling */
  }
  window.clearTimeout(stallTimer);
  if (!running || ctrl !== c) return; // stopped, or a newer connection took over
  ctrl = null;
  fallBack();
}

function fallBack(): void {
  missed = true;
  if (!pollTimer) {
    setMode('polling');
    void poll();
    pollTimer = window.setInterval(() => void poll(), POLL_MS);
  }
  retryTimer = window.setTimeout(() => void connect(), retryMs);
  retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
}

async function poll(): Promise<void> {
  try {
    const s = await getJSON<SiteLatest>(apiPath('site/latest'));
    if (!running) return;
    if (mode !== 'live') setMode('polling');
    emit('site', s);
    emit('tick');
  } catch {
    if (running && mode !== 'live') setMode('unreachable');
  }
}

async function read(body: ReadableStream<Uint8Array>, c: AbortController): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  const armStall = () => {
    window.clearTimeout(stallTimer);
    stallTimer = window.setTimeout(() => c.abort(), STALL_MS);
  };
  armStall();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      armStall();
      buf += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
      let end: number;
      while ((end = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, end);
        buf = buf.slice(end + 2);
        dispatch(block);
      }
    }
  } finally {
    reader.releaseLock();
  }
}

/** Parses one SSE block ("event: X\ndata: Y", comments start with ':') and hands it out. */
function dispatch(block: string): void {
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue; // comment (keepalive)
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  if (data.length === 0) return;
  let payload: unknown;
  try {
    payload = JSON.parse(data.join('\n'));
  } catch {
    return;
  }
  if (event === 'site' || event === 'device' || event === 'availability') emit(event, payload);
}
