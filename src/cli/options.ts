// Shared option parsing for the commands: node's parseArgs, with errors a person can act on, and
// the one place that decides which config file a command reads.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';

export const DEFAULT_CONFIG = 'gateway.config.json';

/** Where an installed gateway keeps its config; TAGWIRE_SYSTEM_CONFIG_DIR moves it (tests, odd layouts). */
export function systemConfigDir(): string {
  return process.env.TAGWIRE_SYSTEM_CONFIG_DIR || '/etc/tagwire';
}

/**
 * The config file a command reads: `-c FILE`, else TAGWIRE_CONFIG, else ./gateway.config.json when
 * it exists, else the system one (/etc/tagwire/gateway.config.json) when it exists. With none of
 * them present, ./gateway.config.json: the error then names the file a new user expects.
 */
export function configPath(explicit: string | undefined): string {
  if (explicit) return explicit;
  const fromEnv = process.env.TAGWIRE_CONFIG;
  if (fromEnv) return fromEnv;
  if (existsSync(DEFAULT_CONFIG)) return DEFAULT_CONFIG;
  const system = path.join(systemConfigDir(), DEFAULT_CONFIG);
  return existsSync(system) ? system : DEFAULT_CONFIG;
}

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
