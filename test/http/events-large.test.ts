// /api/events on a large gateway: the first event's worth of latest values (every tag, here about
// 5 MB of JSON) goes in parts, and the stream stays open to carry live values after them. As one
// write it would exceed what a client may have unread (4 MB) and the stream would end each time.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { Gateway } from '../../src/gateway.js';
import { silentLogger } from '../../src/log.js';
import { freePort, waitFor } from '../helpers/net.js';
import { readEvents } from './sse.js';

const TAGS = 30_000;
/** Long names (up to 128 characters) make the values' JSON large with fewer registers to poll. */
const name = (i: number) => `${'a-rather-long-tag-name-'.repeat(5)}${i}`;

let dir: string;
let gateway: Gateway;
let base: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'tagwire-events-large-'));
  mkdirSync(path.join(dir, 'mappings'));
  const [mqtt, modbus, http] = [await freePort(), await freePort(), await freePort()];
  writeFileSync(
    path.join(dir, 'mappings', 'big1.json'),
    JSON.stringify({
      device: 'big1',
      topic: 'test/big1',
      defaults: { pollMs: 2000, qos: 0 },
      tags: Array.from({ length: TAGS }, (_, i) => ({ name: name(i), address: `hr:${i}`, type: 'uint16' })),
    }),
  );
  writeFileSync(
    path.join(dir, 'gateway.json'),
    JSON.stringify({
      gateway: { id: 'events-large', dataDir: path.join(dir, 'data') },
      broker: { listeners: [{ protocol: 'mqtt', host: '127.0.0.1', port: mqtt }], allowAnonymous: true },
      devices: [
        {
          id: 'big1',
          driver: 'modbus',
          transport: { type: 'tcp', host: '127.0.0.1', port: modbus },
          unitId: 1,
        },
      ],
      mappings: ['mappings/*.json'],
      simulators: {
        modbus: [
          {
            port: modbus,
            profile: 'none',
            periodMs: 2000,
            signals: Array.from({ length: TAGS }, (_, i) => ({
              address: `hr:${i}`,
              kind: 'counter',
              type: 'uint16',
              step: 1,
            })),
          },
        ],
      },
      http: { host: '127.0.0.1', port: http, allowAnonymous: true },
    }),
  );
  gateway = new Gateway(await loadConfig(path.join(dir, 'gateway.json')), { log: silentLogger() });
  await gateway.start();
  base = `http://127.0.0.1:${http}`;
  await waitFor(
    async () => {
      const res = await fetch(`${base}/api/tags?limit=1&offset=${TAGS - 1}`);
      return ((await res.json()) as { items: Array<{ ts?: number }> }).items[0]?.ts !== undefined;
    },
    60_000,
    'values of the last tag',
  );
}, 90_000);

afterAll(async () => {
  await gateway?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('the event stream of a large gateway', () => {
  it('sends every latest value in parts, then stays open with live values', async () => {
    const seen = new Set<string>();
    let read = 0;
    let eventsAfterAll = 0;
    const { status, events, ended } = await readEvents(
      `${base}/api/events`,
      {},
      (received) => {
        // Called once per chunk read, which may hold several events.
        for (; read < received.length; read++) {
          const event = received[read]!;
          if (event.event !== 'tags') continue;
          if (seen.size === TAGS) eventsAfterAll++;
          for (const update of event.data as Array<{ name: string }>) seen.add(update.name);
        }
        return eventsAfterAll >= 2;
      },
      60_000,
    );
    expect(status).toBe(200);
    expect(ended).toBe(false);
    expect(seen.size).toBe(TAGS);
    const sizes = events.filter((e) => e.event === 'tags').map((e) => (e.data as unknown[]).length);
    // The first values came in parts of at most 10,000, not as one event of all 30,000.
    expect(Math.max(...sizes)).toBeLessThanOrEqual(10_000);
    expect(sizes.length).toBeGreaterThanOrEqual(5);
  }, 90_000);
});
