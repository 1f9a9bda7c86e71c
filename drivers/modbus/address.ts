// Modbus addresses as users write them: `hr:100` (0-based wire address), `hr:100.3` (bit 3 of a
// register), or the 1-based Modicon forms copied from device manuals (40001, 400001, 30001, 10001, 00001).

export type Table = 'hr' | 'ir' | 'coil' | 'di';

export interface ModbusAddress {
  table: Table;
  /** 0-based wire address. */
  address: number;
  /** Bit 0..15 of a register, for `hr:100.3`. */
  bit?: number;
}

const MODICON_TABLE: Record<string, Table> = { '0': 'coil', '1': 'di', '3': 'ir', '4': 'hr' };
/** The table names as constants: a regex capture is a new string per tag (2.3 MB at 100k tags). */
const TABLE: Record<string, Table> = { hr: 'hr', ir: 'ir', coil: 'coil', di: 'di' };
const PATTERN = /^(?:(hr|ir|coil|di):(\d{1,5})|([0134])(\d{4,5}))(?:\.(\d{1,2}))?$/;

/** Parses an address; returns an error message saying what is wrong instead of throwing. */
export function parseAddress(text: string): ModbusAddress | { error: string } {
  const m = PATTERN.exec(text);
  if (!m) {
    return {
      error: `address "${text}" is not hr:N, ir:N, coil:N, di:N (optionally .bit) or a Modicon address like 40001`,
    };
  }
  let table: Table;
  let address: number;
  if (m[1] !== undefined && m[2] !== undefined) {
    table = TABLE[m[1]] as Table;
    address = Number(m[2]);
  } else {
    table = MODICON_TABLE[m[3] as string] as Table;
    const oneBased = Number(m[4]);
    if (oneBased < 1)
      return {
        error: `Modicon address "${text}" is 1-based: the first is ${m[3]}${'0'.repeat((m[4] as string).length - 1)}1`,
      };
    address = oneBased - 1;
  }
  if (address > 65535) return { error: `address "${text}" is beyond 65535` };
  const result: ModbusAddress = { table, address };
  if (m[5] !== undefined) {
    const bit = Number(m[5]);
    if (bit > 15) return { error: `bit ${bit} of "${text}" is beyond 15` };
    result.bit = bit;
  }
  return result;
}

export function isBitTable(table: Table): boolean {
  return table === 'coil' || table === 'di';
}

export function isWritableTable(table: Table): boolean {
  return table === 'hr' || table === 'coil';
}
