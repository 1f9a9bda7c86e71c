// Bridge failover benchmark: two real Mosquitto brokers, a primary and a backup, a steady QoS 1
// flow through the bridge. Each round kills the primary (SIGKILL), measures the time until the
// flow arrives on the backup and the duplicates the switch caused, then starts the primary again
// and measures the return (a planned switch) the same way.
// Run: npm run bench:bridge-failover   (BENCH_ROUNDS, BENCH_RATE messages/s, BENCH_SWITCH_MS)
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startMosquitto, type MosquittoBroker } from '../test/helpers/mosquitto.js';
import { freePort, sleep, waitFor } from '../test/helpers/net.js';
import { collect, startLocal, type Collector } from '../test/bridge/helpers/local.js';
import { record } from './results.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const RATE = Number(process.env.BENCH_RATE ?? 2000);
const SWITCH_MS = Number(process.env.BENCH_SWITCH_MS ?? 1000);
const INFLIGHT = 100;

const percentile = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.ceil((p / 100) * xs.length) - 1]!;

async function main(): Promise<void> {
  const primaryPort = await freePort();
  // The primary keeps its collector's session (saved every second) across the kills, and queues
  // for it while it is away: a restarted primary may take the bridge's return before the new
  // collector connects, and what it acknowledged meanwhile must still reach the count. Without
  // this, those messages counted as lost, though the gateway had them acknowledged upstream.
  const primaryStore = mkdtempSync(path.join(tmpdir(), 'tagwire-failover-primary-'));
  const startPrimary = () =>
    startMosquitto({
      port: primaryPort,
      extraConfig: [
        'persistence true',
        `persistence_location ${primaryStore}/`,
        'autosave_interval 1',
        'max_queued_messages 100000',
      ].join('\n'),
    });
  const collectPrimary = () =>
    collect(primaryPort, ['plant/#'], { clientId: 'failover-collector', clean: false });
  let primary: MosquittoBroker = await startPrimary();
  const backup = await startMosquitto();
  const seen = new Map<number, number>(); // counter -> times received, over both brokers
  const arrivals: { at: number; broker: 'primary' | 'backup' }[] = [];
  const track = (c: Collector, broker: 'primary' | 'backup') =>
    c.client.on('message', (topic) => {
      if (topic.startsWith('plant/')) arrivals.push({ at: Date.now(), broker });
    });
  let onPrimary = await collectPrimary();
  const onBackup = await collect(backup.port, ['plant/#']);
  for (const c of [onPrimary, onBackup])
    c.client.on('message', (topic, payload) => {
      if (topic.startsWith('plant/')) seen.set(Number(payload), (seen.get(Number(payload)) ?? 0) + 1);
    });
  track(onPrimary, 'primary');
  track(onBackup, 'backup');

  const gateway = await startLocal([
    {
      name: 'plant',
      addresses: [{ url: `mqtt://127.0.0.1:${primaryPort}` }, { url: `mqtt://127.0.0.1:${backup.port}` }],
      failover: { switchDelayMs: SWITCH_MS, primaryCheckSec: 1, returnToPrimary: true },
      reconnect: { minDelayMs: 1000, maxDelayMs: 10_000 },
      connectTimeoutSec: 2,
      out: [{ filter: 'line/#', prefix: 'plant/' }],
      outbox: { inflight: INFLIGHT, drainRatePerSec: 0 },
    },
  ]);
  const status = () => gateway.manager.status()[0]!;
  await waitFor(() => status().address?.index === 0, 10_000, 'the bridge on the primary');

  let sent = 0;
  const perTick = Math.max(1, Math.round(RATE / 100));
  const timer = setInterval(() => {
    for (let i = 0; i < perTick; i++)
      gateway.broker.publish({
        topic: 'line/a',
        payload: Buffer.from(String(sent++)),
        qos: 1,
        retain: false,
      });
  }, 10);

  const failovers: number[] = [];
  const returns: number[] = [];
  let duplicatesBefore = 0;
  const failoverDuplicates: number[] = [];
  const returnDuplicates: number[] = [];
  const duplicates = () => [...seen.values()].reduce((n, times) => n + times - 1, 0);
  const firstArrival = (broker: 'primary' | 'backup', after: number) =>
    arrivals.find((a) => a.broker === broker && a.at > after)?.at;

  for (let round = 0; round < ROUNDS; round++) {
    await sleep(1000);
    duplicatesBefore = duplicates();
    primary.process.kill('SIGKILL');
    const killedAt = Date.now();
    await waitFor(() => firstArrival('backup', killedAt), 30_000, 'the flow on the backup');
    failovers.push(firstArrival('backup', killedAt)! - killedAt);
    await sleep(1000);
    failoverDuplicates.push(duplicates() - duplicatesBefore);

    await onPrimary.close();
    primary = await startPrimary();
    const upAt = Date.now();
    onPrimary = await collectPrimary();
    onPrimary.client.on('message', (topic, payload) => {
      if (topic.startsWith('plant/')) seen.set(Number(payload), (seen.get(Number(payload)) ?? 0) + 1);
    });
    track(onPrimary, 'primary');
    duplicatesBefore = duplicates();
    await waitFor(() => status().address?.index === 0 && firstArrival('primary', upAt), 30_000, 'the return');
    returns.push(firstArrival('primary', upAt)! - upAt);
    await sleep(1000);
    returnDuplicates.push(duplicates() - duplicatesBefore);
  }
  clearInterval(timer);
  await waitFor(
    () => status().outbox.messages === 0 && status().inflight === 0,
    30_000,
    'the outbox to drain',
  );
  await sleep(500);
  const lost = Array.from({ length: sent }, (_, i) => i).filter((i) => !seen.has(i)).length;

  console.log(
    `bridge failover: ${ROUNDS} rounds, ${RATE} msg/s QoS 1, switchDelayMs ${SWITCH_MS}, inflight ${INFLIGHT}`,
  );
  console.log(
    `  primary killed -> flow on the backup: median ${percentile(failovers, 50)} ms, max ${Math.max(...failovers)} ms`,
  );
  console.log(
    `  duplicates per unplanned switch: median ${percentile(failoverDuplicates, 50)}, max ${Math.max(...failoverDuplicates)} (bound: the in-flight window, ${INFLIGHT})`,
  );
  console.log(
    `  primary back -> flow on the primary: median ${percentile(returns, 50)} ms, max ${Math.max(...returns)} ms (check every 1 s)`,
  );
  console.log(`  duplicates per planned return: max ${Math.max(...returnDuplicates)}`);
  console.log(`  messages: ${sent} sent, ${lost} lost`);
  record('bridge-failover', {
    switchMedianMs: percentile(failovers, 50),
    duplicatesPerSwitchMax: Math.max(...failoverDuplicates),
    returnMedianMs: percentile(returns, 50),
    duplicatesPerReturnMax: Math.max(...returnDuplicates),
    lost,
  });

  await onPrimary.close();
  await onBackup.close();
  await gateway.stop();
  await primary.stop();
  await backup.stop();
  if (lost > 0) process.exitCode = 1;
}

await main();
