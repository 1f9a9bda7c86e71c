// Bridge benchmark: live forwarding to a real Mosquitto, then an outage with 1 million messages
// buffered on disk (fill rate, disk bytes per message, RSS while they wait), then the drain.
// Run: npm run bench:bridge   (BENCH_BACKLOG and BENCH_LIVE change the message counts)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { parseBridgeConfig } from '../src/bridge/config.js';
import { BridgeManager, OUTBOX_FILE } from '../src/bridge/manager.js';
import type { BrokerMessage } from '../src/broker/api.js';
import { Broker } from '../src/broker/broker.js';
import { parseBrokerConfig } from '../src/broker/config.js';
import { silentLogger } from '../src/log.js';
import { Database } from '../src/store/db.js';
import { startMosquitto, type MosquittoBroker } from '../test/helpers/mosquitto.js';
import { freePort, sleep, waitFor } from '../test/helpers/net.js';
import { record } from './results.js';

const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 1_000_000);
const LIVE = Number(process.env.BENCH_LIVE ?? 200_000);
const TOPICS = 200;
const NET_WINDOW = 100;
const log = silentLogger();

/** A tag value as the mapping publishes it (about 70 bytes of JSON on a 40-byte topic). */
function message(i: number): BrokerMessage {
  const payload = `{"value":${(i % 1000) / 10},"ts":${1763726400123 + i},"quality":"good","unit":"degC"}`;
  return {
    topic: `acme/plant1/line${i % 4}/dev${i % TOPICS}/temperature`,
    payload: Buffer.from(payload),
    qos: 1,
    retain: false,
  };
}

const mb = (bytes: number) => (bytes / 1048576).toFixed(1);
const rss = () => {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().rss;
};
const rate = (n: number, ms: number) => Math.round((n * 1000) / ms);

/** Publishes `count` messages in batches of 1000, pausing while `behind(published)` says to. */
async function publishPaced(
  broker: Broker,
  from: number,
  count: number,
  behind: (published: number) => boolean,
  onBatch?: (done: number) => void,
) {
  const batch = 1000;
  for (let done = 0; done < count; done += batch) {
    const msgs: BrokerMessage[] = [];
    for (let i = 0; i < Math.min(batch, count - done); i++) msgs.push(message(from + done + i));
    broker.publishBatch(msgs);
    onBatch?.(done + msgs.length);
    await new Promise((resolve) => setImmediate(resolve));
    while (behind(done + msgs.length)) await sleep(1);
  }
}

/** MQTT.js publishing QoS 1 with `window` in flight (the ceiling when aimed at Mosquitto); msg/s. */
async function mqttJsBaseline(port: number, count: number, window: number): Promise<number> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
  const start = performance.now();
  let sent = 0;
  let acked = 0;
  await new Promise<void>((resolve) => {
    const pump = () => {
      while (sent < count && sent - acked < window) {
        const m = message(sent++);
        client.publish(m.topic, m.payload, { qos: 1 }, () => {
          acked++;
          if (acked === count) resolve();
          else pump();
        });
      }
    };
    pump();
  });
  const ms = performance.now() - start;
  await client.endAsync();
  return rate(count, ms);
}

