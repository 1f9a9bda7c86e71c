// Persistent MQTT sessions in SQLite (component 'broker'): subscriptions and the QoS 1/2 messages
// queued or in flight, so they survive a broker restart. Changes are queued in order and written
// together in one transaction per tick; those who wait for that commit learn whether it failed.
import { NotStoredError } from '../api.js';
import type { Logger } from '../../log.js';
import type { Database, SqlParam, Statement } from '../../store/db.js';
import { GroupCommit } from '../../store/group-commit.js';
import type { ProtocolVersion } from '../codec.js';
import type { Outgoing, Session, SessionPersistence, SubscriptionOptions } from '../session.js';
import { BrokerTable } from './migrations.js';
import { decodeProperties, encodeProperties } from '../retained.js';

export interface StoredSession {
  clientId: string;
  username: string | undefined;
  version: ProtocolVersion;
  expirySec: number;
  disconnectedAt: number;
  subscriptions: [string, SubscriptionOptions][];
  messages: Outgoing[];
}

type Op = {
  sql: 'upsertSession' | 'deleteSession' | 'deleteMessages' | 'saveMessage' | 'deleteMessage';
  params: SqlParam[];
};

const SQL = {
  upsertSession:
    'INSERT INTO broker_sessions (client_id, username, protocol_version, expiry_sec, disconnected_at, subscriptions) ' +
    'VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(client_id) DO UPDATE SET username = excluded.username, ' +
    'protocol_version = excluded.protocol_version, expiry_sec = excluded.expiry_sec, ' +
    'disconnected_at = excluded.disconnected_at, subscriptions = excluded.subscriptions',
  deleteSession: 'DELETE FROM broker_sessions WHERE client_id = ?',
  deleteMessages: 'DELETE FROM broker_session_messages WHERE client_id = ?',
  saveMessage:
    'INSERT INTO broker_session_messages (client_id, seq, topic, payload, qos, retain, properties, expires_at, packet_id, stage) ' +
    'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(client_id, seq) DO UPDATE SET ' +
    'packet_id = excluded.packet_id, stage = excluded.stage',
  deleteMessage: 'DELETE FROM broker_session_messages WHERE client_id = ? AND seq = ?',
} as const;

interface SessionRow {
  client_id: string;
  username: string | null;
  protocol_version: number;
  expiry_sec: number;
  disconnected_at: number | null;
  subscriptions: string;
}

interface MessageRow {
  client_id: string;
  seq: number;
  topic: string;
  payload: Buffer;
  qos: number;
  retain: number;
  properties: string | null;
  expires_at: number | null;
  packet_id: number | null;
  stage: string;
}

/** Failed changes kept for a retry; past this, the oldest are given up (and counted in the log). */
const MAX_RETRY_OPS = 100_000;
const RETRY_MS = 1000;

export class SessionStore extends BrokerTable implements SessionPersistence {
  private ops: Op[] = [];
  /** The commit the queued ops wait for. */
  private commit: GroupCommit | null = null;
  private immediate: NodeJS.Immediate | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private statements: Record<Op['sql'], Statement> | null = null;

  private constructor(db: Database, log: Logger) {
    super(db, log, 'writing MQTT sessions');
  }

  static async open(db: Database, log: Logger): Promise<SessionStore> {
    await BrokerTable.migrate(db);
    return new SessionStore(db, log);
  }

  /** Every stored session with its messages; sessions expired while the broker was down are deleted. */
  async loadAll(now: number): Promise<StoredSession[]> {
    const rows = await this.db.all<SessionRow>('SELECT * FROM broker_sessions');
    const messages = await this.db.all<MessageRow>(
      'SELECT * FROM broker_session_messages ORDER BY client_id, seq',
    );
    const byClient = new Map<string, Outgoing[]>();
    for (const m of messages) {
      const list = byClient.get(m.client_id) ?? [];
      const stage = m.stage === 'publish' || m.stage === 'release' ? m.stage : 'queued';
      list.push({
        msg: {
          topic: m.topic,
          payload: m.payload ?? Buffer.alloc(0),
          qos: (m.qos === 2 ? 2 : 1) as 1 | 2,
          retain: m.retain === 1,
          properties: decodeProperties(m.properties),
          origin: { kind: 'internal', component: 'session-store' },
          expiresAt: m.expires_at ?? 0,
          publisher: null,
        },
        qos: (m.qos === 2 ? 2 : 1) as 1 | 2,
        retain: m.retain === 1,
        subscriptionIds: undefined,
        packetId: m.packet_id ?? 0,
        stage,
        seq: m.seq,
      });
      byClient.set(m.client_id, list);
    }
    const sessions: StoredSession[] = [];
    for (const row of rows) {
      const disconnectedAt = row.disconnected_at ?? now;
      if (disconnectedAt + row.expiry_sec * 1000 <= now) {
        this.deleteSession(row.client_id);
        continue;
      }
      const version = row.protocol_version === 3 || row.protocol_version === 5 ? row.protocol_version : 4;
      sessions.push({
        clientId: row.client_id,
        username: row.username ?? undefined,
        version,
        expirySec: row.expiry_sec,
        disconnectedAt,
        subscriptions: JSON.parse(row.subscriptions) as [string, SubscriptionOptions][],
        messages: byClient.get(row.client_id) ?? [],
      });
    }
    await this.flush();
    return sessions;
  }

