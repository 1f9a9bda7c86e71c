// Store and forward against a real Mosquitto: an outage during a steady publish, the outbox bound
// with its drop policy, and the backlog draining at its rate while live traffic goes through.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startMosquitto, type MosquittoBroker } from '../helpers/mosquitto.js';
import { freePort, sleep, waitFor } from '../helpers/net.js';
import { collect, startLocal, type Collector, type LocalGateway } from './helpers/local.js';

/** Per topic: the payload counters in arrival order. */
function byTopic(messages: Collector['messages'], prefix: string): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const m of messages) {
    if (!m.topic.startsWith(prefix)) continue;
    const list = out.get(m.topic) ?? [];
    list.push(Number(m.payload));
    out.set(m.topic, list);
  }
  return out;
}

/**
 * Checks a topic's arrivals: every counter 0..count-1 arrives, first arrivals in order. Returns the
 * duplicates (QoS 1 resends what was in flight, unacknowledged, when the link dropped).
 */
function checkOrder(received: number[], count: number): number {
  const firsts: number[] = [];
  const seen = new Set<number>();
  for (const n of received) {
    if (!seen.has(n)) firsts.push(n);
    seen.add(n);
  }
  expect(firsts).toEqual(Array.from({ length: count }, (_, i) => i));
  return received.length - firsts.length;
}

