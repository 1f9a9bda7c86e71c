// Sparkplug B benchmark: how many metrics per second one core encodes and publishes as DDATA
// (into the embedded broker, to one in-process subscriber), and the bytes on the wire against the
// same samples as the JSON topics (topic + payload of each message).
// Run: npm run bench:sparkplug   (BENCH_TAGS, BENCH_SECONDS)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TagSample } from '../drivers/types.js';
import { Broker } from '../src/broker/broker.js';
import { parseBrokerConfig } from '../src/broker/config.js';
import type { MappedTag } from '../src/config/types.js';
import { silentLogger } from '../src/log.js';
import { tagEncoder } from '../src/mapping/payload.js';
import type { History } from '../src/sparkplug/history.js';
import { LocalLink } from '../src/sparkplug/link.js';
import { EdgeNode } from '../src/sparkplug/node.js';
import { Database } from '../src/store/db.js';
import { record } from './results.js';

const TAGS = Number(process.env.BENCH_TAGS ?? 1000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const TOPIC = 'acme/plant1/line1/press1';

function tag(i: number): MappedTag {
  return {
    name: `t${i}`,
    address: `hr:${i * 2}`,
    type: 'float32',
    pollMs: 1000,
    writable: false,
    unit: 'degC',
    topic: `${TOPIC}/t${i}`,
    qos: 0,
    retain: false,
    policy: { kind: 'change', deadband: 0, deadbandPercent: 0, heartbeatMs: 0, minIntervalMs: 0 },
    commandTimeoutMs: 5000,
  };
}

const noHistory: History = {
  append: () => undefined,
  replay: async () => undefined,
  close: async () => undefined,
};

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'tagwire-bench-sp-'));
  const db = await Database.open(path.join(dir, 'tagwire.db'));
  const broker = new Broker({ config: parseBrokerConfig({ listeners: [] }), db, log: silentLogger() });
  await broker.start();
  let sparkplugBytes = 0;
  let ddata = 0;
  broker.subscribe('spBv1.0/#', (m) => {
    if (m.topic.includes('/DDATA/')) {
      ddata++;
      sparkplugBytes += m.topic.length + m.payload.length;
    }
  });
  const tags = Array.from({ length: TAGS }, (_, i) => tag(i));
  const node = new EdgeNode(
    {
      groupId: 'plant1',
      edgeNodeId: 'edge-bench',
      devices: [{ deviceId: 'press1', source: 'press1', tags }],
    },
    {
      link: new LocalLink(broker),
      history: noHistory,
      nextBdSeq: () => 0,
      command: async () => ({ ok: false, error: 'not in the benchmark' }),
      deviceState: () => 'connected',
      log: silentLogger(),
    },
  );
  const batch = (round: number): TagSample[] =>
    tags.map((t, i) => ({
      tag: t.name,
      ts: 1763726400000 + round,
      quality: 'good',
      value: Math.fround(20 + ((i + round) % 1000) / 7),
    }));
  node.onSamples('press1', batch(0)); // first values, so the device is born with them
  node.start();
  await new Promise((resolve) => setTimeout(resolve, 50));

  // JSON: the same samples as the TagPublisher encodes them, topic + payload per message.
  const encoders = tags.map((t) => tagEncoder('json', t, {}));
  let jsonBytes = 0;
  for (const [i, s] of batch(1).entries()) jsonBytes += tags[i]!.topic.length + encoders[i]!(s).length;

  const cpuStart = process.cpuUsage();
  const start = performance.now();
  let round = 1;
  let metrics = 0;
  sparkplugBytes = 0;
  ddata = 0;
  while (performance.now() - start < SECONDS * 1000) {
    node.onSamples('press1', batch(round++));
    metrics += TAGS;
    if (round % 20 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  const ms = performance.now() - start;
  const cpu = process.cpuUsage(cpuStart);
  const perDdata = sparkplugBytes / Math.max(1, ddata);
  console.log(`sparkplug: ${TAGS} float32 metrics per DDATA, ${SECONDS} s on one core`);
  console.log(
    `  encoded and published: ${Math.round((metrics * 1000) / ms).toLocaleString('en')} metrics/s, ${Math.round((ddata * 1000) / ms)} DDATA/s`,
  );
  const cpuMs = (cpu.user + cpu.system) / 1000;
  console.log(
    `  CPU: ${((cpuMs / ms) * 100).toFixed(0)}% of a core; ${Math.round((metrics * 1000) / cpuMs).toLocaleString('en')} metrics per CPU-second (independent of other load)`,
  );
  console.log(
    `  bytes for ${TAGS} changed values: Sparkplug DDATA ${Math.round(perDdata).toLocaleString('en')} (one message), JSON ${jsonBytes.toLocaleString('en')} (${TAGS} messages): ${(jsonBytes / perDdata).toFixed(1)}x smaller`,
  );
  record('sparkplug', {
    metricsPerSec: Math.round((metrics * 1000) / ms),
    metricsPerCpuSecond: Math.round((metrics * 1000) / cpuMs),
    jsonToDdataBytes: jsonBytes / perDdata,
  });
  await node.stop();
  await broker.stop();
  await db.close();
  rmSync(dir, { recursive: true, force: true });
}

await main();
