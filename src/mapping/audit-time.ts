// The times an audit query is bounded by (`tagwire audit --since`, `/api/audit?since=`): an ISO
// date/time or an age before now such as 30m, 12h, 7d.
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Epoch ms of a TIME option, or an Error saying why it is not one. */
export function parseTime(text: string, now = Date.now()): number {
  const age = /^(\d+(?:\.\d+)?)([smhd])$/.exec(text);
  if (age) return now - Number(age[1]) * UNIT_MS[age[2]!]!;
  const ms = Date.parse(text);
  if (Number.isNaN(ms))
    throw new Error(`"${text}" is not a time: use an ISO date/time or an age such as 30m, 12h, 7d`);
  return ms;
}
