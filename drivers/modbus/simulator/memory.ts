// One simulated unit's four tables. Registers are kept as wire bytes (big-endian), so a read
// reply is one copy; a `defined` map per table decides which addresses answer when unmapped ones
// must raise exception 2.
import type { Table } from '../address.js';

export class UnitMemory {
  readonly hr = Buffer.alloc(65536 * 2);
  readonly ir = Buffer.alloc(65536 * 2);
  readonly coil = new Uint8Array(65536);
  readonly di = new Uint8Array(65536);
  private readonly defined: Record<Table, Uint8Array> = {
    hr: new Uint8Array(65536),
    ir: new Uint8Array(65536),
    coil: new Uint8Array(65536),
    di: new Uint8Array(65536),
  };

  constructor(private readonly allDefined: boolean) {}

  define(table: Table, address: number, count: number): void {
    this.defined[table].fill(1, address, Math.min(65536, address + count));
  }

  /** True when every address of the range exists (or unmapped addresses read as zero). */
  covers(table: Table, address: number, count: number): boolean {
    if (address + count > 65536) return false;
    if (this.allDefined) return true;
    const map = this.defined[table];
    for (let i = address; i < address + count; i++) if (map[i] !== 1) return false;
    return true;
  }

  /** Writes register bytes (wire order) at an address of hr or ir. */
  setRegisters(table: 'hr' | 'ir', address: number, bytes: Uint8Array): void {
    this[table].set(bytes, address * 2);
  }

  setBit(table: 'coil' | 'di', address: number, value: boolean): void {
    this[table][address] = value ? 1 : 0;
  }

  getRegister(table: 'hr' | 'ir', address: number): number {
    return this[table].readUInt16BE(address * 2);
  }
}
