// Answers one request PDU from a unit's memory: reads, writes, and exception replies.
import { decodeRequest, packBits, type ModbusRequest } from '../pdu.js';
import type { UnitMemory } from './memory.js';

function exception(fc: number, code: number): Buffer {
  return Buffer.from([fc | 0x80, code]);
}

/** Answers a request; function codes in `refused` get exception 1, as from a device without them. */
export function handleRequest(memory: UnitMemory, pdu: Uint8Array, refused: readonly number[] = []): Buffer {
  const fc = pdu[0] ?? 0;
  if (refused.includes(fc)) return exception(fc, 1);
  const request: ModbusRequest | { exception: number } = decodeRequest(pdu);
  if ('exception' in request) return exception(fc, request.exception);
  switch (request.fc) {
    case 1:
    case 2: {
      const table = request.fc === 1 ? 'coil' : 'di';
      if (!memory.covers(table, request.address, request.quantity)) return exception(fc, 2);
      const packed = packBits(memory[table].subarray(request.address, request.address + request.quantity));
      const reply = Buffer.allocUnsafe(2 + packed.length);
      reply[0] = fc;
      reply[1] = packed.length;
      packed.copy(reply, 2);
      return reply;
    }
    case 3:
    case 4: {
      const table = request.fc === 3 ? 'hr' : 'ir';
      if (!memory.covers(table, request.address, request.quantity)) return exception(fc, 2);
      const reply = Buffer.allocUnsafe(2 + request.quantity * 2);
      reply[0] = fc;
      reply[1] = request.quantity * 2;
      memory[table].copy(reply, 2, request.address * 2, (request.address + request.quantity) * 2);
      return reply;
    }
    case 5:
    case 6: {
      const table = request.fc === 5 ? 'coil' : 'hr';
      if (!memory.covers(table, request.address, 1)) return exception(fc, 2);
      if (request.fc === 5) memory.setBit('coil', request.address, request.value);
      else memory.hr.writeUInt16BE(request.value, request.address * 2);
      return Buffer.from(pdu.subarray(0, 5));
    }
    case 15: {
      if (!memory.covers('coil', request.address, request.values.length)) return exception(fc, 2);
      request.values.forEach((v, i) => memory.setBit('coil', request.address + i, v));
      return Buffer.from(pdu.subarray(0, 5));
    }
    case 16: {
      if (!memory.covers('hr', request.address, request.data.length >> 1)) return exception(fc, 2);
      memory.setRegisters('hr', request.address, request.data);
      return Buffer.from(pdu.subarray(0, 5));
    }
  }
}
