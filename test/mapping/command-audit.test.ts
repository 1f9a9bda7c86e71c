// The audit side of commands: a row per command before it runs, completed after; while rows cannot
// be stored, commands are refused and the failure is logged once, then as a count, not per command.
import { mkdirSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Logger } from '../../src/log.js';
import { CommandAuditor } from '../../src/mapping/command-audit.js';
import { AuditLog, type AuditStart } from '../../src/mapping/audit.js';
import { Database } from '../../src/store/db.js';
import { workspace, type Workspace } from '../config/fixtures.js';

const start = (ts: number): AuditStart => ({
  ts,
  kind: 'set',
  clientId: 'operator-1',
  device: 'press1',
  tag: 'setpoint',
  topic: 'acme/press1/setpoint/set',
  payload: '{"value":1}',
});

let ws: Workspace;
let db: Database;
const lines: Array<{ obj: Record<string, unknown>; msg: string }> = [];
const log = {
  error: (obj: Record<string, unknown>, msg: string) => lines.push({ obj, msg }),
} as unknown as Logger;

beforeEach(async () => {
  ws = workspace();
  mkdirSync(ws.file('data'));
  db = await Database.open(ws.file('data/tagwire.db'));
  lines.length = 0;
});
afterEach(async () => {
  vi.useRealTimers();
  await db.close();
  ws.remove();
});

describe('CommandAuditor', () => {
  it('stores the row first, then completes it', async () => {
    const audit = await AuditLog.open(db, { retentionDays: 30, file: ws.file('data/tagwire.db') });
    const auditor = new CommandAuditor(audit, log);
    const command = auditor.begin(start(1000));
    await command.stored;
    expect((await audit.query())[0]).toMatchObject({ ts: 1000, outcome: 'unknown', result: '' });
    await command.finish({ outcome: 'failed', result: '{"ok":false,"error":"x"}', durationMs: 3 });
    expect((await audit.query())[0]).toMatchObject({ outcome: 'failed', ok: false, durationMs: 3 });
    await audit.close();
    expect(lines).toEqual([]);
  });

  it('refuses while rows cannot be stored, logging once and then a count', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const audit = await AuditLog.open(db, { retentionDays: 30 });
    await audit.close();
    const auditor = new CommandAuditor(audit, log);
    for (let i = 0; i < 50; i++) {
      const command = auditor.begin(start(i));
      await expect(command.stored).rejects.toThrow('the audit log is closed');
      await command.finish({ outcome: 'refused', result: '{}', durationMs: 0 }); // nothing to complete
    }
    expect(lines.map((l) => l.msg)).toEqual(['audit log unavailable: 1 command refused']);
    vi.advanceTimersByTime(10_000);
    expect(lines.map((l) => l.msg)).toEqual([
      'audit log unavailable: 1 command refused',
      'audit log unavailable: 49 commands refused',
    ]);
    expect(lines[1]!.obj).toMatchObject({ refused: 49 });
  });
});
