// Modbus PDUs (function code + data) for the function codes we use, both directions: the driver
// encodes requests and decodes responses, the simulator decodes requests and encodes responses.

export type ReadFunction = 1 | 2 | 3 | 4;

export type ModbusRequest =
  | { fc: ReadFunction; address: number; quantity: number }
  | { fc: 5; address: number; value: boolean }
  | { fc: 6; address: number; value: number }
  | { fc: 15; address: number; values: boolean[] }
  | { fc: 16; address: number; data: Uint8Array };

export type ModbusResponse =
  | { kind: 'data'; data: Uint8Array }
  | { kind: 'ack' }
  | { kind: 'exception'; code: number }
  | { kind: 'invalid'; reason: string };

export const EXCEPTION_NAMES: Record<number, string> = {
  1: 'illegal function',
  2: 'illegal data address',
  3: 'illegal data value',
  4: 'server device failure',
  5: 'acknowledge',
  6: 'server device busy',
  8: 'memory parity error',
  10: 'gateway path unavailable',
  11: 'gateway target device failed to respond',
};

/** The reason a sample carries for an exception reply: `modbus exception 2 (illegal data address)`. */
export function exceptionReason(code: number): string {
  const name = EXCEPTION_NAMES[code];
  return name ? `modbus exception ${code} (${name})` : `modbus exception ${code}`;
}

export function encodeRequest(req: ModbusRequest): Buffer {
  switch (req.fc) {
    case 1:
    case 2:
    case 3:
    case 4: {
      const pdu = Buffer.allocUnsafe(5);
      pdu[0] = req.fc;
      pdu.writeUInt16BE(req.address, 1);
      pdu.writeUInt16BE(req.quantity, 3);
      return pdu;
    }
    case 5: {
      const pdu = Buffer.allocUnsafe(5);
      pdu[0] = 5;
      pdu.writeUInt16BE(req.address, 1);
      pdu.writeUInt16BE(req.value ? 0xff00 : 0, 3);
      return pdu;
    }
    case 6: {
      const pdu = Buffer.allocUnsafe(5);
      pdu[0] = 6;
      pdu.writeUInt16BE(req.address, 1);
      pdu.writeUInt16BE(req.value, 3);
      return pdu;
    }
    case 15: {
      const packed = packBits(req.values);
      const pdu = Buffer.allocUnsafe(6 + packed.length);
      pdu[0] = 15;
      pdu.writeUInt16BE(req.address, 1);
      pdu.writeUInt16BE(req.values.length, 3);
      pdu[5] = packed.length;
      packed.copy(pdu, 6);
      return pdu;
    }
    case 16: {
      const pdu = Buffer.allocUnsafe(6 + req.data.length);
      pdu[0] = 16;
      pdu.writeUInt16BE(req.address, 1);
      pdu.writeUInt16BE(req.data.length >> 1, 3);
      pdu[5] = req.data.length;
      pdu.set(req.data, 6);
      return pdu;
    }
  }
}

/** Checks a response PDU against its request; anything unexpected is `invalid` (counted as garbage). */
export function decodeResponse(req: ModbusRequest, pdu: Uint8Array): ModbusResponse {
  const fc = pdu[0];
  if (fc === (req.fc | 0x80)) {
    if (pdu.length !== 2) return { kind: 'invalid', reason: `exception reply of ${pdu.length} bytes` };
    return { kind: 'exception', code: pdu[1] as number };
  }
  if (fc !== req.fc) return { kind: 'invalid', reason: `reply to function ${fc}, expected ${req.fc}` };
  switch (req.fc) {
    case 1:
    case 2: {
      const bytes = Math.ceil(req.quantity / 8);
      if (pdu.length !== 2 + bytes || pdu[1] !== bytes)
        return { kind: 'invalid', reason: 'bit reply of wrong length' };
      return { kind: 'data', data: unpackBits(pdu.subarray(2), req.quantity) };
    }
    case 3:
    case 4: {
      const bytes = req.quantity * 2;
      if (pdu.length !== 2 + bytes || pdu[1] !== bytes)
        return { kind: 'invalid', reason: 'register reply of wrong length' };
      return { kind: 'data', data: pdu.slice(2) };
    }
    default: {
      if (pdu.length !== 5) return { kind: 'invalid', reason: 'write reply of wrong length' };
      const address = ((pdu[1] as number) << 8) | (pdu[2] as number);
      if (address !== req.address) return { kind: 'invalid', reason: `write reply for address ${address}` };
      return { kind: 'ack' };
    }
  }
}

/** PDU length of a response, from its first bytes; undefined until enough bytes are there. */
export function responsePduLength(head: Uint8Array): number | undefined {
  const fc = head[0];
  if (fc === undefined) return undefined;
  if (fc & 0x80) return 2;
  if (fc >= 1 && fc <= 4) return head.length >= 2 ? 2 + (head[1] as number) : undefined;
  return 5;
}

/** PDU length of a request, from its first bytes; undefined until enough bytes are there. */
export function requestPduLength(head: Uint8Array): number | undefined {
  const fc = head[0];
  if (fc === undefined) return undefined;
  if (fc === 15 || fc === 16) return head.length >= 6 ? 6 + (head[5] as number) : undefined;
  return 5;
}

/** Decodes a request (simulator side); an exception code when it is not one we serve. */
export function decodeRequest(pdu: Uint8Array): ModbusRequest | { exception: number } {
  const view = Buffer.from(pdu.buffer, pdu.byteOffset, pdu.byteLength);
  const fc = view[0] as number;
  if (view.length < 5) return { exception: 3 };
  const address = view.readUInt16BE(1);
  const word = view.readUInt16BE(3);
  switch (fc) {
    case 1:
    case 2:
      return word >= 1 && word <= 2000 ? { fc, address, quantity: word } : { exception: 3 };
    case 3:
    case 4:
      return word >= 1 && word <= 125 ? { fc, address, quantity: word } : { exception: 3 };
    case 5:
      return word === 0xff00 || word === 0 ? { fc, address, value: word === 0xff00 } : { exception: 3 };
    case 6:
      return { fc, address, value: word };
    case 15: {
      const bytes = view[5] as number;
      if (word < 1 || word > 1968 || bytes !== Math.ceil(word / 8) || view.length !== 6 + bytes)
        return { exception: 3 };
      return { fc, address, values: Array.from(unpackBits(view.subarray(6), word), (b) => b === 1) };
    }
    case 16: {
      const bytes = view[5] as number;
      if (word < 1 || word > 123 || bytes !== word * 2 || view.length !== 6 + bytes) return { exception: 3 };
      return { fc, address, data: view.slice(6) };
    }
    default:
      return { exception: 1 };
  }
}

export function packBits(values: ArrayLike<boolean | number>): Buffer {
  const out = Buffer.alloc(Math.ceil(values.length / 8));
  for (let i = 0; i < values.length; i++) {
    if (values[i]) out[i >> 3] = (out[i >> 3] as number) | (1 << (i & 7));
  }
  return out;
}

export function unpackBits(packed: Uint8Array, quantity: number): Uint8Array {
  const out = new Uint8Array(quantity);
  for (let i = 0; i < quantity; i++) out[i] = ((packed[i >> 3] as number) >> (i & 7)) & 1;
  return out;
}
