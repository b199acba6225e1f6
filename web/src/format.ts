// Number and time formatting: W below 10 kW, kW above; kWh; percent; "—" for unknown values.

export const NONE = '—';
const LOCALE = 'en-US';

const nf = new Map<string, Intl.NumberFormat>();
function num(v: number, minDigits: number, maxDigits: number): string {
  const key = minDigits + ':' + maxDigits;
  let f = nf.get(key);
  if (!f) {
    f = new Intl.NumberFormat(LOCALE, { minimumFractionDigits: minDigits, maximumFractionDigits: maxDigits });
    nf.set(key, f);
  }
  const s = f.format(v);
  return /^-0(\.0*)?$/.test(s) ? s.slice(1) : s; // never "-0"
}

function known(v: number | null | undefined): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** Power: "1,054 W" below 10 kW, "12.35 kW" at or above it. */
export function fmtPower(w: number | null | undefined): string {
  if (!known(w)) return NONE;
  if (Math.abs(w) >= 10_000) return num(w / 1000, 1, 2) + ' kW';
  return num(Math.round(w), 0, 0) + ' W';
}

/** Axis labels for power: shorter, same rule. */
export function fmtPowerAxis(w: number): string {
  if (Math.abs(w) >= 10_000) return num(w / 1000, 0, 1) + ' kW';
  return num(w, 0, 0) + ' W';
}

/** Energy: "29.0 kWh", "3.25 kWh". */
export function fmtEnergy(kwh: number | null | undefined): string {
  if (!known(kwh)) return NONE;
  return num(kwh, 1, 2) + ' kWh';
}

/** Energy in a table cell: the number with 2 decimals, no unit, no grouping. */
export function fmtEnergyCell(kwh: number | null | undefined): string {
  return known(kwh) ? kwh.toFixed(2) : NONE;
}

/** A ratio 0…1 as percent: "71 %". */
export function fmtRatio(r: number | null | undefined): string {
  if (!known(r)) return NONE;
  return num(Math.round(r * 100), 0, 0) + ' %';
}

/** A value already in percent (battery_soc): "50.5 %". */
export function fmtPercent(p: number | null | undefined): string {
  if (!known(p)) return NONE;
  return num(p, 0, 1) + ' %';
}

/** Any metric value with its unit. */
export function fmtValue(v: number | null | undefined, unit: string): string {
  if (!known(v)) return NONE;
  if (unit === 'W') return fmtPower(v);
  if (unit === '%') return fmtPercent(v);
  return num(v, 0, 3) + (unit ? ' ' + unit : '');
}

/** A bare number (no unit), up to 3 decimals. */
export function fmtNumber(v: number | null | undefined): string {
  return known(v) ? num(v, 0, 3) : NONE;
}

/** An API time (RFC 3339) as local date and time. */
export function fmtTime(t: string | number | null | undefined): string {
  if (t === null || t === undefined) return NONE;
  const d = new Date(typeof t === 'number' ? t * 1000 : t);
  if (Number.isNaN(d.getTime())) return NONE;
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

/** Seconds as "−0.4 s". */
export function fmtSeconds(s: number | null | undefined): string {
  if (!known(s)) return NONE;
  return num(s, 0, 3).replace('-', '−') + ' s';
}
