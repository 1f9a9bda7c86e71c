import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Database } from '../../src/store/db.js';
import {
  migrateOutbox,
  Outbox,
  toRanges,
  type DropReason,
  type OutboxLimits,
  type StoredMessage,
} from '../../src/bridge/outbox/outbox.js';
import { waitFor } from '../helpers/net.js';

const roomy: OutboxLimits = {
  maxMessages: 1_000_000,
  maxBytes: 1 << 30,
  maxAgeSec: 0,
  dropPolicy: 'drop-oldest',
};

describe('outbox', () => {
  let dir: string;
  let db: Database;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'tagwire-outbox-'));
    db = await Database.open(path.join(dir, 'gw.db'));
    await migrateOutbox(db);
  });
  afterEach(async () => {
    await db.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  function open(name: string, limits = roomy) {
    const committed: StoredMessage[] = [];
    const dropped: Partial<Record<DropReason, number>> = {};
    const errors: Error[] = [];
    const opening = Outbox.open(db, name, limits, {
      onCommitted: (batch) => committed.push(...batch),
      onDropped: (n, reason) => (dropped[reason] = (dropped[reason] ?? 0) + n),
      onError: (err) => errors.push(err),
    });
    return { opening, committed, dropped, errors };
  }

  /** Outbox `a` holding messages '0'..'4' (seqs 1..5) on disk, and its hooks' records. */
  async function fiveCommitted() {
    const opened = open('a');
    const outbox = await opened.opening;
    for (let i = 0; i < 5; i++)
      outbox.append({ topic: 't', payload: Buffer.from(String(i)), qos: 1, retain: false });
    await outbox.drain();
    return { ...opened, outbox };
  }

  /** From now on every INSERT (`refuse`) or DELETE (`keep`) of a row fails as on a full disk. */
  function failLikeAFullDisk(trigger: 'refuse' | 'keep'): Promise<void> {
    const on = trigger === 'refuse' ? 'INSERT' : 'DELETE';
    return db.exec(
      `CREATE TRIGGER ${trigger} BEFORE ${on} ON outbox_messages BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`,
    );
  }

  it('commits appended messages in order, pages them and keeps properties', async () => {
    const { opening, committed } = open('a');
    const outbox = await opening;
    for (let i = 0; i < 1200; i++)
      outbox.append({ topic: `t/${i % 3}`, payload: Buffer.from(String(i)), qos: 1, retain: i === 0 });
    outbox.append({
      topic: 'p',
      payload: Buffer.from('x'),
      qos: 2,
      retain: false,
      properties: {
        contentType: 'application/json',
        correlationData: Buffer.from([1, 2, 3]),
        userProperties: { a: 'b' },
      },
    });
    await outbox.drain();
    expect(committed.map((m) => m.seq)).toEqual(Array.from({ length: 1201 }, (_, i) => i + 1));
    const first = await outbox.page(0, 1000);
    expect(first).toHaveLength(1000);
    expect(first[0]).toMatchObject({ seq: 1, topic: 't/0', qos: 1, retain: true });
    expect(first[0]!.payload.toString()).toBe('0');
    const rest = await outbox.page(1000, 1000);
    expect(rest.map((m) => m.seq)).toEqual(Array.from({ length: 201 }, (_, i) => i + 1001));
    const last = rest[rest.length - 1]!;
    expect(last.properties?.correlationData).toEqual(Buffer.from([1, 2, 3]));
    expect(last.properties?.userProperties).toEqual({ a: 'b' });
    expect(outbox.getStats().messages).toBe(1201);
  });

  it('deletes delivered messages, and a reopened outbox resumes the rest with exact counters', async () => {
    const { opening } = open('a');
    const outbox = await opening;
    for (let i = 0; i < 100; i++)
      outbox.append({ topic: 't', payload: Buffer.alloc(10), qos: 1, retain: false });
    await outbox.drain();
    for (let seq = 1; seq <= 40; seq++) outbox.remove(seq);
    await outbox.drain();
    expect(outbox.getStats()).toMatchObject({ messages: 60, bytes: 60 * 11 });
    await outbox.close();
    const again = await open('a').opening;
    expect(again.getStats()).toMatchObject({ messages: 60, bytes: 60 * 11 });
    expect((await again.page(0, 1))[0]!.seq).toBe(41);
    again.append({ topic: 't', payload: Buffer.alloc(1), qos: 1, retain: false });
    await again.drain();
    expect((await again.page(100, 10)).map((m) => m.seq)).toEqual([101]);
    // Another bridge's queue in the same database is separate.
    const other = await open('b').opening;
    expect(other.getStats().messages).toBe(0);
  });

  it('drop-oldest keeps the newest within the message and byte bounds, counted', async () => {
    const { opening, dropped } = open('a', { ...roomy, maxMessages: 50 });
    const outbox = await opening;
    for (let i = 0; i < 120; i++)
      outbox.append({ topic: 't', payload: Buffer.from(String(i).padStart(3, '0')), qos: 1, retain: false });
    await outbox.drain();
    expect(outbox.getStats().messages).toBe(50);
    expect(dropped['max-messages']).toBe(70);
    expect((await outbox.page(0, 1))[0]!.payload.toString()).toBe('070');

    const bytes = open('b', { ...roomy, maxBytes: 1024 });
    const small = await bytes.opening;
    for (let i = 0; i < 100; i++)
      small.append({ topic: 'tt', payload: Buffer.alloc(98), qos: 1, retain: false });
    await small.drain();
    expect(small.getStats().bytes).toBeLessThanOrEqual(1024);
    expect(small.getStats().messages).toBe(10);
    expect(bytes.dropped['max-bytes']).toBe(90);
  });

  it('keeps exact counters when delivered rows are deleted alone, inside a group commit, or were dropped already', async () => {
    const { opening, dropped } = open('a', { ...roomy, maxMessages: 50 });
    const outbox = await opening;
    const size = (seq: number) => 1 + (seq % 7) + 1; // topic 't' + a payload of 1..7 bytes
    let seq = 0;
    const append = () =>
      outbox.append({ topic: 't', payload: Buffer.alloc(size(++seq) - 1), qos: 1, retain: false });
    for (let i = 0; i < 100; i++) void append();
    await outbox.drain();
    expect(dropped['max-messages']).toBe(50); // seqs 1..50 are gone
    const sum = (from: number, to: number) => {
      let total = 0;
      for (let n = from; n <= to; n++) total += size(n);
      return total;
    };
    expect(outbox.getStats()).toMatchObject({ messages: 50, bytes: sum(51, 100) });

    // Alone: 40..60 delivered, of which 40..50 were dropped before their delete.
    for (let n = 40; n <= 60; n++) outbox.remove(n);
    await outbox.drain();
    expect(outbox.getStats()).toMatchObject({ messages: 40, bytes: sum(61, 100) });

    // Inside a group commit: deletes due (past their linger) when the next commit starts.
    for (let n = 61; n <= 70; n++) outbox.remove(n);
    await new Promise((resolve) => setTimeout(resolve, 150));
    await append();
    await outbox.drain();
    expect(outbox.getStats()).toMatchObject({ messages: 31, bytes: sum(71, 101) });
    await outbox.close();
    // What the disk holds agrees.
    const again = await open('a', { ...roomy, maxMessages: 50 }).opening;
    expect(again.getStats()).toMatchObject({ messages: 31, bytes: sum(71, 101) });
  });

  it('drop-newest refuses what does not fit, counted', async () => {
    const { opening, dropped } = open('a', { ...roomy, maxMessages: 30, dropPolicy: 'drop-newest' });
    const outbox = await opening;
    for (let i = 0; i < 50; i++)
      outbox.append({ topic: 't', payload: Buffer.from(String(i)), qos: 1, retain: false });
    await outbox.drain();
    expect(outbox.getStats().messages).toBe(30);
    expect(dropped['max-messages']).toBe(20);
    const rows = await outbox.page(0, 100);
    expect(rows[rows.length - 1]!.payload.toString()).toBe('29');
  });

  it('groups acknowledged seqs into ranges for deletion', () => {
    expect(toRanges([7, 1, 2, 3, 4, 5, 9, 10, 20, 21, 22, 23])).toEqual({
      ranges: [
        [1, 5],
        [20, 23],
      ],
      singles: [7, 9, 10],
    });
    expect(toRanges([])).toEqual({ ranges: [], singles: [] });
  });

  it('drops messages older than maxAgeSec', async () => {
    const { opening, dropped } = open('a', { ...roomy, maxAgeSec: 1 });
    const outbox = await opening;
    for (let i = 0; i < 20; i++)
      outbox.append({ topic: 't', payload: Buffer.from('x'), qos: 1, retain: false });
    await outbox.drain();
    expect(outbox.getStats().oldestTs).toBeGreaterThan(0);
    await waitFor(() => dropped['max-age'] === 20, 15_000, 'age expiry');
    expect(outbox.getStats()).toMatchObject({ messages: 0, bytes: 0 });
    await outbox.close();
  });

  it('answers each append with its group commit: resolved once on disk, rejected when the write failed', async () => {
    const { opening, dropped, errors } = open('a');
    const outbox = await opening;
    const taken = Array.from({ length: 10 }, (_, i) =>
      outbox.append({ topic: 't', payload: Buffer.from(String(i)), qos: 1, retain: false }),
    );
    await Promise.all(taken);
    expect(outbox.getStats().messages).toBe(10);
    await failLikeAFullDisk('refuse');
    const refused = outbox.append({ topic: 't', payload: Buffer.from('x'), qos: 1, retain: false });
    await expect(refused).rejects.toMatchObject({ name: 'NotStoredError', reason: 'storage' });
    expect(dropped['write-failed']).toBe(1);
    expect(errors).toHaveLength(1);
    expect(outbox.getStats().messages).toBe(10); // the failed batch was rolled back whole
    await db.exec('DROP TRIGGER refuse');
    await outbox.append({ topic: 't', payload: Buffer.from('y'), qos: 1, retain: false });
    const all = await outbox.page(0, 100);
    expect(all.map((m) => m.payload.toString())).toEqual([...'0123456789'.split(''), 'y']);
    expect(all.map((m) => m.seq)).toEqual(Array.from({ length: 11 }, (_, i) => i + 1)); // no gap
    await outbox.close();
  });

  it('keeps a delivered row it could not delete out of every page, and deletes it once it can', async () => {
    const { outbox, errors } = await fiveCommitted();
    outbox.forgetRecent();
    await failLikeAFullDisk('keep');
    outbox.remove(1);
    outbox.remove(2);
    await waitFor(() => errors.length > 0, 5000, 'the failed delete');
    expect((await outbox.page(0, 10)).map((m) => m.seq)).toEqual([3, 4, 5]);
    // A page whose rows are all delivered is skipped, not mistaken for the end of the outbox.
    expect((await outbox.page(0, 2)).map((m) => m.seq)).toEqual([3, 4]);
    await db.exec('DROP TRIGGER keep');
    await waitFor(() => outbox.getStats().messages === 3, 5000, 'the delete retried');
    expect((await outbox.page(0, 10)).map((m) => m.seq)).toEqual([3, 4, 5]);
    await outbox.close();
  });

  /** Holds the event loop, so timers due meanwhile fire only after it. */
  function hold(ms: number): void {
    const until = performance.now() + ms;
    while (performance.now() < until);
  }

  it('a group commit carries the deletes that are due, in its own transaction', async () => {
    const { outbox, errors } = await fiveCommitted();
    outbox.remove(1);
    outbox.remove(2);
    hold(150); // the deletes are due before the next commit starts
    await outbox.append({ topic: 't', payload: Buffer.from('5'), qos: 1, retain: false });
    // Counted as the commit resolved: the deletes went with it, not on their own later.
    expect(outbox.getStats().messages).toBe(4);
    outbox.forgetRecent();
    expect((await outbox.page(0, 10)).map((m) => m.seq)).toEqual([3, 4, 5, 6]);
    expect(errors).toEqual([]);
    await outbox.close();
    expect((await open('a').opening).getStats().messages).toBe(4);
  });

  it('a delete that fails inside a group commit costs the commit nothing: its rows go alone', async () => {
    const { outbox, errors, dropped } = await fiveCommitted();
    outbox.forgetRecent();
    await failLikeAFullDisk('keep');
    outbox.remove(1);
    outbox.remove(2);
    hold(150);
    await outbox.append({ topic: 't', payload: Buffer.from('5'), qos: 1, retain: false });
    expect(dropped['write-failed']).toBeUndefined();
    await waitFor(() => errors.length > 0, 5000, 'the delete on its own fails too');
    expect((await outbox.page(0, 10)).map((m) => m.seq)).toEqual([3, 4, 5, 6]);
    await db.exec('DROP TRIGGER keep');
    await waitFor(() => outbox.getStats().messages === 4, 5000, 'the delete retried');
    await outbox.close();
  });
});
