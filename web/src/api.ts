// The gateway's HTTP API as the console uses it (docs/API.md): typed shapes and one fetch helper
// whose errors carry the server's words and status.

// Shapes the server defines are imported from it, type-only (nothing of the server is bundled).
import type { ConnectionState, DeviceStatus as DriverStatus, JsonValue, Quality } from '../../drivers/types';
import type { ChangeSummary, ProblemView } from '../../src/http/mappings/shapes';

export type { ChangeSummary, JsonValue, Quality };
export type Role = 'viewer' | 'operator' | 'admin';
export type DeviceState = ConnectionState;

export interface Me {
  user: string | null;
  role: Role;
  anonymous: boolean;
  loginRequired: boolean;
}

/** A device as /api/devices lists it: the driver's status, with the driver and its sample rate. */
export interface DeviceStatus extends DriverStatus {
  driver?: string;
  samplesPerSec?: number;
}

export interface Bridge {
  name: string;
  state: string;
  url: string;
  outbox: { depth: number; bytes: number; oldestAgeSec: number | null };
  sentPerSec?: number;
  dropped?: number;
}

export interface Status {
  id: string;
  version: string;
  uptimeSec: number;
  configFile: string;
  broker: { listeners: string[]; clients: number };
  devices: Array<{ id: string; driver: string; state: DeviceState }>;
  bridges: Array<{ name: string; state: string }>;
}

export interface Tag {
  device: string;
  name: string;
  topic: string;
  address: string;
  type: string;
  unit?: string;
  writable: boolean;
  min?: number;
  max?: number;
  value?: JsonValue;
  quality?: Quality;
  reason?: string;
  ts?: number;
}

/** One entry of a `tags` server-sent event. */
export interface TagUpdate {
  device: string;
  name: string;
  value: JsonValue;
  quality: Quality;
  reason?: string;
  ts: number;
}

export interface TopicNode {
  name: string;
  topic: string;
  count: number;
  retained?: { payload: string; encoding?: 'base64'; ts?: number };
  children: TopicNode[];
}

export interface BrokerMessage {
  topic: string;
  payload: string;
  encoding?: 'base64';
  retain: boolean;
  qos: number;
  ts: number;
}

export interface AuditRow {
  ts: number;
  device: string;
  tag: string;
  identity: string;
  value: JsonValue;
  outcome: string;
  error?: string;
  requestId?: string;
}

export interface MappingFile {
  file: string;
  device: string;
  tags: number;
}

export type Problem = ProblemView;

export interface Validation {
  ok: boolean;
  problems: Problem[];
  summary?: ChangeSummary;
}

export type SaveOutcome =
  | { ok: true; summary?: ChangeSummary; applied: boolean; message: string }
  | { ok: false; error: string; problems?: Problem[] };

export type WriteOutcome =
  | { ok: true; value: JsonValue; ts: number; requestId?: string }
  | { ok: false; error: string; requestId?: string };

export interface BrowseNode {
  nodeId: string;
  browseName: string;
  nodeClass: string;
  dataType?: string;
  hasChildren: boolean;
}

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly body: unknown,
  ) {
    super(message);
  }
}

/** Called on any 401: the session expired or was never there; the app shows the login page. */
let onUnauthorized: () => void = () => {};
export function setUnauthorizedHandler(handler: () => void): void {
  onUnauthorized = handler;
}

function errorText(body: unknown, status: number): string {
  if (body && typeof body === 'object' && 'error' in body && typeof body.error === 'string')
    return body.error;
  if (status === 0) return 'the gateway cannot be reached';
  return `the gateway answered ${status}`;
}

/** A JSON request; resolves with the body of a 2xx answer, rejects with an ApiError otherwise. */
export async function api<T>(
  path: string,
  init: { method?: string; body?: unknown; quiet401?: boolean } = {},
): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method: init.method ?? 'GET',
      headers:
        init.body === undefined ? { accept: 'application/json' } : { 'content-type': 'application/json' },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      credentials: 'same-origin',
    });
  } catch {
    throw new ApiError('the gateway cannot be reached', 0, undefined);
  }
  const text = res.status === 204 ? '' : await res.text();
  let body: unknown = undefined;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = { error: text.slice(0, 200) };
    }
  }
  if (res.ok) return body as T;
  if (res.status === 401 && !init.quiet401) onUnauthorized();
  throw new ApiError(errorText(body, res.status), res.status, body);
}

/** The URL segment of a tag: `/api/tags/press1/setpoint`. */
export function tagPath(device: string, name: string): string {
  return `/api/tags/${encodeURIComponent(device)}/${encodeURIComponent(name)}`;
}
