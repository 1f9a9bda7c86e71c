// Values, units, times and ages in the user's locale.
import type { JsonValue } from './api';

const number = new Intl.NumberFormat(undefined, { maximumFractionDigits: 3 });
const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
const time = new Intl.DateTimeFormat(undefined, { timeStyle: 'medium' });
const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'short', timeStyle: 'medium' });

/** Unit spellings of mapping files shown as people write them. */
const UNITS: Record<string, string> = { degC: '°C', degF: '°F', degK: 'K', pct: '%', percent: '%' };

export function unitText(unit: string | undefined): string {
  if (!unit) return '';
  return UNITS[unit] ?? unit;
}

export function formatValue(value: JsonValue | undefined, unit?: string): string {
  if (value === undefined || value === null) return '–';
  let text: string;
  if (typeof value === 'number') text = number.format(value);
  else if (typeof value === 'boolean') text = value ? 'true' : 'false';
  else if (typeof value === 'string') text = value;
  else text = JSON.stringify(value);
  const u = unitText(unit);
  return u ? `${text} ${u}` : text;
}

export function formatNumber(n: number | undefined, digits: 0 | 1 | 3 = 3): string {
  if (n === undefined || !Number.isFinite(n)) return '–';
  return (digits === 0 ? integer : digits === 1 ? oneDecimal : number).format(n);
}

export function formatTime(ts: number | undefined): string {
  return ts === undefined ? '–' : time.format(ts);
}

export function formatDateTime(ts: number | undefined): string {
  return ts === undefined ? '–' : dateTime.format(ts);
}

/** A short age: `4 s`, `12 min`, `3 h`, `2 d`. */
export function formatAge(ms: number): string {
  if (!Number.isFinite(ms)) return '–';
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${integer.format(s)} s`;
  if (s < 3600) return `${integer.format(Math.floor(s / 60))} min`;
  if (s < 86400) return `${integer.format(Math.floor(s / 3600))} h`;
  return `${integer.format(Math.floor(s / 86400))} d`;
}

/** An uptime: `3 d 4 h`, `2 h 5 min`, `42 s`. */
export function formatDuration(sec: number): string {
  const d = Math.floor(sec / 86400);
  const h = Math.floor((sec % 86400) / 3600);
  const m = Math.floor((sec % 3600) / 60);
  if (d > 0) return `${d} d ${h} h`;
  if (h > 0) return `${h} h ${m} min`;
  if (m > 0) return `${m} min ${Math.floor(sec % 60)} s`;
  return `${Math.floor(sec)} s`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${integer.format(n)} B`;
  if (n < 1024 ** 2) return `${oneDecimal.format(n / 1024)} KiB`;
  if (n < 1024 ** 3) return `${oneDecimal.format(n / 1024 ** 2)} MiB`;
  return `${oneDecimal.format(n / 1024 ** 3)} GiB`;
}
