// Bridge failover against two real Mosquitto brokers, a primary and a backup, with a consumer on
// each: the flow moves to the backup when the primary dies, comes back when it returns, treats a
// primary that only accepts TCP as down, and keeps the outbox while both are down.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bridgeEntry } from '../../src/http/routes/status.js';
import { startMosquitto, type MosquittoBroker } from '../helpers/mosquitto.js';
import { freePort, waitFor } from '../helpers/net.js';
import { collect, startLocal, type Collector, type LocalGateway } from './helpers/local.js';

const TOPICS = ['line/a', 'line/b', 'line/c'];

/** A steady QoS 1 flow into the local broker: every 5 ms one message per topic, counters as payloads. */
function steadyFlow(gateway: LocalGateway): { counts: Map<string, number>; stop(): void } {
  const counts = new Map(TOPICS.map((t) => [t, 0]));
  const timer = setInterval(() => {
    for (const topic of TOPICS) {
      const n = counts.get(topic)!;
      gateway.broker.publish({ topic, payload: Buffer.from(String(n)), qos: 1, retain: false });
      counts.set(topic, n + 1);
    }
  }, 5);
  return { counts, stop: () => clearInterval(timer) };
}

/** Per upstream topic: the counters in arrival order, first arrivals only. */
function firsts(collector: Collector, topic: string): number[] {
  const seen = new Set<number>();
  const out: number[] = [];
  for (const m of collector.messages) {
    if (m.topic !== `plant/${topic}`) continue;
    const n = Number(m.payload);
    if (!seen.has(n)) out.push(n);
    seen.add(n);
  }
  return out;
}

function isIncreasing(list: readonly number[]): boolean {
  return list.every((n, i) => i === 0 || n > list[i - 1]!);
}

/**
 * Every message of every topic arrived on one broker or the other, each broker saw its share in
 * order, and what both saw (the in-flight window at an unplanned switch) stays within it.
 * Returns the number of messages seen by both.
 */
function checkDelivery(counts: Map<string, number>, collectors: Collector[], window: number): number {
  let both = 0;
  for (const [topic, count] of counts) {
    const union = new Set<number>();
    const seenBefore = new Set<number>();
    for (const c of collectors) {
      const got = firsts(c, topic);
      expect(isIncreasing(got), `${topic} in order on one broker`).toBe(true);
      for (const n of got) {
        if (union.has(n)) seenBefore.add(n);
        union.add(n);
      }
    }
    expect(union.size, `every message of ${topic}`).toBe(count);
    expect(Math.max(...union)).toBe(count - 1);
    both += seenBefore.size;
  }
  expect(both).toBeLessThanOrEqual(window);
  return both;
}