describe('store and forward', () => {
  const brokers: MosquittoBroker[] = [];
  let gateway: LocalGateway | undefined;
  let collector: Collector | undefined;
  const dirs: string[] = [];

  afterEach(async () => {
    await collector?.close();
    await gateway?.stop();
    await Promise.all(brokers.splice(0).map((b) => b.stop()));
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
    collector = gateway = undefined;
  });

  /**
   * An upstream that is down, with a collector that subscribed while it was up: the collector's
   * persistent session is kept across the restart, so nothing the bridge sends before the
   * collector reconnects is lost to the test.
   */
  async function downUpstreamWithCollector(port: number, filters: string[]): Promise<() => Promise<void>> {
    const persist = mkdtempSync(path.join(tmpdir(), 'tagwire-mosq-persist-'));
    dirs.push(persist);
    const conf = `user root\npersistence true\npersistence_location ${persist}/\nmax_queued_messages 0\n`;
    const first = await startMosquitto({ port, extraConfig: conf });
    collector = await collect(port, filters, { clientId: `collector-${port}`, clean: false });
    await first.stop();
    return async () => {
      brokers.push(await startMosquitto({ port, extraConfig: conf }));
    };
  }

  it('an upstream stopped during a steady publish gets every message once back, in order per topic', async () => {
    const port = await freePort();
    const persist = mkdtempSync(path.join(tmpdir(), 'tagwire-mosq-persist-'));
    dirs.push(persist);
    // Persistence keeps the collector's session (and what is queued for it) across the restart.
    const conf = `user root\npersistence true\npersistence_location ${persist}/\nmax_queued_messages 0\n`;
    let upstream = await startMosquitto({ port, extraConfig: conf });
    brokers.push(upstream);
    collector = await collect(port, ['plant/#'], { clientId: 'steady-collector', clean: false });
    gateway = await startLocal([
      {
        name: 'plant',
        url: `mqtt://127.0.0.1:${port}`,
        reconnect: { minDelayMs: 200, maxDelayMs: 1000 },
        out: [{ filter: 'line/#', prefix: 'plant/' }],
        outbox: { drainRatePerSec: 2000, inflight: 100 },
      },
    ]);
    await waitFor(() => gateway!.manager.status()[0]!.connected, 10_000, 'the bridge to connect');

    const topics = ['line/a', 'line/b', 'line/c', 'line/d'];
    const counters = new Map(topics.map((t) => [t, 0]));
    const tick = () => {
      for (const t of topics) {
        const n = counters.get(t)!;
        gateway!.broker.publish({ topic: t, payload: Buffer.from(String(n)), qos: 1, retain: false });
        counters.set(t, n + 1);
      }
    };
    const timer = setInterval(() => {
      for (let i = 0; i < 5; i++) tick();
    }, 5);
    // Phases by what happened, not by time: a flow going out, a backlog building during the
    // outage, and the flow going on once the upstream is back.
    const status = () => gateway!.manager.status()[0]!;
    try {
      await waitFor(() => status().sent >= 2000, 30_000, '2000 messages sent before the outage');
      await upstream.stop();
      brokers.splice(brokers.indexOf(upstream), 1);
      await waitFor(() => !status().connected, 10_000, 'the bridge to see the outage');
      await waitFor(() => status().outbox.messages >= 2000, 30_000, 'a backlog of 2000 during the outage');
      expect(status().lastError?.kind).toBeDefined();
      upstream = await startMosquitto({ port, extraConfig: conf });
      brokers.push(upstream);
      await waitFor(() => status().connected, 10_000, 'the bridge to reconnect');
      const sentAtReconnect = status().sent;
      await waitFor(() => status().sent >= sentAtReconnect + 2000, 30_000, '2000 more sent after it');
    } finally {
      clearInterval(timer);
    }
    const total = [...counters.values()].reduce((a, b) => a + b, 0);
    await waitFor(() => gateway!.manager.status()[0]!.outbox.messages === 0, 30_000, 'the outbox to drain');
    await waitFor(
      () => new Set(collector!.messages.map((m) => `${m.topic}#${m.payload}`)).size >= total,
      30_000,
      'every message',
    );
    const got = byTopic(collector.messages, 'plant/');
    let duplicates = 0;
    for (const t of topics) duplicates += checkOrder(got.get(`plant/${t}`) ?? [], counters.get(t)!);
    // Allowed duplicates: at most what was in flight (window 100) when the link dropped.
    expect(duplicates).toBeLessThanOrEqual(100);
    expect(status().dropped).toBe(0);
    expect(status().connected).toBe(true);
    console.log(`outage test: ${total} messages, ${duplicates} duplicates at the reconnect edge`);
  });

  it('past the message bound the oldest are dropped, counted and reported; the newest arrive', async () => {
    const port = await freePort();
    const restartUpstream = await downUpstreamWithCollector(port, ['bounded/#']);
    gateway = await startLocal([
      {
        name: 'plant',
        url: `mqtt://127.0.0.1:${port}`,
        reconnect: { minDelayMs: 200, maxDelayMs: 500 },
        statusIntervalSec: 1,
        out: [{ filter: 'bounded/#' }],
        outbox: { maxMessages: 100 },
      },
    ]);
    const sys = new Map<string, string>();
    gateway.broker.subscribe('$SYS/broker/bridges/plant/#', (m) => sys.set(m.topic, m.payload.toString()));
    for (let i = 0; i < 300; i++) {
      gateway.broker.publish({ topic: 'bounded/x', payload: Buffer.from(String(i)), qos: 1, retain: false });
      if (i % 50 === 49) await sleep(20);
    }
    await waitFor(() => gateway!.manager.status()[0]!.dropped === 200, 10_000, '200 drops');
    const status = gateway.manager.status()[0]!;
    expect(status.droppedBy['max-messages']).toBe(200);
    expect(status.outbox.messages).toBe(100);
    expect(status.lastError?.kind).toBe('refused');
    await waitFor(
      () => sys.get('$SYS/broker/bridges/plant/messages/dropped') === '200',
      10_000,
      'drops on $SYS',
    );

    await restartUpstream();
    await waitFor(() => collector!.messages.length >= 100, 20_000, 'the kept 100');
    expect(collector!.messages.map((m) => Number(m.payload))).toEqual(
      Array.from({ length: 100 }, (_, i) => 200 + i),
    );
  });

  it('drains a backlog at its rate, in order, while live topics go through at once', async () => {
    const port = await freePort();
    const restartUpstream = await downUpstreamWithCollector(port, ['q/#']);
    gateway = await startLocal([
      {
        name: 'plant',
        url: `mqtt://127.0.0.1:${port}`,
        reconnect: { minDelayMs: 200, maxDelayMs: 500 },
        out: [{ filter: 'q/#' }],
        outbox: { drainRatePerSec: 400 },
      },
    ]);
    const backlog = 1200;
    for (let i = 0; i < backlog; i++)
      gateway.broker.publish({ topic: 'q/old', payload: Buffer.from(String(i)), qos: 1, retain: false });
    await waitFor(
      () => gateway!.manager.status()[0]!.outbox.messages === backlog,
      10_000,
      'the backlog stored',
    );
    await restartUpstream();
    await waitFor(() => gateway!.manager.status()[0]!.connected, 10_000, 'the bridge to connect');
    await waitFor(() => collector!.messages.some((m) => m.topic === 'q/old'), 10_000, 'the drain to start');
    // Live traffic: a new topic goes straight out; the backlogged topic waits its turn.
    for (let i = 0; i < 10; i++) {
      gateway.broker.publish({ topic: 'q/live', payload: Buffer.from(String(i)), qos: 1, retain: false });
      gateway.broker.publish({
        topic: 'q/old',
        payload: Buffer.from(String(backlog + i)),
        qos: 1,
        retain: false,
      });
    }
    await waitFor(
      () => collector!.messages.filter((m) => m.topic === 'q/live').length === 10,
      10_000,
      'live messages',
    );
    const oldSoFar = collector!.messages.filter((m) => m.topic === 'q/old').length;
    expect(oldSoFar).toBeLessThan(backlog); // live did not wait for the backlog (1200 at 400/s takes 3 s)
    await waitFor(
      () => collector!.messages.filter((m) => m.topic === 'q/old').length >= backlog + 10,
      30_000,
      'the backlog',
    );
    const got = byTopic(collector!.messages, 'q/');
    expect(got.get('q/old')).toEqual(Array.from({ length: backlog + 10 }, (_, i) => i));
    expect(got.get('q/live')).toEqual(Array.from({ length: 10 }, (_, i) => i));
  });
});
