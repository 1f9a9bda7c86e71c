// A write: encode the engineering value, send it ahead of queued polls (FC 5/6, or 15/16 for
// multi-register values and devices that refuse 5/6), then read the tag back and confirm it.
// A write that went out and got no answer has an unknown outcome: the device may have taken it.
import { OUTCOME_UNKNOWN, type TagValue, type WriteResult } from '../types.js';
import { encodeTag, sampleOf, type ReadBlock } from './codec.js';
import type { ModbusDeviceConfig } from './config.js';
import type { ModbusRequest } from './pdu.js';
import type { ResolvedTag } from './tag.js';
import type { Outcome, Unit } from './unit.js';

export async function writeTag(
  unit: Unit,
  device: ModbusDeviceConfig,
  tag: ResolvedTag,
  value: TagValue,
): Promise<WriteResult> {
  const encoded = encodeTag(tag, value);
  if ('error' in encoded) return { ok: false, error: encoded.error, outcome: 'refused' };
  let expected: Uint8Array;
  let request: ModbusRequest;
  if (encoded.kind === 'bits') {
    expected = Uint8Array.from(encoded.data, (b) => (b ? 1 : 0));
    request =
      encoded.data.length === 1 && !device.forceMultipleWrites
        ? { fc: 5, address: tag.address, value: encoded.data[0] as boolean }
        : { fc: 15, address: tag.address, values: encoded.data };
  } else {
    let data = encoded.data;
    if (tag.bit !== undefined) {
      // A register bit: read the register, change the one bit, write the register back.
      const current = await unit.execute({ fc: 3, address: tag.address, quantity: 1 }, 'high');
      if (current.kind !== 'data')
        return {
          ok: false,
          error: `reading ${tag.name} before the write: ${failure(current)}`,
          outcome: 'refused',
        };
      const word = (((current.data[0] as number) << 8) | (current.data[1] as number)) & ~(1 << tag.bit);
      const set = data[1] === 1 ? 1 << tag.bit : 0;
      data = Uint8Array.of(((word | set) >> 8) & 0xff, (word | set) & 0xff);
    }
    expected = data;
    request =
      data.length === 2 && !device.forceMultipleWrites
        ? { fc: 6, address: tag.address, value: ((data[0] as number) << 8) | (data[1] as number) }
        : { fc: 16, address: tag.address, data };
  }
  const written = await unit.execute(request, 'high');
  if (written.kind !== 'ack') {
    const error = `write to ${tag.name}: ${failure(written)}`;
    return unanswered(written)
      ? { ok: false, error: `${error}: ${OUTCOME_UNKNOWN}`, outcome: 'unknown' }
      : { ok: false, error };
  }

  const readFc = tag.table === 'coil' ? 1 : 3;
  const back = await unit.execute({ fc: readFc, address: tag.address, quantity: tag.span }, 'high');
  if (back.kind !== 'data') {
    const error = `read-back of ${tag.name}: ${failure(back)}`;
    // The device acknowledged the write; only what it holds now is not known.
    return unanswered(back)
      ? {
          ok: false,
          error: `${error}: the device took the write, its value is unknown`,
          outcome: 'unknown',
        }
      : { ok: false, error };
  }
  const block: ReadBlock = { start: tag.address, data: back.data, kind: readFc === 1 ? 'bits' : 'registers' };
  const sample = sampleOf(tag, block, Date.now());
  if (!sameData(tag, back.data, expected)) {
    return {
      ok: false,
      error: `read-back of ${tag.name} gave ${JSON.stringify(sample.value)}, not the value written`,
    };
  }
  return { ok: true, sample };
}

function sameData(tag: ResolvedTag, actual: Uint8Array, expected: Uint8Array): boolean {
  if (tag.bit !== undefined) {
    const mask = 1 << tag.bit;
    const word = (d: Uint8Array) => ((d[0] as number) << 8) | (d[1] as number);
    return (word(actual) & mask) === (word(expected) & mask);
  }
  return actual.length === expected.length && actual.every((b, i) => b === expected[i]);
}

/** No answer came back: the request may have reached the device. */
function unanswered(outcome: Outcome): boolean {
  return outcome.kind === 'failed' && (outcome.cause === 'timeout' || outcome.cause === 'disconnected');
}

function failure(outcome: { kind: string; reason?: string }): string {
  return outcome.reason ?? `unexpected ${outcome.kind} reply`;
}