/** Bytes of the database in use (pages minus free pages), after folding the WAL in. */
async function usedBytes(db: Database): Promise<number> {
  await db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
  const pragma = async (name: string) =>
    Object.values((await db.get<Record<string, number>>(`PRAGMA ${name}`))!)[0]!;
  return ((await pragma('page_count')) - (await pragma('freelist_count'))) * (await pragma('page_size'));
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tagwire-bench-bridge-'));
  const port = await freePort();
  let upstream: MosquittoBroker | undefined = await startMosquitto({ port });
  const db = await Database.open(path.join(dataDir, 'tagwire.db'));
  const broker = new Broker({
    config: parseBrokerConfig({
      listeners: [{ protocol: 'mqtt', host: '127.0.0.1', port: 0 }],
      sys: { intervalSec: 0 },
    }),
    db,
    log,
  });
  await broker.start();
  const inflight = Number(process.env.BENCH_INFLIGHT ?? 1000);
  const manager = new BridgeManager({
    bridges: [
      parseBridgeConfig({
        name: 'bench',
        url: `mqtt://127.0.0.1:${port}`,
        reconnect: { minDelayMs: 100, maxDelayMs: 200 },
        out: [{ filter: 'acme/#', qos: 1 }],
        outbox: { drainRatePerSec: 0, inflight, maxMessages: BACKLOG + LIVE + 100_000 },
        statusIntervalSec: 0,
      }),
    ],
    gatewayId: 'bench',
    broker,
    log,
    dataDir,
  });
  const status = () => manager.status()[0]!;
  try {
    await manager.start();
    await waitFor(() => status().connected, 10_000, 'the bridge to connect');
    console.log(
      `bridge benchmark: ${LIVE} live, ${BACKLOG} buffered; QoS 1 to Mosquitto on 127.0.0.1; ~${message(0).payload.length} B payloads on ${TOPICS} topics`,
    );

    // 1. Live forwarding: through the outbox (committed before taken) to Mosquitto's PUBACK.
    const baseline = await mqttJsBaseline(port, LIVE, inflight);
    const liveStart = performance.now();
    // Paced so that no more than 20,000 wait for Mosquitto's acknowledgement, counting those not
    // yet committed: pacing on the outbox's committed rows alone let the in-process publisher (1000
    // a tick) run 100k ahead of the disk, where the outbox refuses more (dropped as write-failed).
    await publishPaced(broker, 0, LIVE, (published) => published - status().sent > 20_000);
    await waitFor(
      () => status().sent >= LIVE && status().outbox.messages === 0,
      120_000,
      'live forwarding',
    ).catch((err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify(status())}`);
    });
    const liveRate = rate(LIVE, performance.now() - liveStart);
    console.log(
      `live forwarding:          ${liveRate} msg/s acknowledged by Mosquitto (MQTT.js alone, same window: ${baseline} msg/s; ratio ${(liveRate / baseline).toFixed(2)})`,
    );

    // 1b. Network publishers: MQTT.js QoS 1 into the bridge rule; a PUBACK means the outbox has it.
    const localPort = broker.listening()[0]!.port;
    const sentBefore = status().sent;
    const netCount = Math.round(LIVE / 2);
    const netRate = await mqttJsBaseline(localPort, netCount, NET_WINDOW);
    await waitFor(() => status().sent >= sentBefore + netCount, 120_000, 'network messages forwarded');
    console.log(
      `network publisher:        ${netRate} msg/s PUBACKs to MQTT.js (QoS 1, ${NET_WINDOW} in flight, every one bound for the bridge)`,
    );

    // 2. Outage: fill the outbox with BACKLOG messages.
    await upstream.stop();
    upstream = undefined;
    await waitFor(() => !status().connected, 10_000, 'the outage');
    // A second connection on the outbox file, to read its page counts.
    const outboxDb = await Database.open(path.join(dataDir, OUTBOX_FILE));
    const bytesBefore = await usedBytes(outboxDb);
    const rssSamples: string[] = [];
    const rssStart = rss();
    const fillStart = performance.now();
    const step = Math.max(1000, Math.floor(BACKLOG / 4 / 1000) * 1000);
    // Paced so that no more than 50,000 wait to be committed.
    await publishPaced(
      broker,
      LIVE,
      BACKLOG,
      (published) => published - status().outbox.messages > 50_000,
      (done) => {
        if (done % step === 0) rssSamples.push(`${done / 1000}k: ${mb(rss())} MB`);
      },
    );
    await waitFor(() => status().outbox.messages >= BACKLOG, 300_000, 'the backlog to be committed');
    const fillRate = rate(BACKLOG, performance.now() - fillStart);
    await sleep(500);
    const rssFull = rss();
    const diskPerMessage = ((await usedBytes(outboxDb)) - bytesBefore) / BACKLOG;
    await outboxDb.close();
    console.log(`outbox fill:              ${fillRate} msg/s committed to SQLite (upstream down)`);
    console.log(
      `disk per buffered message: ${diskPerMessage.toFixed(0)} B (database pages in use; topic+payload ${status().outbox.bytes / BACKLOG} B)`,
    );
    console.log(
      `RSS while filling:        start ${mb(rssStart)} MB; ${rssSamples.join('; ')}; ${BACKLOG / 1000}k waiting: ${mb(rssFull)} MB`,
    );

    // 3. Drain: the upstream comes back; no rate limit.
    upstream = await startMosquitto({ port });
    const drainStart = performance.now();
    let rssPeak = 0;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 200);
    await waitFor(() => status().outbox.messages === 0, 600_000, 'the drain');
    clearInterval(sampler);
    const drainRate = rate(BACKLOG, performance.now() - drainStart);
    console.log(
      `drain:                    ${drainRate} msg/s (includes reconnect); RSS peak while draining ${mb(rssPeak)} MB`,
    );
    record('bridge', {
      liveMsgPerSec: liveRate,
      mqttJsAloneMsgPerSec: baseline,
      networkPublisherMsgPerSec: netRate,
      fillMsgPerSec: fillRate,
      diskBytesPerMessage: Math.round(diskPerMessage),
      rssGrowthMbWithBacklog: Number(mb(rssFull - rssStart)),
      drainMsgPerSec: drainRate,
    });
    console.log(
      `targets: live > 20000 msg/s: ${liveRate > 20_000 ? 'met' : 'NOT met'}; drain > 20000 msg/s: ${drainRate > 20_000 ? 'met' : 'NOT met'}; RSS flat: ${rssFull - rssStart < 64 * 1048576 ? 'yes' : 'NO'} (+${mb(rssFull - rssStart)} MB for ${BACKLOG} waiting)`,
    );
  } finally {
    await manager.stop();
    await broker.stop();
    await db.close();
    await upstream?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
