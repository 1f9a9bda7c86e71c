// The forwarder across a reconnect, on a real SQLite outbox: what was acknowledged before the
// link dropped is never sent again, even while its rows are still waiting to be deleted.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Forwarder, type ForwarderSession } from '../../src/bridge/forwarder.js';
import { Database } from '../../src/store/db.js';
import { migrateOutbox, Outbox, type StoredMessage } from '../../src/bridge/outbox/outbox.js';
import { waitFor } from '../helpers/net.js';

describe('forwarder across a reconnect', () => {
  let dir: string;
  let db: Database;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'tagwire-forwarder-'));
    db = await Database.open(path.join(dir, 'outbox.db'));
    await migrateOutbox(db);
  });
  afterEach(async () => {
    await db.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  /** An outbox on `db` and a started forwarder it reports its commits to; any error fails the test. */
  async function openForwarder(): Promise<{ outbox: Outbox; forwarder: Forwarder }> {
    const hooks: { forwarder?: Forwarder } = {};
    const fail = (err: Error): never => {
      throw err;
    };
    const outbox = await Outbox.open(
      db,
      'plant',
      { maxMessages: 1_000_000, maxBytes: 1 << 30, maxAgeSec: 0, dropPolicy: 'drop-oldest' },
      {
        onCommitted: (batch) => hooks.forwarder?.onCommitted(batch),
        onDropped: () => undefined,
        onError: fail,
      },
    );
    const forwarder = new Forwarder(outbox, 0, {
      onSent: () => undefined,
      onRejected: () => undefined,
      onError: fail,
    });
    hooks.forwarder = forwarder;
    await forwarder.start();
    return { outbox, forwarder };
  }

  it('does not send again what was acknowledged before the reconnect', async () => {
    const { outbox, forwarder } = await openForwarder();
    const sent: number[] = [];
    const unacknowledged: (() => void)[] = [];
    const session = (ack: boolean): ForwarderSession => ({
      window: 1000,
      isConnected: () => true,
      publish: (msg: StoredMessage, done) => {
        sent.push(Number(msg.payload));
        if (ack) done();
        else unacknowledged.push(() => done());
      },
    });
    forwarder.attach(session(false));
    for (let i = 0; i < 500; i++)
      outbox.append({ topic: 't', payload: Buffer.from(String(i)), qos: 1, retain: false });
    await waitFor(() => sent.length === 500, 10_000, 'the first 500 sent');
    // Acknowledged, and the link drops and comes back in the same tick: the deletes of the
    // acknowledged rows are still queued when the cursor reads the outbox again.
    for (const ack of unacknowledged.splice(0)) ack();
    forwarder.detach();
    forwarder.attach(session(true));
    for (let i = 500; i < 600; i++)
      outbox.append({ topic: 't', payload: Buffer.from(String(i)), qos: 1, retain: false });
    await waitFor(() => sent.length >= 600, 10_000, 'the next 100');
    await outbox.drain();
    // One more row behind them: the cursor goes in order, so a re-read of rows already sent would
    // send them again before this one.
    outbox.append({ topic: 't', payload: Buffer.from('600'), qos: 1, retain: false });
    await waitFor(() => sent.includes(600), 10_000, 'the last row');
    await outbox.drain();
    expect(sent).toEqual(Array.from({ length: 601 }, (_, i) => i));
    expect(outbox.getStats().messages).toBe(0);
    forwarder.detach();
    await outbox.close();
  });

  it('forgets what the live path sent once the cursor is caught up (a link that never falls behind)', async () => {
    const { outbox, forwarder } = await openForwarder();
    const sent: number[] = [];
    forwarder.attach({
      window: 100,
      isConnected: () => true,
      publish: (msg: StoredMessage, done) => {
        sent.push(Number(msg.payload));
        setImmediate(() => done());
      },
    });
    // In rounds the window always holds: every message takes the live path.
    for (let round = 0; round < 40; round++) {
      for (let i = 0; i < 50; i++) {
        const n = round * 50 + i;
        outbox.append({ topic: `t/${n % 7}`, payload: Buffer.from(String(n)), qos: 1, retain: false });
      }
      await waitFor(() => sent.length === (round + 1) * 50, 10_000, `round ${round} sent`);
    }
    await waitFor(() => forwarder.inflightCount === 0, 10_000, 'every message acknowledged');
    await outbox.drain();
    expect(sent).toEqual(Array.from({ length: 2000 }, (_, i) => i));
    // Each of the 2,000 used to stay in the live-sent set until the link dropped.
    expect(forwarder.liveSentCount).toBeLessThanOrEqual(50);
    // The cursor still finds what falls behind later: a message committed while detached.
    forwarder.detach();
    outbox.append({ topic: 't/0', payload: Buffer.from('2000'), qos: 1, retain: false });
    await outbox.drain();
    forwarder.attach({
      window: 100,
      isConnected: () => true,
      publish: (msg: StoredMessage, done) => {
        sent.push(Number(msg.payload));
        done();
      },
    });
    await waitFor(() => sent.includes(2000), 10_000, 'the message committed while detached');
    expect(sent.slice(2000)).toEqual([2000]);
    forwarder.detach();
    await outbox.close();
  });
});
