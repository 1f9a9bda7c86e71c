import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/audit.js';
import { parseTime } from '../../src/mapping/audit-time.js';
import { AuditLog, type AuditEntry, type AuditOutcome } from '../../src/mapping/audit.js';
import { Database } from '../../src/store/db.js';
import { workspace, type Workspace } from '../config/fixtures.js';

const DAY = 86_400_000;
const entry = (
  ts: number,
  device: string,
  ok = true,
  outcome: AuditOutcome = ok ? 'ok' : 'refused',
): AuditEntry => ({
  ts,
  kind: 'set',
  clientId: 'operator-1',
  username: 'ops',
  device,
  tag: 'setpoint',
  topic: `acme/${device}/setpoint/set`,
  payload: '{"value":1}',
  ok,
  outcome,
  result: ok ? '{"ok":true,"value":1}' : '{"ok":false,"error":"value 900 above max 500"}',
  durationMs: 1.5,
});

let ws: Workspace;
let db: Database;
beforeEach(async () => {
  ws = workspace();
  mkdirSync(ws.file('data'));
  db = await Database.open(ws.file('data/tagwire.db'));
});
afterEach(async () => {
  await db.close();
  ws.remove();
});

describe('audit log', () => {
  it('stores, filters by device and time, and keeps the latest rows under a limit', async () => {
    const audit = await AuditLog.open(db, { retentionDays: 30 });
    const now = Date.now();
    for (let i = 0; i < 5; i++)
      await audit.record(entry(now - (5 - i) * 1000, i % 2 ? 'press1' : 'oven1', i !== 3));
    expect((await audit.query()).map((e) => e.ts)).toEqual([0, 1, 2, 3, 4].map((i) => now - (5 - i) * 1000));
    expect((await audit.query({ device: 'press1' })).map((e) => [e.device, e.ok])).toEqual([
      ['press1', true],
      ['press1', false],
    ]);
    expect(await audit.query({ since: now - 2500, until: now - 1000 })).toHaveLength(1);
    expect((await audit.query({ limit: 2 })).map((e) => e.ts)).toEqual([now - 2000, now - 1000]);
    expect((await audit.query({ device: 'press1' }))[0]).toEqual(entry(now - 4000, 'press1'));
    await audit.close();
  });

  it('stores a row before the command runs and completes it after, with its outcome', async () => {
    const audit = await AuditLog.open(db, { retentionDays: 30 });
    const now = Date.now();
    const { ok: _ok, outcome: _o, result: _r, durationMs: _d, ...start } = entry(now, 'press1');
    const rows = await Promise.all([audit.reserve(start), audit.reserve({ ...start, ts: now + 1 })]);
    // Reserved and not finished: a gateway that dies now leaves rows saying "unknown".
    expect((await audit.query()).map((e) => [e.outcome, e.ok, e.result])).toEqual([
      ['unknown', false, ''],
      ['unknown', false, ''],
    ]);
    await rows[0]!.finish({ outcome: 'ok', result: '{"ok":true,"value":1}', durationMs: 2 });
    await rows[1]!.finish({
      outcome: 'unknown',
      result: '{"ok":false,"error":"write to setpoint: timeout","outcome":"unknown"}',
      durationMs: 300,
    });
    expect((await audit.query()).map((e) => [e.outcome, e.ok, e.durationMs])).toEqual([
      ['ok', true, 2],
      ['unknown', false, 300],
    ]);
    expect((await audit.query({ outcome: 'unknown' })).map((e) => e.ts)).toEqual([now + 1]);
    await audit.close();
  });

  it('refuses a reservation it cannot store', async () => {
    const audit = await AuditLog.open(db, { retentionDays: 30 });
    const { ok: _ok, outcome: _o, result: _r, durationMs: _d, ...start } = entry(Date.now(), 'press1');
    await db.exec('DROP TABLE audit');
    await expect(audit.reserve(start)).rejects.toThrow(/no such table: audit/);
    await audit.close();
    await expect(audit.reserve(start)).rejects.toThrow('the audit log is closed');
  });

  it('gives rows of the first schema version an outcome from their ok flag', async () => {
    await db.exec(`CREATE TABLE audit (
      id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, kind TEXT NOT NULL, client_id TEXT NOT NULL,
      username TEXT, device TEXT, tag TEXT, topic TEXT NOT NULL, payload TEXT NOT NULL,
      ok INTEGER NOT NULL, result TEXT NOT NULL, duration_ms REAL NOT NULL)`);
    await db.run("INSERT INTO schema_version (component, version) VALUES ('audit', 1)");
    const now = Date.now();
    for (const ok of [1, 0])
      await db.run(
        "INSERT INTO audit (ts, kind, client_id, topic, payload, ok, result, duration_ms) VALUES (?, 'set', 'c', 't', 'p', ?, 'r', 1)",
        [now + ok, ok],
      );
    const audit = await AuditLog.open(db, { retentionDays: 30 });
    expect((await audit.query()).map((e) => [e.ok, e.outcome])).toEqual([
      [false, 'failed'],
      [true, 'ok'],
    ]);
    await audit.close();
  });

  it('deletes rows older than the retention on open and on prune', async () => {
    const first = await AuditLog.open(db, { retentionDays: 365 });
    const now = Date.now();
    await first.record(entry(now - 10 * DAY, 'press1'));
    await first.record(entry(now - 2 * DAY, 'press1'));
    await first.record(entry(now, 'press1'));
    await first.close();
    const second = await AuditLog.open(db, { retentionDays: 7 });
    expect((await second.query()).map((e) => e.ts)).toEqual([now - 2 * DAY, now]);
    expect(await second.prune(now + 6 * DAY)).toBe(1);
    expect(await second.query()).toHaveLength(1);
    await second.close();
  });
});