  saveSession(session: Session): void {
    this.queue('upsertSession', [
      session.clientId,
      session.username ?? null,
      session.version,
      session.expirySec,
      session.link ? null : session.disconnectedAt || Date.now(),
      JSON.stringify([...session.subscriptions]),
    ]);
  }

  deleteSession(clientId: string): void {
    this.queue('deleteMessages', [clientId]);
    this.queue('deleteSession', [clientId]);
  }

  saveMessage(clientId: string, out: Outgoing): void {
    const m = out.msg;
    this.queue('saveMessage', [
      clientId,
      out.seq,
      m.topic,
      m.payload,
      out.qos,
      out.retain ? 1 : 0,
      encodeProperties(m.properties),
      m.expiresAt === 0 ? null : m.expiresAt,
      out.packetId === 0 ? null : out.packetId,
      out.stage,
    ]);
  }

  deleteMessage(clientId: string, seq: number): void {
    this.queue('deleteMessage', [clientId, seq]);
  }

  /** The commit of every change queued so far; null when none is pending. */
  durable(): Promise<void> | null {
    return this.ops.length === 0 ? null : this.commit!.promise;
  }

  private queue(sql: Op['sql'], params: SqlParam[]): void {
    this.ops.push({ sql, params });
    this.commit ??= new GroupCommit();
    // One commit per tick for every change and every publisher waiting in it.
    if (!this.immediate && !this.retryTimer) this.immediate = setImmediate(() => void this.flush());
  }

  /**
   * Commits every change queued so far; resolves once they are on disk. A failed commit rejects
   * what waits for it (a publisher is not acknowledged); its session changes are tried again.
   */
  flush(): Promise<void> {
    if (this.immediate) clearImmediate(this.immediate);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.immediate = this.retryTimer = undefined;
    if (this.ops.length === 0) return this.writing;
    const ops = this.ops;
    const commit = this.commit!;
    this.ops = [];
    this.commit = null;
    this.writing = this.writing.then(() =>
      this.db
        .transaction(async (tx) => {
          this.statements ??= {
            upsertSession: this.db.prepare(SQL.upsertSession),
            deleteSession: this.db.prepare(SQL.deleteSession),
            deleteMessages: this.db.prepare(SQL.deleteMessages),
            saveMessage: this.db.prepare(SQL.saveMessage),
            deleteMessage: this.db.prepare(SQL.deleteMessage),
          };
          const statements = this.statements;
          await Promise.all(ops.map((op) => statements[op.sql].run(op.params, tx)));
        })
        .then(
          () => {
            this.failures.succeeded();
            commit.resolve();
          },
          (err: Error) => this.failed(ops, commit, err),
        ),
    );
    return this.writing;
  }

  private failed(ops: Op[], commit: GroupCommit, err: Error): void {
    this.failures.failed(err, ops.length);
    commit.reject(new NotStoredError('storage', `session state not stored: ${err.message}`, { cause: err }));
    if (this.closed) return;
    // Session records and deletions are tried again, in order. Message rows are not: their
    // publishers were refused and send them again, and retrying the bulk of a full disk's writes
    // would take at once whatever room a delete frees elsewhere.
    const retry = ops.filter((op) => op.sql !== 'saveMessage');
    this.ops = [...retry, ...this.ops].slice(-MAX_RETRY_OPS);
    if (this.ops.length === 0) return;
    this.commit ??= new GroupCommit();
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = undefined;
    this.retryTimer ??= setTimeout(() => void this.flush(), RETRY_MS);
    this.retryTimer.unref();
  }

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.failures.flush();
    if (this.statements) await Promise.all(Object.values(this.statements).map((s) => s.finalize()));
    this.statements = null;
  }
}
