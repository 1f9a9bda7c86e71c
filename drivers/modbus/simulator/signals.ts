// Scripted signals: each writes a value that moves over time (sine, ramp, random walk, counter,
// constant) into a unit's memory at its address, in its type and byte order.
import { parseAddress } from '../address.js';
import type { SignalConfig } from '../config.js';
import type { UnitMemory } from './memory.js';
import { registerBytes } from './values.js';

export interface Signal {
  update(nowMs: number): void;
}

export function createSignal(config: SignalConfig, memory: UnitMemory): Signal {
  const address = parseAddress(config.address);
  if ('error' in address) throw new Error(`simulator signal: ${address.error}`);
  const { table } = address;
  const bitTable = table === 'coil' || table === 'di';
  if (bitTable !== (config.type === 'bool')) {
    throw new Error(
      `simulator signal ${config.address}: ${table} needs type ${bitTable ? 'bool' : 'a register type'}`,
    );
  }
  const width = config.type === 'bool' ? 1 : registerBytes(config.type, 0, 'ABCD').length / 2;
  memory.define(table, address.address, width);
  const startValue = typeof config.value === 'boolean' ? Number(config.value) : config.value;
  let current = config.kind === 'randomWalk' ? (config.min + config.max) / 2 : startValue;
  const span = config.max - config.min;

  const store = (value: number) => {
    if (table === 'coil' || table === 'di') memory.setBit(table, address.address, value !== 0);
    else if (config.type !== 'bool') {
      memory.setRegisters(
        table,
        address.address,
        registerBytes(config.type, value / config.scale, config.byteOrder),
      );
    }
  };
  store(current);

  return {
    update(nowMs) {
      switch (config.kind) {
        case 'sine':
          current = config.min + (span / 2) * (1 + Math.sin((2 * Math.PI * nowMs) / config.periodMs));
          break;
        case 'ramp':
          current = config.min + (span * (nowMs % config.periodMs)) / config.periodMs;
          break;
        case 'randomWalk':
          current = Math.min(
            config.max,
            Math.max(config.min, current + (Math.random() * 2 - 1) * config.step),
          );
          break;
        case 'counter':
          current += config.step;
          // Counters wrap like a PLC's instead of sticking at the top of their type.
          if (config.type === 'uint16' && current / config.scale > 65535) current = 0;
          if (config.type === 'uint32' && current / config.scale > 4294967295) current = 0;
          break;
        case 'constant':
          return;
      }
      store(current);
    },
  };
}