describe('tagwire audit', () => {
  it('parses times as ISO dates or ages', () => {
    expect(parseTime('30m', 10_000_000)).toBe(10_000_000 - 1_800_000);
    expect(parseTime('2d', 10 * DAY)).toBe(8 * DAY);
    expect(parseTime('2026-11-21T08:00:00Z')).toBe(Date.UTC(2026, 10, 21, 8));
    expect(() => parseTime('yesterday')).toThrow('"yesterday" is not a time');
  });

  it('prints the rows of one device since a time', async () => {
    const audit = await AuditLog.open(db, { retentionDays: 30 });
    const now = Date.now();
    await audit.record(entry(now - 3 * 3_600_000, 'press1'));
    await audit.record(entry(now - 60_000, 'press1', false));
    await audit.record(entry(now - 50_000, 'press1', false, 'unknown'));
    await audit.record(entry(now - 40_000, 'press1', false, 'failed'));
    await audit.record(entry(now - 30_000, 'oven1'));
    await audit.close();
    const out: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      out.push(String(chunk));
      return true;
    });
    const errSpy = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await main(['--data', path.join(ws.dir, 'data'), '--device', 'press1', '--since', '1h'])).toBe(
        0,
      );
      expect(await main(['--data', path.join(ws.dir, 'data'), '--json', '--limit', '1'])).toBe(0);
      expect(await main(['--data', path.join(ws.dir, 'data'), '--outcome', 'unknown'])).toBe(0);
      expect(await main(['--data', path.join(ws.dir, 'data'), '--outcome', 'maybe'])).toBe(1);
      expect(await main(['--data', path.join(ws.dir, 'nowhere')])).toBe(1);
      expect(await main(['--data', path.join(ws.dir, 'data'), '--since', 'soon'])).toBe(1);
    } finally {
      spy.mockRestore();
      errSpy.mockRestore();
    }
    expect(out).toHaveLength(5);
    const line = (ago: number, outcome: string) =>
      `${new Date(now - ago).toISOString()}  ${outcome}  set         press1 setpoint  operator-1 (ops)  acme/press1/setpoint/set  {"value":1}  ->  {"ok":false,"error":"value 900 above max 500"}  1.5 ms\n`;
    expect(out.slice(0, 3)).toEqual([
      line(60_000, 'REFUSED'),
      line(50_000, 'UNKNOWN'),
      line(40_000, 'FAILED '),
    ]);
    expect(JSON.parse(out[3]!)).toMatchObject({ device: 'oven1', ok: true, outcome: 'ok' });
    expect(out[4]).toBe(line(50_000, 'UNKNOWN'));
  });
});
