// Modbus RTU CRC-16 (polynomial 0xA001, initial 0xFFFF), table driven.
const TABLE = new Uint16Array(256);
for (let i = 0; i < 256; i++) {
  let crc = i;
  for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  TABLE[i] = crc;
}

export function crc16(data: Uint8Array, end = data.length): number {
  let crc = 0xffff;
  for (let i = 0; i < end; i++) crc = (crc >>> 8) ^ (TABLE[(crc ^ (data[i] as number)) & 0xff] as number);
  return crc;
}

/** unit + pdu + CRC (low byte first, as RTU sends it). */
export function rtuFrame(unitId: number, pdu: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(pdu.length + 3);
  frame[0] = unitId;
  frame.set(pdu, 1);
  frame.writeUInt16LE(crc16(frame, pdu.length + 1), pdu.length + 1);
  return frame;
}

export function crcMatches(frame: Uint8Array): boolean {
  if (frame.length < 4) return false;
  const expected = (frame[frame.length - 2] as number) | ((frame[frame.length - 1] as number) << 8);
  return crc16(frame, frame.length - 2) === expected;
}
