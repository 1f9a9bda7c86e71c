// The outbox's rows as SQLite stores them: encoding for the INSERT, decoding of a page, and the
// grouping of delivered seqs into ranges for the DELETE.
import type { MessageProperties, QoS } from '../../broker/api.js';
import type { SqlParam } from '../../store/db.js';
import type { StoredMessage } from './types.js';

export interface Row {
  seq: number;
  ts: number;
  topic: string;
  payload: Buffer;
  /** QoS in bits 0-1, retain in bit 2. */
  flags: number;
  props: string | null;
  bytes: number;
}

/** A message on its way to disk: its properties encoded once. */
export interface PendingRow extends StoredMessage {
  props: string | null;
}

/** SQLite said the disk (or the database's size limit) is full. */
export function isDiskFull(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === 'SQLITE_FULL';
}

/**
 * One INSERT for a whole group commit, whatever its size: binding four parameters per row costs
 * the main thread some microseconds each in node-sqlite3, so the rows travel as two parameters,
 * a JSON array ([topic, payload offset, payload length, flags, props] per row) and every payload
 * in one blob, which SQLite takes apart on its own thread. ?1 bridge, ?2 first seq, ?3 time.
 */
export const INSERT_SQL = `INSERT INTO outbox_messages (bridge_id, seq, ts, topic, payload, flags, props)
  SELECT ?1, ?2 + key, ?3, value ->> 0, coalesce(substr(?5, value ->> 1, value ->> 2), x''), value ->> 3, value ->> 4
  FROM json_each(?4)`;

export function insertParams(bridgeId: number, rows: readonly PendingRow[]): SqlParam[] {
  const payloads = new Array<Buffer>(rows.length);
  let json = '[';
  let offset = 1; // substr() counts from 1
  for (let i = 0; i < rows.length; i++) {
    const m = rows[i]!;
    payloads[i] = m.payload;
    const props = m.props === null ? 'null' : JSON.stringify(m.props);
    json += `${i === 0 ? '' : ','}[${JSON.stringify(m.topic)},${offset},${m.payload.length},${m.qos | (m.retain ? 4 : 0)},${props}]`;
    offset += m.payload.length;
  }
  return [bridgeId, rows[0]!.seq, rows[0]!.ts, `${json}]`, Buffer.concat(payloads, offset - 1)];
}

/** Splits seqs into contiguous runs (at least 4 long) and the rest. */
export function toRanges(seqs: readonly number[]): { ranges: [number, number][]; singles: number[] } {
  const sorted = [...seqs].sort((a, b) => a - b);
  const ranges: [number, number][] = [];
  const singles: number[] = [];
  let start = 0;
  for (let i = 1; i <= sorted.length; i++) {
    if (i < sorted.length && sorted[i] === sorted[i - 1]! + 1) continue;
    if (i - start >= 4) ranges.push([sorted[start]!, sorted[i - 1]!]);
    else for (let j = start; j < i; j++) singles.push(sorted[j]!);
    start = i;
  }
  return { ranges, singles };
}

/** One DELETE's WHERE clause (after `bridge_id = ?`), its parameters and the seqs it covers. */
export interface DeleteRun {
  condition: string;
  params: number[];
  seqs: number[];
}

/**
 * The DELETE statements for delivered `seqs`: contiguous runs as ranges of at most `rangeChunk`
 * seqs, the rest as lists of at most `listChunk`.
 */
export function deleteRuns(seqs: readonly number[], rangeChunk: number, listChunk: number): DeleteRun[] {
  const { ranges, singles } = toRanges(seqs);
  const runs: DeleteRun[] = [];
  for (const [first, last] of ranges) {
    for (let from = first; from <= last; from += rangeChunk) {
      const to = Math.min(last, from + rangeChunk - 1);
      runs.push({
        condition: 'seq BETWEEN ? AND ?',
        params: [from, to],
        seqs: Array.from({ length: to - from + 1 }, (_, i) => from + i),
      });
    }
  }
  for (let i = 0; i < singles.length; i += listChunk) {
    const chunk = singles.slice(i, i + listChunk);
    runs.push({ condition: `seq IN (${chunk.map(() => '?').join(',')})`, params: chunk, seqs: chunk });
  }
  return runs;
}

export function fromRow(r: Row): StoredMessage {
  const msg: StoredMessage = {
    seq: r.seq,
    ts: r.ts,
    topic: r.topic,
    payload: r.payload,
    qos: (r.flags & 3) as QoS,
    retain: (r.flags & 4) !== 0,
    bytes: r.bytes,
  };
  if (r.props !== null) msg.properties = decodeProperties(r.props);
  return msg;
}

export function encodeProperties(props: MessageProperties | undefined): string | undefined {
  if (!props || Object.keys(props).length === 0) return undefined;
  const { correlationData, ...rest } = props;
  return JSON.stringify(
    correlationData ? { ...rest, correlationData: correlationData.toString('base64') } : rest,
  );
}

export function decodeProperties(text: string): MessageProperties {
  const parsed = JSON.parse(text) as Omit<MessageProperties, 'correlationData'> & {
    correlationData?: string;
  };
  const { correlationData, ...rest } = parsed;
  return correlationData === undefined
    ? rest
    : { ...rest, correlationData: Buffer.from(correlationData, 'base64') };
}
