// bench:http: (1) GET /api/tags with 10,000 mapped tags (values flowing from our Modbus simulator),
// all tags in one answer and a console page of 100: p50/p99 over real HTTP; target p99 < 50 ms.
// (2) what a Prometheus scrape costs the gateway: CPU per scrape of /metrics, as a share of one core
// at one scrape per second; target < 1%.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config/load.js';
import { Gateway } from '../src/gateway.js';
import { silentLogger } from '../src/log.js';
import { freePort, sleep, waitFor } from '../test/helpers/net.js';
import { record } from './results.js';

const TAGS = Number(process.env.TAGS ?? 10_000);
const REQUESTS = Number(process.env.REQUESTS ?? 200);
const SCRAPES = Number(process.env.SCRAPES ?? 300);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function timed(
  url: string,
  count: number,
): Promise<{ p50: number; p99: number; bytes: number; cpuMs: number }> {
  const times: number[] = [];
  let bytes = 0;
  const cpuBefore = cpuMs();
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const res = await fetch(url);
    const body = await res.arrayBuffer();
    times.push(performance.now() - started);
    if (res.status !== 200) throw new Error(`${url}: ${res.status}`);
    bytes = body.byteLength;
  }
  times.sort((a, b) => a - b);
  // CPU per request (server and client in this process): the latency on an idle core, whatever
  // else the machine runs.
  return {
    p50: percentile(times, 50),
    p99: percentile(times, 99),
    bytes,
    cpuMs: (cpuMs() - cpuBefore) / count,
  };
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tagwire-bench-http-'));
  const [mqttPort, modbusPort, httpPort] = [await freePort(), await freePort(), await freePort()];
  const tags = Array.from({ length: TAGS }, (_, i) => ({
    name: `t${i}`,
    address: `hr:${i}`,
    type: 'uint16',
    unit: 'degC',
  }));
  writeFileSync(
    path.join(dir, 'bench.json'),
    JSON.stringify({
      device: 'bench',
      topic: 'bench/line1',
      defaults: { pollMs: 1000, qos: 0, retain: false },
      tags,
    }),
  );
  writeFileSync(
    path.join(dir, 'gateway.config.json'),
    JSON.stringify({
      gateway: { id: 'bench', dataDir: './data', logLevel: 'silent' },
      broker: { listeners: [{ protocol: 'mqtt', host: '127.0.0.1', port: mqttPort }], allowAnonymous: true },
      devices: [
        {
          id: 'bench',
          driver: 'modbus',
          transport: { type: 'tcp', host: '127.0.0.1', port: modbusPort },
          unitId: 1,
        },
      ],
      mappings: ['bench.json'],
      http: { host: '127.0.0.1', port: httpPort, allowAnonymous: true },
      simulators: { modbus: [{ port: modbusPort, profile: 'none', unmapped: 'zero' }], opcua: [] },
    }),
  );
  const gateway = new Gateway(await loadConfig(path.join(dir, 'gateway.config.json')), {
    log: silentLogger(),
  });
  await gateway.start();
  const base = gateway.httpAddress!;
  try {
    await waitFor(
      async () => {
        const res = await fetch(`${base}/api/tags?limit=1&offset=${TAGS - 1}`);
        const body = (await res.json()) as { items: Array<{ value?: unknown }> };
        return body.items[0]?.value !== undefined;
      },
      60_000,
      'values of all tags',
    );
    console.log(
      `bench:http  ${TAGS} tags, values polled every second from the Modbus simulator; ${os.cpus().length} cores, load average ${os.loadavg()[0]!.toFixed(1)}`,
    );
    await timed(`${base}/api/tags`, 10); // warm-up
    const all = await timed(`${base}/api/tags`, REQUESTS);
    console.log(
      `  GET /api/tags (all ${TAGS}, ${(all.bytes / 1e6).toFixed(1)} MB)  p50 ${all.p50.toFixed(1)} ms  p99 ${all.p99.toFixed(1)} ms  (target p99 < 50 ms); CPU ${all.cpuMs.toFixed(1)} ms per request`,
    );
    const page = await timed(`${base}/api/tags?limit=100&offset=5000`, REQUESTS);
    console.log(
      `  GET /api/tags?limit=100 (a console page)  p50 ${page.p50.toFixed(1)} ms  p99 ${page.p99.toFixed(1)} ms; CPU ${page.cpuMs.toFixed(2)} ms per request`,
    );
    const search = await timed(`${base}/api/tags?q=t99`, REQUESTS);
    console.log(
      `  GET /api/tags?q=t99 (search)  p50 ${search.p50.toFixed(1)} ms  p99 ${search.p99.toFixed(1)} ms; CPU ${search.cpuMs.toFixed(2)} ms per request`,
    );

    // The gateway's own background work (polling 10k tags) over an idle window, then the same
    // window with scrapes back to back: the difference per scrape is what a scrape costs. Client
    // and server share this process, so the figure includes the client's side too (an upper bound).
    await timed(`${base}/metrics`, 10);
    const idleStart = performance.now();
    const idleCpu = cpuMs();
    await sleep(5000);
    const idleRate = (cpuMs() - idleCpu) / (performance.now() - idleStart);
    const scrapeStart = performance.now();
    const scrapeCpu = cpuMs();
    const scrape = await timed(`${base}/metrics`, SCRAPES);
    const elapsed = performance.now() - scrapeStart;
    const perScrape = (cpuMs() - scrapeCpu - idleRate * elapsed) / SCRAPES;
    console.log(
      `  GET /metrics (${(scrape.bytes / 1024).toFixed(1)} KB)  p50 ${scrape.p50.toFixed(2)} ms  p99 ${scrape.p99.toFixed(2)} ms; ` +
        `CPU ${perScrape.toFixed(2)} ms per scrape = ${(perScrape / 10).toFixed(2)}% of a core at one scrape/s (target < 1%)`,
    );
    record('http', {
      apiTags: { p50Ms: all.p50, p99Ms: all.p99, cpuMs: all.cpuMs },
      apiTagsPage: { p50Ms: page.p50, p99Ms: page.p99 },
      apiTagsSearch: { p50Ms: search.p50, p99Ms: search.p99 },
      metricsScrape: { p99Ms: scrape.p99, cpuMs: perScrape },
      backgroundCpuPct: idleRate * 100,
    });
    console.log(
      `  gateway background CPU while polling ${TAGS} tags: ${(idleRate * 100).toFixed(1)}% of a core`,
    );
  } finally {
    await gateway.stop();
  }
}

await main();
