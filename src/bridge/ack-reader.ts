// Takes the acknowledgements of the lean publisher's packets out of the upstream socket's data
// before MQTT.js parses it. MQTT.js handles one packet per tick, through a parser that allocates a
// packet object and a debug call per step: for a PUBACK that only says "id 1234 arrived" that was
// most of what the bridge spent per forwarded message after the publish itself. Everything else
// (and any ack split across two reads) reaches MQTT.js unchanged and in order, through the data
// handler that `stream.pipe` installed, so its backpressure still holds.
import type { Readable } from 'node:stream';

/** An acknowledgement of one of our packet ids: PUBACK (0x40), PUBREC (0x50) or PUBCOMP (0x70). */
export type AckHandler = (type: 0x40 | 0x50 | 0x70, id: number, reasonCode: number) => void;

/**
 * Puts the reader between `stream` and the pipe that feeds MQTT.js. Returns false (and changes
 * nothing) when the stream does not have exactly that one pipe handler.
 */
export function interceptAcks(stream: Readable, maxId: number, onAck: AckHandler): boolean {
  const handlers = stream.listeners('data');
  const pipe = handlers[0];
  if (handlers.length !== 1 || typeof pipe !== 'function' || pipe.name !== 'ondata') return false;
  const forward = pipe as (chunk: Buffer) => void;
  const reader = new AckReader(maxId, onAck);
  stream.removeListener('data', forward);
  stream.on('data', (chunk: Buffer) => {
    const rest = reader.take(chunk);
    if (rest) forward(rest);
  });
  return true;
}

export class AckReader {
  /** Bytes of the packet under way that are still to pass through (it is not ours). */
  private passing = 0;
  /** The start of a packet whose fixed header was cut by the end of a read. */
  private head: Buffer | undefined;

  constructor(
    private readonly maxId: number,
    private readonly onAck: AckHandler,
  ) {}

  /** Handles the acks in `chunk`; returns what MQTT.js must still see, or undefined when nothing. */
  take(input: Buffer): Buffer | undefined {
    let chunk = input;
    if (this.head) {
      chunk = Buffer.concat([this.head, chunk]);
      this.head = undefined;
    }
    const kept: Buffer[] = [];
    let keptFrom = -1; // start of the current run of bytes to pass on
    let pos = 0;
    const length = chunk.length;
    while (pos < length) {
      if (this.passing > 0) {
        const n = Math.min(this.passing, length - pos);
        if (keptFrom < 0) keptFrom = pos;
        pos += n;
        this.passing -= n;
        continue;
      }
      // A packet starts here: its fixed header is a type byte and 1-4 bytes of remaining length.
      let remaining = 0;
      let multiplier = 1;
      let p = pos + 1;
      let complete = false;
      while (p < length && p - pos <= 4) {
        const byte = chunk[p++]!;
        remaining += (byte & 0x7f) * multiplier;
        multiplier *= 128;
        if ((byte & 0x80) === 0) {
          complete = true;
          break;
        }
      }
      if (!complete && p - pos <= 4) {
        // The header goes on in the next read: hold it back until then.
        if (keptFrom >= 0) kept.push(chunk.subarray(keptFrom, pos));
        keptFrom = -1;
        this.head = Buffer.from(chunk.subarray(pos));
        break;
      }
      const type = chunk[pos]!;
      const end = p + remaining;
      if ((type === 0x40 || type === 0x50 || type === 0x70) && complete && remaining >= 2 && end <= length) {
        const id = (chunk[p]! << 8) | chunk[p + 1]!;
        if (id !== 0 && id <= this.maxId) {
          if (keptFrom >= 0) kept.push(chunk.subarray(keptFrom, pos));
          keptFrom = -1;
          this.onAck(type, id, remaining >= 3 ? chunk[p + 2]! : 0);
          pos = end;
          continue;
        }
      }
      // Not ours (or malformed: MQTT.js says so): the whole packet passes through.
      this.passing = complete ? end - pos : length - pos;
    }
    if (keptFrom === 0 && kept.length === 0) return chunk; // nothing of ours in it
    if (keptFrom >= 0) kept.push(chunk.subarray(keptFrom, length));
    if (kept.length === 0) return undefined;
    return kept.length === 1 ? kept[0] : Buffer.concat(kept);
  }
}
