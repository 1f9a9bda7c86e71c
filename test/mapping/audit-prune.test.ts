// Audit pruning that fails (a full disk, a locked table) is said, with counts, and never stops the
// gateway from starting.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { AuditLog } from '../../src/mapping/audit.js';
import { Database } from '../../src/store/db.js';

let dir: string;
let db: Database;
beforeEach(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'tagwire-audit-prune-'));
  db = await Database.open(path.join(dir, 'tagwire.db'));
});
afterEach(async () => {
  await db.close();
  rmSync(dir, { recursive: true, force: true });
});

it('logs a failed prune with counts and opens all the same', async () => {
  const first = await AuditLog.open(db, { retentionDays: 365 });
  const old = Date.now() - 30 * 86_400_000;
  await first.record({
    ts: old,
    kind: 'set',
    clientId: 'c',
    topic: 't/set',
    payload: '1',
    ok: true,
    outcome: 'ok',
    result: '{"ok":true}',
    durationMs: 1,
  });
  await first.close();
  // Deleting fails the way a full disk makes it fail: with an error from SQLite.
  await db.exec(
    "CREATE TRIGGER audit_keep BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END",
  );
  const lines: { level: number; msg: string; failures?: number }[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as never) });
  const audit = await AuditLog.open(db, { retentionDays: 7, log });
  const errors = lines.filter((l) => l.level >= 50);
  expect(errors).toHaveLength(1);
  expect(errors[0]!.msg).toMatch(/pruning the audit log failed \(1 time/);
  expect(errors[0]!.failures).toBe(1);
  expect(await audit.query()).toHaveLength(1); // still there, to be pruned at the next try
  await audit.close();
  // Without a log there is no one to tell: the failure stops the caller, as before.
  await expect(AuditLog.open(db, { retentionDays: 7 })).rejects.toThrow('database or disk is full');
});
