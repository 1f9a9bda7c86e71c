// A gateway killed with SIGKILL during an outage keeps every committed message: started again, the
// backlog is still there and drains, in order, to a real Mosquitto.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startMosquitto, type MosquittoBroker } from '../helpers/mosquitto.js';
import { freePort, waitFor } from '../helpers/net.js';
import { exited, startGateway } from './helpers/child.js';
import { collect, type Collector } from './helpers/local.js';

describe('SIGKILL during an outage', () => {
  const children: ChildProcess[] = [];
  let upstream: MosquittoBroker | undefined;
  let collector: Collector | undefined;
  let dataDir: string | undefined;

  afterEach(async () => {
    for (const c of children.splice(0)) {
      c.kill('SIGKILL');
      await exited(c);
    }
    await collector?.close();
    await upstream?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    collector = upstream = dataDir = undefined;
  });

  it('loses nothing committed: the backlog survives the kill and drains in order', async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'tagwire-sigkill-'));
    const port = await freePort(); // nothing listens yet: the WAN is down
    const first = startGateway(dataDir, port, 'publish');
    children.push(first.child);
    await waitFor(
      () => (first.reports.at(-1)?.outbox ?? 0) >= 5000,
      60_000,
      `a backlog of 5000 (stderr: ${first.stderr()})`,
    );
    first.child.kill('SIGKILL');
    await exited(first.child);
    // Committed rows are in seq order: counters 0..committed-1 were durable when it died.
    const committed = first.reports.at(-1)!.outbox;
    expect(first.reports.every((r) => !r.connected)).toBe(true);

    // Mosquitto drops past 1000 queued per subscriber by default: the collector must see everything.
    upstream = await startMosquitto({ port, extraConfig: 'max_queued_messages 0' });
    collector = await collect(port, ['kill/#']);
    const second = startGateway(dataDir, port, 'drain');
    children.push(second.child);
    await waitFor(() => collector!.messages.length >= committed, 60_000, 'the backlog to drain').catch(
      (err: Error) => {
        throw new Error(
          `${err.message}; received ${collector!.messages.length}; gateway: ${JSON.stringify(second.reports.at(-1))} ${second.stderr()}`,
        );
      },
    );
    await waitFor(() => second.reports.at(-1)?.outbox === 0, 30_000, 'an empty outbox');
    const counters = collector.messages.map((m) => Number(m.payload));
    // Everything committed arrives, in order, no gaps; a few more may have been committed after the last report.
    expect(counters.length).toBeGreaterThanOrEqual(committed);
    expect(counters).toEqual(Array.from({ length: counters.length }, (_, i) => i));
    expect(second.reports.at(-1)!.sent).toBe(counters.length);
  }, 180_000);
});
