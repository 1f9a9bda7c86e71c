// A full disk, for real: the data directory on a small tmpfs (mounted by the test, as root), filled
// up by another file. While nothing can be stored, publishers are refused (MQTT 5: PUBACK 0x97 or
// 0x80; MQTT 3.1.1: no PUBACK), delivered outbox rows are still deleted, errors are logged a few
// times with counts rather than once per message, and a restart re-sends nothing delivered.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parseBridgeConfig } from '../../src/bridge/config.js';
import { BridgeManager } from '../../src/bridge/manager.js';
import { Broker } from '../../src/broker/broker.js';
import { parseBrokerConfig } from '../../src/broker/config.js';
import { Database } from '../../src/store/db.js';
import { startMosquitto, type MosquittoBroker } from '../helpers/mosquitto.js';
import { freePort, waitFor } from '../helpers/net.js';

/** Why the test cannot run here, or null: it needs root to mount a tmpfs. */
function mountProblem(): string | null {
  if (process.getuid?.() !== 0) return 'needs root to mount a tmpfs';
  const probe = mkdtempSync(path.join(tmpdir(), 'tagwire-tmpfs-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'pipe' });
    execFileSync('umount', [probe], { stdio: 'pipe' });
    return null;
  } catch (err) {
    return `cannot mount a tmpfs: ${(err as Error).message.split('\n')[0]}`;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}

const problem = mountProblem();
const MiB = 1024 * 1024;

/** Writes zeros into `file` until the filesystem refuses (ENOSPC). */
function fill(file: string): void {
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(16 * 1024);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
}

interface Outcome {
  ok: number;
  /** The ids (payload prefix, topic suffix with `{id}`) of the messages acknowledged. */
  okIds: number[];
  refused: Map<number, number>;
}

let nextId = 0;

/** Publishes `count` QoS 1 messages and waits for every acknowledgement. */
async function publish(
  client: MqttClient,
  topic: string,
  count: number,
  { retain = false, bytes = 200 } = {},
): Promise<Outcome> {
  const outcome: Outcome = { ok: 0, okIds: [], refused: new Map() };
  await Promise.all(
    Array.from({ length: count }, () => {
      const id = nextId++;
      return new Promise<void>((resolve) =>
        client.publish(
          topic.replace('{id}', String(id)),
          `${id}:`.padEnd(bytes, '.'),
          { qos: 1, retain },
          (err) => {
            if (!err) {
              outcome.ok++;
              outcome.okIds.push(id);
            } else {
              const code = (err as Error & { code?: number }).code ?? -1;
              outcome.refused.set(code, (outcome.refused.get(code) ?? 0) + 1);
            }
            resolve();
          },
        ),
      );
    }),
  );
  return outcome;
}

/** Publishes rounds of 100 until one is refused whole; returns how many were acknowledged. */
async function publishUntilRefused(
  client: MqttClient,
  topic: string,
  options: { bytes?: number; retain?: boolean; count?: number } = {},
): Promise<Outcome> {
  const total: Outcome = { ok: 0, okIds: [], refused: new Map() };
  for (let round = 0; round < 100; round++) {
    const outcome = await publish(client, topic, options.count ?? 100, options);
    total.ok += outcome.ok;
    total.okIds.push(...outcome.okIds);
    for (const [code, n] of outcome.refused) total.refused.set(code, (total.refused.get(code) ?? 0) + n);
    if (outcome.ok === 0) return total;
  }
  throw new Error(`${topic}: still acknowledged after ${total.ok} messages on a full disk`);
}

describe('a full disk', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it.skipIf(problem !== null)(
    `refuses what it cannot store, deletes what was delivered, logs with counts${problem ? ` (skipped: ${problem})` : ''}`,
    async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'tagwire-full-disk-'));
      cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
      const dataDir = path.join(dir, 'data');
      mkdirSync(dataDir);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', dataDir]);
      cleanup.push(() => {
        execFileSync('umount', ['-l', dataDir]);
      });

      const logLines: { level: number; msg: string }[] = [];
      const log = pino(
        { level: 'info' },
        { write: (line: string) => logLines.push(JSON.parse(line) as { level: number; msg: string }) },
      );
      const upstreamPort = await freePort(); // the WAN is down at first
      const bridge = parseBridgeConfig({
        name: 'plant',
        url: `mqtt://127.0.0.1:${upstreamPort}`,
        reconnect: { minDelayMs: 100, maxDelayMs: 200 },
        out: [{ filter: 'disk/#', qos: 1 }],
        outbox: { drainRatePerSec: 0, minFreeBytes: 4 * MiB },
        statusIntervalSec: 0,
      });
      const open = async () => {
        const db = await Database.open(path.join(dataDir, 'tagwire.db'));
        const broker = new Broker({
          config: parseBrokerConfig({
            listeners: [{ protocol: 'mqtt', host: '127.0.0.1', port: 0 }],
            sys: { intervalSec: 0 },
            limits: { maxQueuedMessages: 100_000 },
          }),
          db,
          log,
        });
        await broker.open();
        const manager = new BridgeManager({
          bridges: [bridge],
          gatewayId: 'edge-full',
          broker,
          log,
          dataDir,
        });
        await manager.start();
        await broker.listen();
        const stop = async () => {
          await manager.stop();
          await broker.stop();
          await db.close();
        };
        return { broker, manager, port: broker.listening()[0]!.port, stop };
      };
      let gw = await open();
      let stopped = false;
      cleanup.push(() => (stopped ? undefined : gw.stop()));
      const status = () => gw.manager.status()[0]!;
      const connect = async (clientId: string, protocolVersion: 4 | 5, clean = true) => {
        const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${gw.port}`, {
          clientId,
          protocolVersion,
          clean,
          reconnectPeriod: 0,
          ...(protocolVersion === 5 && !clean ? { properties: { sessionExpiryInterval: 3600 } } : {}),
        });
        cleanup.push(() => client.endAsync(true));
        return client;
      };

      // An offline persistent session on local/#: its messages go to the broker's SQLite.
      const sub = await connect('full-sub', 5, false);
      await sub.subscribeAsync('local/#', { qos: 1 });
      await sub.endAsync();
      const v5 = await connect('full-v5', 5);

      // 1. Room on the disk: 2000 messages for the bridge (upstream down) are taken and acknowledged.
      expect((await publish(v5, 'disk/a', 2000)).ok).toBe(2000);
      expect(status().outbox.messages).toBe(2000);

      // 2. Another program fills the disk.
      const filler = path.join(dataDir, 'filler');
      fill(filler);
      const linesBefore = logLines.length;
      // What still fits in SQLite's own free pages is stored (and acknowledged: it is on disk);
      // within a few hundred messages the outbox sees the disk below its reserve and refuses.
      const storedAfterFill = (await publishUntilRefused(v5, 'disk/a')).ok;
      expect(status().outbox.messages).toBe(2000 + storedAfterFill);
      const bridged = await publish(v5, 'disk/a', 1000);
      expect(bridged.ok).toBe(0);
      expect([...bridged.refused.keys()].every((code) => code === 0x97 || code === 0x80)).toBe(true);
      // The broker's own SQLite (sessions, retained messages) fills up too: a failed write is
      // refused (0x80), never reported as done; what was acknowledged is there after the restart.
      const session = await publishUntilRefused(v5, 'local/q', { bytes: 16 * 1024 });
      expect([...session.refused.keys()]).toEqual([0x80]);
      const retained = await publishUntilRefused(v5, 'local/r/{id}', {
        bytes: 16 * 1024,
        retain: true,
        count: 20,
      });
      expect([...retained.refused.keys()]).toEqual([0x80]);
      // MQTT 3.1.1 has no negative PUBACK: no acknowledgement at all, the client sends it again.
      const v3 = await connect('full-v3', 4);
      let v3Acked = 0;
      const notStored = gw.broker.stats().publishNotStored;
      for (let i = 0; i < 20; i++) v3.publish('disk/b', 'x', { qos: 1 }, (err) => !err && v3Acked++);
      await publish(v5, 'disk/a', 1); // refused too
      // The broker counts each refusal where it decides not to acknowledge: once all 21 are
      // counted, no PUBACK for the v3 publishes can come any more.
      await waitFor(
        () => gw.broker.stats().publishNotStored >= notStored + 21,
        10_000,
        'the 20 v3 publishes refused',
      );
      expect(v3Acked).toBe(0);

      // 3. The upstream comes back while the disk is still full: the backlog goes out and the
      // delivered rows are deleted.
      let upstream: MosquittoBroker | undefined = await startMosquitto({ port: upstreamPort });
      cleanup.push(() => upstream?.stop());
      const backlog = 2000 + storedAfterFill;
      await waitFor(
        () => status().sent >= backlog && status().outbox.messages === 0,
        30_000,
        'the drain',
      ).catch((err: Error) => {
        const said = logLines.filter((l) => l.level >= 40).map((l) => JSON.stringify(l));
        throw new Error(`${err.message}: ${JSON.stringify(status())}\n${said.join('\n')}`);
      });
      expect((await publish(v5, 'disk/a', 100)).ok).toBe(0); // still nothing can be stored

      // Logged with counts, not once per message: well over a thousand refusals, a few lines.
      const errorLines = logLines.slice(linesBefore).filter((l) => l.level >= 40);
      expect(errorLines.length).toBeGreaterThan(0);
      expect(errorLines.length).toBeLessThan(15);

      // 4. Space comes back: acknowledged again, and delivered.
      unlinkSync(filler);
      await waitFor(
        async () => (await publish(v5, 'disk/c', 10)).ok === 10,
        10_000,
        'publishes acknowledged',
      );
      expect((await publish(v5, 'local/q', 10)).ok).toBe(10);
      const sent = status().sent;
      await waitFor(() => status().outbox.messages === 0, 10_000, 'the new messages delivered');
      expect(status().sent).toBeGreaterThan(sent - 1);

      // 5. A restart finds nothing delivered left to send again.
      await gw.stop();
      stopped = true;
      gw = await open();
      stopped = false;
      expect(status().outbox.messages).toBe(0);
      // Every acknowledged message of the persistent session, every acknowledged retained one.
      const wanted = new Set([...session.okIds, ...retained.okIds]);
      const back = await connect('full-sub', 5, false);
      back.on('message', (_t, payload) => wanted.delete(Number(payload.toString().split(':')[0])));
      await back.subscribeAsync('local/r/#', { qos: 1 });
      await waitFor(() => wanted.size === 0, 10_000, 'acknowledged messages after the restart').catch(() => {
        throw new Error(`acknowledged but missing after the restart: ${[...wanted].slice(0, 20).join(', ')}`);
      });
      await back.endAsync();
      await gw.stop();
      stopped = true;
      await upstream.stop();
      upstream = undefined;
    },
    90_000,
  );
});
