// The outbox's rows as SQLite stores them: encoding for the INSERT, decoding of a page, and the
// grouping of delivered seqs into ranges for the DELETE.
import type { MessageProperties, QoS } from '../../broker/api.js';
import type { SqlParam } from '../../store/db.js';
import type { StoredMessage } from './outbox.js';

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

export function insertParams(chunk: readonly PendingRow[]): SqlParam[] {
  const params: SqlParam[] = new Array(2 + chunk.length * 4);
  params[0] = chunk[0]!.seq;
  params[1] = chunk[0]!.ts;
  let i = 2;
  for (const m of chunk) {
    params[i++] = m.topic;
    params[i++] = m.payload;
    params[i++] = m.qos | (m.retain ? 4 : 0);
    params[i++] = m.props;
  }
  return params;
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
