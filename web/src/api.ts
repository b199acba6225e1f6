// HTTP API client: adds the bearer token, asks for it on 401, turns error answers into ApiError.
import { askToken, getToken } from './auth';

export interface MetricValue {
  value: number | null;
  unit: string;
  time?: string;
}

export interface Device {
  id: string;
  vendor: string;
  serial: string;
  model: string | null;
  firmware: string | null;
  first_seen: string | null;
  last_seen: string | null;
  online: boolean;
  peer: string | null;
  clock_offset_s: number | null;
  parent: string | null;
}

export interface SiteInfo {
  name: string;
  timezone: string;
  sources: { pv: string[]; grid: string[]; battery: string[] };
  warnings: string[];
}

export interface SiteLatest {
  time: string | null;
  metrics: Record<string, MetricValue>;
  devices_online: number;
  devices: number;
}

export interface DeviceLatest {
  device: string;
  metrics: Record<string, MetricValue>;
}

export interface Availability {
  device: string;
  online: boolean;
}

export type Point = [string, number | null];

export interface SeriesAnswer {
  from: string;
  to: string;
  step_s: number | null;
  series: { metric: string; unit: string; points: Point[] }[];
}

export const ENERGY_KEYS = ['produced', 'consumed', 'imported', 'exported', 'charged', 'discharged'] as const;
export type EnergyKey = (typeof ENERGY_KEYS)[number];

export type EnergyRow = { start: string; self_sufficiency: number | null; complete: boolean } & Record<EnergyKey, number | null>;

export interface EnergyAnswer {
  timezone: string;
  period: string;
  rows: EnergyRow[];
}

export interface EventRow {
  time: string;
  code: string | null;
  source: string;
  text: string | null;
}

export interface FrameRow {
  time: string;
  direction: string;
  command: number | null;
  hex: string;
}

/** An answer other than 2xx, with the API's error code and detail. */
export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, detail: string) {
    super(detail);
    this.name = 'ApiError';
  }
}

/** fetch() with the token; on 401 asks for a token and tries again. */
export async function apiFetch(path: string, signal?: AbortSignal, accept = 'application/json'): Promise<Response> {
  for (;;) {
    const token = getToken();
    const headers: Record<string, string> = { Accept: accept };
    if (token) headers.Authorization = `Bearer ${token}`;
    let res: Response;
    try {
      res = await fetch(path, { headers, signal, cache: 'no-store' });
    } catch (e) {
      if (signal?.aborted) throw e;
      throw new ApiError(0, 'network', 'sunkeep could not be reached.');
    }
    if (res.status !== 401) return res;
    await res.body?.cancel().catch(() => undefined);
    if (getToken() !== token) continue; // another request already got a new token
    await askToken(token !== null);
  }
}

/** GET a JSON answer. */
export async function getJSON<T>(path: string, signal?: AbortSignal): Promise<T> {
  const res = await apiFetch(path, signal);
  if (!res.ok) {
    let code = 'http_' + res.status;
    let detail = `${res.status} ${res.statusText}`.trim();
    try {
      const body = (await res.json()) as { error?: string; detail?: string };
      if (body.error) code = body.error;
      if (body.detail) detail = body.detail;
    } catch {
      /* not JSON */
    }
    throw new ApiError(res.status, code, detail);
  }
  return (await res.json()) as T;
}

/** Builds an API path with query parameters (arrays repeat the key). */
export function apiPath(path: string, params: Record<string, string | number | (string | number)[] | undefined> = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined) continue;
    for (const item of Array.isArray(v) ? v : [v]) q.append(k, String(item));
  }
  const s = q.toString();
  return '/api/v1/' + path + (s ? '?' + s : '');
}

export function devicePath(id: string, sub = ''): string {
  return 'devices/' + encodeURIComponent(id) + (sub ? '/' + sub : '');
}

let siteCache: { at: number; value: Promise<SiteInfo> } | null = null;

/** GET /api/v1/site, kept for a minute (the zone rarely changes). */
export function siteInfo(fresh = false): Promise<SiteInfo> {
  const now = Date.now();
  if (fresh || !siteCache || now - siteCache.at > 60_000) {
    const value = getJSON<SiteInfo>(apiPath('site'));
    siteCache = { at: now, value };
    value.catch(() => {
      if (siteCache?.value === value) siteCache = null;
    });
  }
  return siteCache.value;
}

/** The site's zone, or the browser's when /site cannot be read. */
export async function siteZone(): Promise<string> {
  try {
    return (await siteInfo()).timezone || localZone();
  } catch {
    return localZone();
  }
}

export function localZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}
