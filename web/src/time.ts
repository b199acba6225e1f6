// Calendar helpers in a given IANA zone (the site's), and conversions for datetime-local inputs.

const partFormats = new Map<string, Intl.DateTimeFormat>();

function partsFormat(tz: string): Intl.DateTimeFormat {
  let f = partFormats.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric',
      hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
    partFormats.set(tz, f);
  }
  return f;
}

export interface ZonedParts {
  y: number;
  m: number; // 1…12
  d: number;
  hh: number;
  mm: number;
  ss: number;
}

/** Calendar fields of Unix milliseconds `t` in zone `tz`. */
export function zonedParts(t: number, tz: string): ZonedParts {
  const p: Record<string, number> = {};
  for (const part of partsFormat(tz).formatToParts(new Date(t))) {
    if (part.type !== 'literal') p[part.type] = Number(part.value);
  }
  return { y: p.year, m: p.month, d: p.day, hh: p.hour % 24, mm: p.minute, ss: p.second };
}

/** Offset of `tz` from UTC at Unix milliseconds `t`, in ms. */
function offsetMs(t: number, tz: string): number {
  const z = zonedParts(t, tz);
  const asUtc = Date.UTC(z.y, z.m - 1, z.d, z.hh, z.mm, z.ss);
  return asUtc - Math.floor(t / 1000) * 1000;
}

/**
 * Unix seconds of the first instant of local day y-m-d in `tz` (month may overflow: 13 = next
 * January), as the server counts days: a repeated midnight is the earlier one, a midnight that
 * does not exist (clocks jump from 00:00) is the first instant that does.
 */
export function zonedMidnight(y: number, m: number, d: number, tz: string): number {
  const guess = Date.UTC(y, m - 1, d);
  const target = new Date(guess);
  const isTargetDay = (t: number) => {
    const z = zonedParts(t, tz);
    return z.y === target.getUTCFullYear() && z.m === target.getUTCMonth() + 1 && z.d === target.getUTCDate();
  };
  const off1 = offsetMs(guess, tz);
  const off2 = offsetMs(guess - off1, tz);
  const candidates = [guess - off1, guess - off2].sort((a, b) => a - b);
  const start = candidates.find(isTargetDay) ?? candidates[candidates.length - 1];
  return Math.round(start / 1000);
}

/** True when the zone name is usable by this browser. */
export function validZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Unix seconds → value of an <input type="datetime-local"> (browser's zone). */
export function toLocalInput(s: number): string {
  const d = new Date(s * 1000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** Value of an <input type="datetime-local"> → Unix seconds, or null. */
export function fromLocalInput(v: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?/.exec(v);
  if (!m) return null;
  const d = new Date(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], m[6] ? +m[6] : 0);
  const t = d.getTime();
  return Number.isNaN(t) ? null : Math.floor(t / 1000);
}

export const nowS = (): number => Math.floor(Date.now() / 1000);

/** The step rule: the smallest of these with (to − from) / step ≤ 2000. */
export const STEPS = [10, 30, 60, 300, 900, 3600, 10800, 21600, 86400];
export const MAX_POINTS = 2000;

export function chooseStep(from: number, to: number): number {
  const span = Math.max(0, to - from);
  for (const s of STEPS) if (span / s <= MAX_POINTS) return s;
  return STEPS[STEPS.length - 1];
}

export function stepLabel(s: number): string {
  if (s % 86400 === 0) return s / 86400 + ' d';
  if (s % 3600 === 0) return s / 3600 + ' h';
  if (s % 60 === 0) return s / 60 + ' min';
  return s + ' s';
}
