// `tagwire import tags.csv --device ID [--out FILE]`: a mapping file from a PLC tool's tag export.
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { importCsv } from '../config/csv-import.js';
import { parseCommand } from './options.js';

const USAGE = `usage: tagwire import FILE.csv --device ID [--driver modbus|opcua] [--topic TEMPLATE] [--out FILE] [--force]
  columns (by header, any order, "," or ";"): name, address, type, scale, unit, writable, min, max
  (also description, deadband, pollMs); other columns are ignored.
  --topic defaults to "{gatewayId}/{device}"; without --out the mapping goes to stdout.
`;

export async function main(args: readonly string[]): Promise<number> {
  const parsed = parseCommand(args, {
    name: 'import',
    usage: USAGE,
    options: {
      device: { type: 'string', short: 'd' },
      driver: { type: 'string', default: 'modbus' },
      topic: { type: 'string', default: '{gatewayId}/{device}' },
      out: { type: 'string', short: 'o' },
      force: { type: 'boolean', short: 'f' },
    },
    positionals: () => undefined,
  });
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  const [file, ...extra] = positionals;
  if (file === undefined || extra.length > 0 || values.device === undefined) {
    process.stderr.write(`import: give one CSV file and --device\n${USAGE}`);
    return 1;
  }
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    process.stderr.write(`${file}: cannot read: ${(err as Error).message}\n`);
    return 1;
  }
  const result = importCsv(text, { device: values.device, driver: values.driver, topic: values.topic });
  if (!result.ok) {
    for (const p of result.problems) process.stderr.write(`${file}:${p.line}: ${p.message}\n`);
    return 1;
  }
  const json = `${JSON.stringify(result.mapping, null, 2)}\n`;
  if (values.out === undefined) {
    process.stdout.write(json);
    return 0;
  }
  if (existsSync(values.out) && !values.force) {
    process.stderr.write(`import: ${values.out} exists; --force replaces it\n`);
    return 1;
  }
  await writeFile(values.out, json);
  process.stderr.write(
    `${values.out}: ${result.tags} tags of device "${values.device}"; check it with tagwire validate\n`,
  );
  return 0;
}