describe('bridge failover', () => {
  const brokers: MosquittoBroker[] = [];
  const collectors: Collector[] = [];
  const servers: net.Server[] = [];
  const dirs: string[] = [];
  let gateway: LocalGateway | undefined;

  afterEach(async () => {
    await gateway?.stop();
    gateway = undefined;
    await Promise.all(collectors.splice(0).map((c) => c.close()));
    await Promise.all(brokers.splice(0).map((b) => b.stop()));
    for (const s of servers.splice(0)) s.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  async function mosquitto(port?: number, extraConfig = ''): Promise<MosquittoBroker> {
    const broker = await startMosquitto({ ...(port ? { port } : {}), extraConfig });
    brokers.push(broker);
    return broker;
  }

  async function collector(port: number, options: { clientId?: string; clean?: boolean } = {}) {
    const c = await collect(port, ['plant/#', 'tagwire/#'], options);
    collectors.push(c);
    return c;
  }

  function bridge(
    addresses: unknown[],
    failover: Record<string, unknown>,
    extra: Record<string, unknown> = {},
  ) {
    return {
      name: 'plant',
      addresses,
      // A long backoff: without failover the bridge would wait on the dead primary for a minute.
      reconnect: { minDelayMs: 30_000, maxDelayMs: 60_000 },
      connectTimeoutSec: 2,
      keepaliveSec: 5,
      failover,
      statusIntervalSec: 1,
      out: [{ filter: 'line/#', prefix: 'plant/' }],
      outbox: { inflight: 100, drainRatePerSec: 0 },
      ...extra,
    };
  }

  const status = () => gateway!.manager.status()[0]!;

  /** A TCP server that accepts and never answers, counting the connections it got. */
  /** A gateway bridging to a primary and a backup, on the primary, with a steady flow going. */
  async function flowOnPrimary(
    primaryPort: number,
    backupPort: number,
    failover: Record<string, unknown>,
    extra: Record<string, unknown> = {},
  ): Promise<ReturnType<typeof steadyFlow>> {
    const addresses = [{ url: `mqtt://127.0.0.1:${primaryPort}` }, { url: `mqtt://127.0.0.1:${backupPort}` }];
    gateway = await startLocal([bridge(addresses, failover, extra)]);
    await waitFor(() => status().address?.index === 0, 10_000, 'the bridge on the primary');
    return steadyFlow(gateway);
  }

  /** A gateway whose primary accepts TCP and never answers, settled on the backup (with a consumer). */
  async function onBackupBehindSilentPrimary(failover: Record<string, unknown>) {
    const silent = await silentServer();
    const backup = await mosquitto();
    const onBackup = await collector(backup.port);
    const addresses = [
      { url: `mqtt://127.0.0.1:${silent.port}` },
      { url: `mqtt://127.0.0.1:${backup.port}` },
    ];
    gateway = await startLocal([
      bridge(addresses, { switchDelayMs: 100, ...failover }, { connectTimeoutSec: 0.5 }),
    ]);
    await waitFor(() => status().address?.index === 1, 10_000, 'the bridge on the backup');
    return { silent, onBackup };
  }

  /** After `flow` stopped: the outbox empties and the last message of every topic is on `on`. */
  async function flowDone(flow: ReturnType<typeof steadyFlow>, on: Collector, where: string): Promise<void> {
    await waitFor(
      () => status().outbox.messages === 0 && status().inflight === 0,
      20_000,
      'the outbox to drain',
    );
    await waitFor(
      () => [...flow.counts].every(([t, n]) => firsts(on, t).at(-1) === n - 1),
      10_000,
      `the last messages on the ${where}`,
    );
  }

  async function silentServer(): Promise<{ port: number; readonly accepted: number }> {
    const server = net.createServer((socket) => {
      counter.accepted++;
      socket.on('error', () => undefined);
    });
    const counter = { port: 0, accepted: 0 };
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    counter.port = (server.address() as net.AddressInfo).port;
    return counter;
  }

  it('moves a steady QoS 1 flow to the backup when the primary is killed, losing nothing', async () => {
    const primary = await mosquitto();
    const backup = await mosquitto();
    const onPrimary = await collector(primary.port);
    const onBackup = await collector(backup.port);
    const flow = await flowOnPrimary(primary.port, backup.port, { switchDelayMs: 300, primaryCheckSec: 600 });
    try {
      await waitFor(() => onPrimary.messages.length > 300, 10_000, 'traffic on the primary');
      primary.process.kill('SIGKILL');
      const killedAt = Date.now();
      await waitFor(() => status().address?.index === 1, 20_000, 'the bridge on the backup');
      const switchMs = Date.now() - killedAt;
      const onBackupAtSwitch = onBackup.messages.length;
      await waitFor(
        () => onBackup.messages.length > onBackupAtSwitch + 300,
        10_000,
        'the flow on the backup',
      );
      // Far below the 30-60 s reconnect backoff: the switch delay and one connect.
      expect(switchMs).toBeLessThan(10_000);
      console.log(`failover: on the backup ${switchMs} ms after the primary was killed`);
    } finally {
      flow.stop();
    }
    await flowDone(flow, onBackup, 'backup');
    const both = checkDelivery(flow.counts, [onPrimary, onBackup], 100);
    console.log(
      `failover: ${[...flow.counts.values()].reduce((a, b) => a + b)} messages, ${both} on both brokers`,
    );
    expect(status().dropped).toBe(0);
    // The HTTP API's bridge view says the same.
    expect(bridgeEntry(status())).toMatchObject({
      url: `mqtt://127.0.0.1:${backup.port}`,
      address: { index: 1, primary: false, url: `mqtt://127.0.0.1:${backup.port}` },
      lastSwitch: { from: `mqtt://127.0.0.1:${primary.port}`, to: `mqtt://127.0.0.1:${backup.port}` },
    });
    const sys = new Map<string, string>();
    gateway!.broker.subscribe('$SYS/broker/bridges/plant/address/#', (m) =>
      sys.set(m.topic, m.payload.toString()),
    );
    gateway!.broker.subscribe('$SYS/broker/bridges/plant/address', (m) =>
      sys.set(m.topic, m.payload.toString()),
    );
    await waitFor(() => sys.get('$SYS/broker/bridges/plant/address/index') === '1', 5000, '$SYS address');
    expect(sys.get('$SYS/broker/bridges/plant/address')).toBe(`mqtt://127.0.0.1:${backup.port}`);
    expect(Date.parse(sys.get('$SYS/broker/bridges/plant/address/since')!)).toBeGreaterThan(0);
    // The backup's consumer sees where this gateway is, and since when.
    const where = onBackup.messages.filter((m) => m.topic === 'tagwire/edge-test/status/address').at(-1);
    expect(JSON.parse(where!.payload)).toMatchObject({
      index: 1,
      primary: false,
      url: `mqtt://127.0.0.1:${backup.port}`,
    });
  });

  it('leaves a primary that stops acknowledging (process frozen, TCP still open) for the backup', async () => {
    const primary = await mosquitto();
    const backup = await mosquitto();
    const onPrimary = await collector(primary.port);
    const onBackup = await collector(backup.port);
    const flow = await flowOnPrimary(
      primary.port,
      backup.port,
      { switchDelayMs: 100, primaryCheckSec: 600, ackTimeoutSec: 1 },
      { keepaliveSec: 120 }, // keep alive would take minutes: the overdue acknowledgements decide
    );
    try {
      await waitFor(() => onPrimary.messages.length > 200, 10_000, 'traffic on the primary');
      primary.process.kill('SIGSTOP');
      await waitFor(() => status().address?.index === 1, 20_000, 'the bridge on the backup');
      await waitFor(() => onBackup.messages.length > 200, 10_000, 'the flow on the backup');
      expect(status().lastSwitch).toMatchObject({
        from: `mqtt://127.0.0.1:${primary.port}`,
        to: `mqtt://127.0.0.1:${backup.port}`,
        reason: expect.stringMatching(/no acknowledgement for \d+ s/),
      });
    } finally {
      flow.stop();
      primary.process.kill('SIGCONT');
    }
    await flowDone(flow, onBackup, 'backup');
    checkDelivery(flow.counts, [onPrimary, onBackup], 100);
  });

  it('returns to the primary once it is back, with nothing lost and nothing sent twice', async () => {
    const persist = mkdtempSync(path.join(tmpdir(), 'tagwire-mosq-primary-'));
    dirs.push(persist);
    // The primary keeps its consumer's session across the outage (persistence, a clean stop).
    const conf = `user root\npersistence true\npersistence_location ${persist}/\nmax_queued_messages 0\n`;
    const port = await freePort();
    let primary = await mosquitto(port, conf);
    const backup = await mosquitto();
    const onPrimary = await collector(port, { clientId: 'primary-consumer', clean: false });
    const onBackup = await collector(backup.port);
    const flow = await flowOnPrimary(port, backup.port, { switchDelayMs: 200, primaryCheckSec: 1 });
    try {
      await waitFor(() => onPrimary.messages.length > 200, 10_000, 'traffic on the primary');
      await primary.stop();
      brokers.splice(brokers.indexOf(primary), 1);
      await waitFor(() => status().address?.index === 1, 20_000, 'the bridge on the backup');
      await waitFor(() => onBackup.messages.length > 300, 10_000, 'the flow on the backup');
      primary = await mosquitto(port, conf);
      await waitFor(() => status().address?.index === 0, 20_000, 'the bridge back on the primary');
      const back = onPrimary.messages.length;
      await waitFor(() => onPrimary.messages.length > back + 300, 10_000, 'the flow on the primary again');
    } finally {
      flow.stop();
    }
    await flowDone(flow, onPrimary, 'primary');
    checkDelivery(flow.counts, [onPrimary, onBackup], 100);
    // The planned return waited for every acknowledgement: what the backup got, the primary did not.
    for (const topic of TOPICS) {
      const atBackup = firsts(onBackup, topic);
      const afterReturn = firsts(onPrimary, topic).filter((n) => n > atBackup.at(-1)!);
      expect(afterReturn[0]).toBe(atBackup.at(-1)! + 1);
    }
    expect(status().address).toMatchObject({ index: 0, primary: true });
    // Gone from the backup: its retained status says so.
    const last = onBackup.messages.filter((m) => m.topic === 'tagwire/edge-test/status').at(-1);
    expect(last?.payload).toBe('offline');
  });

  it('takes a primary that accepts TCP but never answers CONNECT as down, and stays on the backup', async () => {
    const { silent, onBackup } = await onBackupBehindSilentPrimary({ primaryCheckSec: 0.5 });
    for (let i = 0; i < 100; i++)
      gateway!.broker.publish({ topic: 'line/a', payload: Buffer.from(String(i)), qos: 1, retain: false });
    await waitFor(() => firsts(onBackup, 'line/a').length === 100, 10_000, 'every message on the backup');
    expect(firsts(onBackup, 'line/a')).toEqual(Array.from({ length: 100 }, (_, i) => i));
    // The primary was checked again and again (a connect each time), and never taken as back.
    await waitFor(() => silent.accepted >= 4, 10_000, 'several checks of the silent primary');
    expect(status().address?.index).toBe(1);
    expect(status().lastError).toBeUndefined();
  });

  it('stays on the backup when returnToPrimary is off (a cluster of equals): the primary is not checked', async () => {
    const { silent, onBackup } = await onBackupBehindSilentPrimary({
      primaryCheckSec: 0.2,
      returnToPrimary: false,
    });
    const triedAtStart = silent.accepted;
    for (let i = 0; i < 200; i++) {
      gateway!.broker.publish({ topic: 'line/a', payload: Buffer.from(String(i)), qos: 1, retain: false });
      if (i % 20 === 19) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await waitFor(() => firsts(onBackup, 'line/a').length === 200, 10_000, 'every message on the backup');
    // Half a second of traffic is 2-3 check periods: with returnToPrimary on, the primary would have been tried.
    expect(silent.accepted).toBe(triedAtStart);
    expect(status().address?.index).toBe(1);
  });

  it('holds the outbox while both are down, then drains it in order to whichever comes back first', async () => {
    const primaryPort = await freePort();
    const backupPort = await freePort();
    const persist = mkdtempSync(path.join(tmpdir(), 'tagwire-mosq-backup-'));
    dirs.push(persist);
    const conf = `user root\npersistence true\npersistence_location ${persist}/\nmax_queued_messages 0\n`;
    // The consumer subscribes once while the backup is up, so its session waits for the messages.
    const first = await startMosquitto({ port: backupPort, extraConfig: conf });
    const onBackup = await collector(backupPort, { clientId: 'backup-consumer', clean: false });
    await first.stop();
    gateway = await startLocal([
      bridge(
        [{ url: `mqtt://127.0.0.1:${primaryPort}` }, { url: `mqtt://127.0.0.1:${backupPort}` }],
        { switchDelayMs: 100, primaryCheckSec: 600 },
        { reconnect: { minDelayMs: 200, maxDelayMs: 400 } },
      ),
    ]);
    const count = 500;
    for (let i = 0; i < count; i++)
      for (const topic of TOPICS)
        gateway.broker.publish({ topic, payload: Buffer.from(String(i)), qos: 1, retain: false });
    await waitFor(() => status().outbox.messages === count * TOPICS.length, 10_000, 'the outbox to hold all');
    expect(status().connected).toBe(false);
    await mosquitto(backupPort, conf);
    await waitFor(() => status().address?.index === 1, 20_000, 'the bridge on the backup');
    await waitFor(
      () => TOPICS.every((t) => firsts(onBackup, t).length === count),
      20_000,
      'the backlog on the backup',
    );
    for (const topic of TOPICS)
      expect(firsts(onBackup, topic)).toEqual(Array.from({ length: count }, (_, i) => i));
    await waitFor(() => status().outbox.messages === 0, 10_000, 'the outbox empty');
  });

  it('uses each address with its own credentials', async () => {
    const plain = await startMosquitto({ extraConfig: 'user root' });
    await plain.stop();
    const passwd = path.join(plain.dir, 'passwd');
    execFileSync('mosquitto_passwd', ['-b', '-c', passwd, 'backup-user', 'backup-secret']);
    const port = await freePort();
    await mosquitto(
      port,
      `user root\nlistener ${port} 127.0.0.1\nallow_anonymous false\npassword_file ${passwd}`,
    );
    const deadPort = await freePort();
    gateway = await startLocal([
      bridge(
        [
          { url: `mqtt://127.0.0.1:${deadPort}` },
          { url: `mqtt://127.0.0.1:${port}`, username: 'backup-user', password: 'backup-secret' },
        ],
        { switchDelayMs: 100, primaryCheckSec: 600 },
        { username: 'primary-user', password: 'wrong-here' },
      ),
    ]);
    await waitFor(() => status().address?.index === 1, 10_000, 'the bridge on the backup');
    expect(status().url).toBe(`mqtt://127.0.0.1:${port}`);
  });
});
