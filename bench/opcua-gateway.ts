// The gateway side of bench/opcua.ts alone in its own process (bundled, plain node, with the heap
// policy, as the built gateway runs): the OPC UA driver with N monitored items, its samples
// counted. Every 250 ms it prints "STAT <samples> <distinct tags seen> <rss> <heapUsed> <external> <cpu µs>" for the parent.
// Usage: node opcua-gateway.mjs ENDPOINT_URL POINTS INTERVAL_MS QUEUE_SIZE DATA_DIR
import { OpcuaDriver } from '../drivers/opcua/driver.js';
import { withDeviceDefaults } from '../drivers/opcua/defaults.js';
import type { DriverLogger, TagConfig } from '../drivers/types.js';
import { silentLogger } from '../src/log.js';
import { applyHeapPolicy, heapPolicyFrom } from '../src/ops/heap-policy.js';

const [url, pointsArg, intervalArg, queueArg, dataDir] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
];
const points = Number(pointsArg);
const intervalMs = Number(intervalArg);
const tags: TagConfig[] = Array.from({ length: points }, (_, i) => ({
  name: `p${i}`,
  address: `ns=2;s=Load.${i}`,
  type: 'Double',
  pollMs: intervalMs,
  writable: false,
  // Report on change (the server has no per-item sampling timer); the publishing interval paces delivery.
  samplingIntervalMs: 0,
  // Values changing between two publishes are queued, not dropped: every change counts.
  queueSize: Number(queueArg),
}));
let count = 0;
// Setup is complete once every item delivered its first value (a bitmap: no per-tag strings kept).
const seen = new Uint8Array(points);
let seenCount = 0;
const driver = new OpcuaDriver(
  withDeviceDefaults({
    id: 'bench',
    endpointUrl: url,
    publishingIntervalMs: intervalMs,
    connectTimeoutMs: 120_000,
    requestTimeoutMs: 30_000,
  }),
  tags,
  {
    onSamples: (batch) => {
      count += batch.length;
      if (seenCount < points) {
        for (const s of batch) {
          const i = Number(s.tag.slice(1));
          if (seen[i] === 0) {
            seen[i] = 1;
            seenCount++;
          }
        }
      }
    },
    onStatus: () => undefined,
    log: silentLogger() as unknown as DriverLogger,
    dataDir,
  },
);
await driver.start();
// The heap policy `tagwire start` applies once started (src/ops/heap-policy.ts): without it this
// process ran on V8's own heap growth, which the gateway does not, and its RSS moved 15-25 MB with
// how much code was loaded beside the items (an import of node-opcua against a require).
const heapPolicy = heapPolicyFrom(process.env);
if ('error' in heapPolicy) throw new Error(heapPolicy.error);
applyHeapPolicy(heapPolicy);
setInterval(() => {
  const m = process.memoryUsage();
  const cpu = process.cpuUsage();
  process.stdout.write(
    `STAT ${count} ${seenCount} ${m.rss} ${m.heapUsed} ${m.external} ${cpu.user + cpu.system}\n`,
  );
}, 250);
const stop = () => void driver.stop().finally(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
