// Wire framing: Modbus TCP (MBAP header, transaction ids) and RTU (unit + PDU + CRC). A framer
// turns a PDU into bytes and pulls replies out of the received byte stream, counting garbage.
import { crcMatches, rtuFrame } from '../crc.js';
import { responsePduLength } from '../pdu.js';

export interface ReplyFrame {
  /** Transaction id (TCP); undefined on RTU, where only one request is ever outstanding. */
  txId?: number;
  unitId: number;
  pdu: Uint8Array;
}

/** What a framer expects next, on RTU where replies carry no transaction id. */
export interface Expected {
  unitId: number;
  fc: number;
}

export type GarbageKind = 'garbage' | 'crcErrors';

export interface Framer {
  encode(txId: number, unitId: number, pdu: Uint8Array): Buffer;
  /** Feeds received bytes; calls `onFrame` per complete reply and `onGarbage` per discarded run. */
  push(chunk: Buffer, expected: Expected | undefined): void;
  reset(): void;
  onFrame: (frame: ReplyFrame) => void;
  onGarbage: (kind: GarbageKind, detail: string) => void;
}

export class TcpFramer implements Framer {
  private buffer: Buffer = Buffer.alloc(0);
  onFrame: (frame: ReplyFrame) => void = () => {};
  onGarbage: (kind: GarbageKind, detail: string) => void = () => {};

  encode(txId: number, unitId: number, pdu: Uint8Array): Buffer {
    const frame = Buffer.allocUnsafe(7 + pdu.length);
    frame.writeUInt16BE(txId, 0);
    frame.writeUInt16BE(0, 2);
    frame.writeUInt16BE(pdu.length + 1, 4);
    frame[6] = unitId;
    frame.set(pdu, 7);
    return frame;
  }

  push(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    while (this.buffer.length >= 7) {
      const protocol = this.buffer.readUInt16BE(2);
      const length = this.buffer.readUInt16BE(4);
      if (protocol !== 0 || length < 2 || length > 254) {
        // No way to find the next frame boundary in a TCP stream after a bad header: drop it all.
        this.onGarbage('garbage', `bad MBAP header (protocol ${protocol}, length ${length})`);
        this.buffer = Buffer.alloc(0);
        return;
      }
      if (this.buffer.length < 6 + length) return;
      const frame: ReplyFrame = {
        txId: this.buffer.readUInt16BE(0),
        unitId: this.buffer[6] as number,
        pdu: this.buffer.subarray(7, 6 + length),
      };
      this.buffer = this.buffer.subarray(6 + length);
      this.onFrame(frame);
    }
  }

  reset(): void {
    this.buffer = Buffer.alloc(0);
  }
}

export class RtuFramer implements Framer {
  private buffer: Buffer = Buffer.alloc(0);
  onFrame: (frame: ReplyFrame) => void = () => {};
  onGarbage: (kind: GarbageKind, detail: string) => void = () => {};

  encode(_txId: number, unitId: number, pdu: Uint8Array): Buffer {
    return rtuFrame(unitId, pdu);
  }

  push(chunk: Buffer, expected: Expected | undefined): void {
    if (expected === undefined) {
      // Nothing outstanding: whatever arrives is a late reply or line noise.
      this.onGarbage('garbage', `${chunk.length} unexpected bytes`);
      return;
    }
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    while (this.buffer.length > 0) {
      // Skip bytes until one looks like the start of the expected reply (unit, then fc or fc|0x80).
      if (
        this.buffer[0] !== expected.unitId ||
        (((this.buffer[1] ?? expected.fc) & 0x7f) !== expected.fc && this.buffer.length > 1)
      ) {
        const start = this.findStart(expected);
        this.onGarbage(
          'garbage',
          start < 0 ? `${this.buffer.length} bytes not from unit ${expected.unitId}` : `${start} stray bytes`,
        );
        this.buffer = start < 0 ? Buffer.alloc(0) : this.buffer.subarray(start);
        continue;
      }
      const pduLength = responsePduLength(this.buffer.subarray(1));
      if (pduLength === undefined || this.buffer.length < pduLength + 3) return;
      const frame = this.buffer.subarray(0, pduLength + 3);
      if (!crcMatches(frame)) {
        this.onGarbage('crcErrors', `CRC error in a ${frame.length}-byte frame`);
        // One request is outstanding at a time on RTU: what follows a corrupt frame is noise too.
        this.buffer = Buffer.alloc(0);
        return;
      }
      this.buffer = this.buffer.subarray(pduLength + 3);
      this.onFrame({ unitId: frame[0] as number, pdu: frame.subarray(1, pduLength + 1) });
    }
  }

  private findStart(expected: Expected): number {
    for (let i = 1; i < this.buffer.length; i++) {
      if (this.buffer[i] !== expected.unitId) continue;
      const next = this.buffer[i + 1];
      if (next === undefined || (next & 0x7f) === expected.fc) return i;
    }
    return -1;
  }

  reset(): void {
    this.buffer = Buffer.alloc(0);
  }
}
