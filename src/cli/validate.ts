// `tagwire validate [-c FILE]`: every problem in the config and its mappings, one line each.
import { displayPath } from '../config/load.js';
import { loadConfigOrReport } from './config-errors.js';
import { configPath, CONFIG_OPTION, parseCommand } from './options.js';
import { count } from './words.js';

const USAGE =
  'usage: tagwire validate [-c FILE]\n  exits 1 and prints file: /pointer: message for each problem\n';

export async function main(args: readonly string[]): Promise<number> {
  const parsed = parseCommand(args, { name: 'validate', usage: USAGE, options: CONFIG_OPTION });
  if (typeof parsed === 'number') return parsed;
  const { values } = parsed;
  const loaded = await loadConfigOrReport(configPath(values.config));
  if (!loaded) return 1;
  const tags = loaded.mappings.reduce((n, m) => n + m.tags.length, 0);
  process.stdout.write(
    `${displayPath(loaded.file)}: ok (${count(loaded.config.devices.length, 'device')}, ${count(loaded.mappings.length, 'mapping')}, ${count(tags, 'tag')})\n`,
  );
  return 0;
}
