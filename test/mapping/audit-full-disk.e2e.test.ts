// No command runs that cannot be audited (issue 10): with the data directory on a small tmpfs
// filled up, commands are refused with "audit log unavailable" before they reach the device, and
// run again once there is room. Needs root to mount the tmpfs (as the developers and CI run).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, rmSync, rmdirSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/net.js';
import { connect, simDevice, startStack, type Client, type Stack } from './stack.js';

const PRESS = 'acme/full/press1';
const mountPoint = mkdtempSync(path.join(tmpdir(), 'tagwire-full-'));

function tryMount(): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mountPoint], { stdio: 'ignore' });
    return true;
  } catch {
    rmdirSync(mountPoint);
    return false;
  }
}
const mounted = process.getuid?.() === 0 && tryMount();

let stack: Stack;
let client: Client;
const filler = path.join(mountPoint, 'filler');

/** Writes zeros until the filesystem is full. */
function fillDisk(): void {
  const fd = openSync(filler, 'w');
  const chunk = Buffer.alloc(64 * 1024);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
    // The last bytes that fit.
    for (let size = 32 * 1024; size >= 1; size >>= 1) {
      try {
        for (;;) writeSync(fd, chunk.subarray(0, size));
      } catch {
        // next smaller size
      }
    }
  } finally {
    closeSync(fd);
  }
}

beforeAll(async () => {
  if (!mounted) return;
  stack = await startStack({
    dataDir: path.join(mountPoint, 'data'),
    devices: [simDevice('press1', 0)],
    mappings: {
      'press1.json': {
        device: 'press1',
        topic: PRESS,
        defaults: { pollMs: 60_000, qos: 0, retain: false },
        tags: [{ name: 'setpoint', address: 'hr:200', type: 'int16', writable: true }],
      },
    },
  });
  await waitFor(() => stack.device('press1').state === 'connected', 10_000, 'connected');
  client = await connect(stack.mqttPort, { clientId: 'full-op' });
  await client.mqtt.subscribeAsync(`${PRESS}/setpoint/set/result`, { qos: 1 });
});

afterAll(async () => {
  await client?.close();
  await stack?.stop();
  if (mounted) {
    execFileSync('umount', [mountPoint]);
    rmSync(mountPoint, { recursive: true, force: true });
  }
});

const register = (): number => stack.sims[0]!.units.units.get(1)!.memory.getRegister('hr', 200);

async function command(value: number): Promise<Record<string, unknown>> {
  const from = client.messages.length;
  await client.mqtt.publishAsync(
    `${PRESS}/setpoint/set`,
    JSON.stringify({ value, requestId: `v-${value}` }),
    {
      qos: 1,
    },
  );
  return client.json(`${PRESS}/setpoint/set/result`, from);
}

describe.skipIf(!mounted)('a full disk under the audit log', () => {
  it('refuses commands with "audit log unavailable" before the device, and runs them again once there is room', async () => {
    expect(await command(1)).toMatchObject({ ok: true, value: 1 });
    fillDisk();
    // Space the database had already allocated may take a few more rows; then nothing fits.
    let refused: Record<string, unknown> | undefined;
    let value = 1;
    for (let i = 0; i < 300 && !refused; i++) {
      const before = register();
      value++;
      const result = await command(value);
      if (result.ok) {
        expect(register()).toBe(value);
        continue;
      }
      refused = result;
      expect(result).toEqual({
        ok: false,
        error: 'audit log unavailable: the command was not carried out',
        requestId: `v-${value}`,
      });
      expect(register()).toBe(before); // never reached the device
    }
    expect(refused).toBeDefined();
    rmSync(filler);
    expect(await command(1000)).toMatchObject({ ok: true, value: 1000 });
    expect(register()).toBe(1000);
    // The row is completed just after the answer.
    const rows = await waitFor(
      async () => {
        const found = await stack.audit.query({ device: 'press1' });
        return found.find((r) => r.payload.includes('"v-1000"'))?.outcome === 'ok' ? found : undefined;
      },
      5000,
      'the row of the last command',
    );
    expect(rows.some((r) => r.payload.includes(`"v-${value}"`))).toBe(false);
  });
});
