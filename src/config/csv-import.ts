// A mapping file from a tag list exported by a PLC tool (name, address, type, scale, unit,
// writable, min, max): columns found by their header in any order, `,` or `;` separated, every
// problem reported with its line, and the result checked against the same schema as `validate`.
import { parse } from 'csv-parse/sync';
import { ajvProblems } from './ajv-errors.js';
import { builtinDrivers } from '../../drivers/index.js';
import type { DriverModule } from '../../drivers/types.js';
import { configSchemas } from './schema.js';

export interface CsvProblem {
  line: number;
  message: string;
}

export type CsvImport =
  { ok: true; mapping: Record<string, unknown>; tags: number } | { ok: false; problems: CsvProblem[] };

export interface CsvImportOptions {
  device: string;
  /** The driver of the device, which decides the tag keys allowed. */
  driver: string;
  topic: string;
  /** The driver registry the config was loaded with (LoadedConfig.drivers); the built-in drivers by default. */
  drivers?: readonly DriverModule[];
}

type Column =
  | 'name'
  | 'address'
  | 'type'
  | 'scale'
  | 'unit'
  | 'writable'
  | 'min'
  | 'max'
  | 'description'
  | 'deadband'
  | 'pollMs';

/** Header words PLC tools use for each column. */
const HEADERS: Record<string, Column> = {
  name: 'name',
  tag: 'name',
  tagname: 'name',
  address: 'address',
  addr: 'address',
  register: 'address',
  nodeid: 'address',
  type: 'type',
  datatype: 'type',
  scale: 'scale',
  factor: 'scale',
  unit: 'unit',
  units: 'unit',
  eu: 'unit',
  writable: 'writable',
  write: 'writable',
  rw: 'writable',
  access: 'writable',
  min: 'min',
  max: 'max',
  description: 'description',
  comment: 'description',
  deadband: 'deadband',
  pollms: 'pollMs',
};

const REQUIRED: readonly Column[] = ['name', 'address'];
const NUMERIC: readonly Column[] = ['scale', 'min', 'max', 'deadband', 'pollMs'];
const TRUE_WORDS = new Set(['true', 'yes', 'y', '1', 'x', 'rw', 'w', 'read/write', 'readwrite']);
const FALSE_WORDS = new Set(['false', 'no', 'n', '0', '', 'r', 'ro', 'read', 'readonly', 'read only']);

function headerKey(text: string): string {
  return text.toLowerCase().replace(/[\s_\-./()]/g, '');
}

/** `;` when the header line has more of them than commas (European spreadsheet exports). */
function delimiterOf(text: string): string {
  const header = text.slice(0, text.indexOf('\n') >>> 0);
  return (header.match(/;/g)?.length ?? 0) > (header.match(/,/g)?.length ?? 0) ? ';' : ',';
}

function number(text: string): number | undefined {
  const normalized = text.replace(',', '.');
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(normalized)) return undefined;
  return Number(normalized);
}

export function importCsv(text: string, options: CsvImportOptions): CsvImport {
  let rows: Array<{ record: string[]; info: { lines: number } }>;
  try {
    rows = parse(text, {
      delimiter: delimiterOf(text),
      info: true,
      skip_empty_lines: true,
      trim: true,
      bom: true,
      relax_column_count: true,
    }) as unknown as typeof rows;
  } catch (err) {
    const e = err as Error & { lines?: number };
    return {
      ok: false,
      problems: [
        {
          line: e.lines ?? 1,
          message: e.message.replace(/^Invalid Record Length: |^Quote Not Closed: /, ''),
        },
      ],
    };
  }
  const problems: CsvProblem[] = [];
  const header = rows.shift();
  if (!header)
    return {
      ok: false,
      problems: [
        { line: 1, message: 'the file is empty: expected a header line (name, address, type, ...)' },
      ],
    };
  const columns = new Map<Column, number>();
  header.record.forEach((title, i) => {
    const column = HEADERS[headerKey(title)];
    if (column === undefined) return; // Exports carry many columns we do not map; they are ignored.
    if (columns.has(column))
      problems.push({
        line: header.info.lines,
        message: `two columns mean "${column}": the second is "${title}"`,
      });
    else columns.set(column, i);
  });
  for (const column of REQUIRED) {
    if (!columns.has(column))
      problems.push({ line: header.info.lines, message: `no "${column}" column in the header` });
  }
  if (problems.length > 0) return { ok: false, problems };

  const tags: Array<Record<string, unknown>> = [];
  const lineOfTag: number[] = [];
  for (const { record, info } of rows) {
    const cell = (c: Column): string => {
      const index = columns.get(c);
      return index === undefined ? '' : (record[index] ?? '');
    };
    const problem = (message: string): void => void problems.push({ line: info.lines, message });
    const tag: Record<string, unknown> = { name: cell('name'), address: cell('address') };
    if (cell('type') !== '') tag.type = cell('type');
    for (const c of NUMERIC) {
      if (cell(c) === '') continue;
      const value = number(cell(c));
      if (value === undefined) problem(`column "${c}": "${cell(c)}" is not a number`);
      else tag[c] = value;
    }
    if (cell('unit') !== '') tag.unit = cell('unit');
    if (cell('description') !== '') tag.description = cell('description');
    const writable = cell('writable').toLowerCase();
    if (TRUE_WORDS.has(writable)) tag.writable = true;
    else if (!FALSE_WORDS.has(writable))
      problem(`column "writable": "${cell('writable')}" is not yes/no, true/false, 1/0 or R/RW`);
    tags.push(tag);
    lineOfTag.push(info.lines);
  }
  if (tags.length === 0)
    return { ok: false, problems: [{ line: header.info.lines + 1, message: 'no tags below the header' }] };

  const mapping: Record<string, unknown> = { device: options.device, topic: options.topic, tags };
  const schemas = configSchemas(options.drivers ?? builtinDrivers);
  const validate = schemas.mapping(options.driver);
  if (!validate(structuredClone(mapping))) {
    for (const p of ajvProblems(validate.errors ?? [], 'csv', schemas.schemaById)) {
      const match = /^\/tags\/(\d+)(?:\/([^/]+))?/.exec(p.pointer);
      if (!match) {
        problems.push({ line: 1, message: `${p.pointer}: ${p.message}` });
        continue;
      }
      const line = lineOfTag[Number(match[1])] ?? 1;
      problems.push({ line, message: match[2] ? `column "${match[2]}": ${p.message}` : p.message });
    }
  }
  const names = new Map<string, number>();
  tags.forEach((tag, i) => {
    const first = names.get(String(tag.name));
    if (first !== undefined)
      problems.push({
        line: lineOfTag[i]!,
        message: `duplicate tag name "${String(tag.name)}" (first on line ${first})`,
      });
    else names.set(String(tag.name), lineOfTag[i]!);
  });
  if (problems.length > 0) return { ok: false, problems: problems.sort((a, b) => a.line - b.line) };
  return { ok: true, mapping, tags: tags.length };
}
