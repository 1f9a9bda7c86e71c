// The shared SQLite connection: components' transactions never mix, migrations are versioned.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Database, type Queryable } from '../../src/store/db.js';

let db: Database | undefined;
afterEach(async () => {
  await db?.close();
  db = undefined;
});

async function openTemp(): Promise<Database> {
  db = await Database.open(path.join(mkdtempSync(path.join(tmpdir(), 'tagwire-db-')), 'test.db'));
  await db.exec('CREATE TABLE t (component TEXT, n INTEGER)');
  return db;
}

const count = async (d: Queryable, component: string): Promise<number> =>
  (await d.get<{ c: number }>('SELECT count(*) AS c FROM t WHERE component = ?', [component]))!.c;

describe('Database', () => {
  it('keeps a statement from elsewhere out of an open transaction that rolls back', async () => {
    const d = await openTemp();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const failing = d.transaction(async (tx) => {
      await tx.run('INSERT INTO t VALUES (?, ?)', ['a', 1]);
      await gate;
      throw new Error('component a gives up');
    });
    // Issued while a's transaction is open: it must not become part of it.
    const foreign = d.run('INSERT INTO t VALUES (?, ?)', ['b', 1]);
    release();
    await expect(failing).rejects.toThrow('component a gives up');
    await foreign;
    expect(await count(d, 'a')).toBe(0);
    expect(await count(d, 'b')).toBe(1);
  });

  it('runs transactions of two components one after the other, both committed', async () => {
    const d = await openTemp();
    const insertMany = (component: string) =>
      d.transaction(async (tx) => {
        for (let i = 0; i < 50; i++) await tx.run('INSERT INTO t VALUES (?, ?)', [component, i]);
      });
    await Promise.all([insertMany('a'), insertMany('b'), insertMany('c')]);
    expect([await count(d, 'a'), await count(d, 'b'), await count(d, 'c')]).toEqual([50, 50, 50]);
  });

  it('runs a nested unit of work and prepared statements inside the transaction they are given', async () => {
    const d = await openTemp();
    const insert = d.prepare('INSERT INTO t VALUES (?, ?)');
    await expect(
      d.transaction(async (tx) => {
        await insert.run(['a', 1], tx);
        await tx.transaction(async (inner) => {
          expect(inner).toBe(tx);
          await inner.run('INSERT INTO t VALUES (?, ?)', ['a', 2]);
        });
        expect(await count(tx, 'a')).toBe(2);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await count(d, 'a')).toBe(0);
    await insert.finalize();
  });

  it('refuses a statement on a transaction that has ended', async () => {
    const d = await openTemp();
    let kept: Queryable | undefined;
    await d.transaction(async (tx) => {
      kept = tx;
      await tx.run('INSERT INTO t VALUES (?, ?)', ['a', 1]);
    });
    await expect(kept!.run('INSERT INTO t VALUES (?, ?)', ['a', 2])).rejects.toThrow(/has ended/);
    expect(await count(d, 'a')).toBe(1);
  });

  it('applies each migration step once, per component, and refuses a newer schema', async () => {
    const d = await openTemp();
    const steps = ['CREATE TABLE m1 (x)', 'ALTER TABLE m1 ADD COLUMN y'];
    await d.migrate('demo', steps);
    await d.migrate('demo', steps);
    await d.migrate('other', ['CREATE TABLE m2 (x)']);
    const versions = await d.all<{ component: string; version: number }>(
      'SELECT component, version FROM schema_version ORDER BY component',
    );
    expect(versions).toEqual([
      { component: 'demo', version: 2 },
      { component: 'other', version: 1 },
    ]);
    await expect(d.migrate('demo', steps.slice(0, 1))).rejects.toThrow(/newer than this tagwire knows/);
  });

  it('syncs every commit (power-cut durability)', async () => {
    const d = await openTemp();
    expect(await d.get<{ synchronous: number }>('PRAGMA synchronous')).toEqual({ synchronous: 2 });
    expect(await d.get<{ journal_mode: string }>('PRAGMA journal_mode')).toEqual({ journal_mode: 'wal' });
  });
});
