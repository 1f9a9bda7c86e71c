// Command payloads: a bare JSON value or {"value", "requestId", "ttlMs"} for a tag, {"values", ...}
// for a device, {"requestId"} or nothing for a read. Parsing never throws; it says what is wrong.
import { describeValue } from '../config/ajv-errors.js';

export interface CommandOptions {
  requestId?: string;
  /** How long the command may wait for a disconnected device; without it such a command is refused. */
  ttlMs?: number;
}

export type Parsed<T> =
  { ok: true; command: T & CommandOptions } | { ok: false; error: string; requestId?: string };

const MAX_TTL_MS = 3_600_000;
const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

function parseJson(payload: Buffer): { ok: true; value: unknown } | { ok: false; error: string } {
  const text = payload.toString('utf8').trim();
  if (text.length === 0) return { ok: false, error: 'empty payload: send a JSON value or {"value": ...}' };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false, error: `payload is not valid JSON: ${describeValue(text)}` };
  }
}

/** Reads requestId and ttlMs and refuses keys other than `allowed`. */
function options<T>(body: Record<string, unknown>, allowed: readonly string[], command: T): Parsed<T> {
  const requestId = typeof body.requestId === 'string' ? body.requestId : undefined;
  const fail = (error: string): Parsed<T> =>
    requestId === undefined ? { ok: false, error } : { ok: false, error, requestId };
  for (const key of Object.keys(body)) {
    if (!allowed.includes(key))
      return fail(`unknown key "${key}" in the command (allowed: ${allowed.join(', ')})`);
  }
  if (
    body.requestId !== undefined &&
    (requestId === undefined || requestId.length === 0 || requestId.length > 200)
  ) {
    return fail('requestId must be a string of 1 to 200 characters');
  }
  const ttl = body.ttlMs;
  if (
    ttl !== undefined &&
    (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 0 || ttl > MAX_TTL_MS)
  ) {
    return fail(`ttlMs must be an integer from 0 to ${MAX_TTL_MS}, got ${describeValue(ttl)}`);
  }
  const out = { ...command } as T & CommandOptions;
  if (requestId !== undefined) out.requestId = requestId;
  if (typeof ttl === 'number') out.ttlMs = ttl;
  return { ok: true, command: out };
}

/** `{tag topic}/set`: a bare value, or an object with `value`. */
export function parseSet(payload: Buffer): Parsed<{ value: unknown }> {
  const json = parseJson(payload);
  if (!json.ok) return json;
  if (!isObject(json.value)) return { ok: true, command: { value: json.value } };
  if (!('value' in json.value)) {
    const requestId = typeof json.value.requestId === 'string' ? json.value.requestId : undefined;
    const error = 'an object payload needs a "value" key: {"value": ..., "requestId": "..."}';
    return requestId === undefined ? { ok: false, error } : { ok: false, error, requestId };
  }
  return options(json.value, ['value', 'requestId', 'ttlMs'], { value: json.value.value });
}

/** `{device topic}/set`: `{"values": {"tagA": 1, "tagB": 2}}`, written in the order given. */
export function parseDeviceSet(payload: Buffer): Parsed<{ values: Array<[string, unknown]> }> {
  const json = parseJson(payload);
  if (!json.ok) return json;
  const body = json.value;
  if (!isObject(body) || !isObject(body.values) || Object.keys(body.values).length === 0) {
    const requestId = isObject(body) && typeof body.requestId === 'string' ? body.requestId : undefined;
    const error = 'a device command needs {"values": {"tag": value, ...}} with at least one tag';
    return requestId === undefined ? { ok: false, error } : { ok: false, error, requestId };
  }
  return options(body, ['values', 'requestId', 'ttlMs'], { values: Object.entries(body.values) });
}

/** `{tag topic}/get`: an empty payload or `{"requestId": "..."}`. */
export function parseGet(payload: Buffer): Parsed<Record<never, never>> {
  if (payload.toString('utf8').trim().length === 0) return { ok: true, command: {} };
  const json = parseJson(payload);
  if (!json.ok) return json;
  if (!isObject(json.value))
    return { ok: false, error: 'a read command takes an empty payload or {"requestId": "..."}' };
  return options(json.value, ['requestId'], {});
}
