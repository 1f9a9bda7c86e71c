// Shared option parsing for the commands: node's parseArgs, with errors a person can act on.
import { parseArgs, type ParseArgsConfig } from 'node:util';

export const DEFAULT_CONFIG = 'gateway.config.json';

export type Options = NonNullable<ParseArgsConfig['options']>;

/** parseArgs, throwing an Error whose message names the command and the bad option. */
export function parse<O extends Options>(
  command: string,
  args: readonly string[],
  options: O,
  allowPositionals = false,
) {
  try {
    return parseArgs({ args: [...args], options, allowPositionals, strict: true });
  } catch (err) {
    throw new Error(`${command}: ${(err as Error).message}`);
  }
}
