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

const HELP = { help: { type: 'boolean', short: 'h' } } as const;

/** `-c FILE`: the config a command reads (configPath). */
export const CONFIG_OPTION = { config: { type: 'string', short: 'c' } } as const;

/** A command's arguments: its options (`-h/--help` is added) and what it makes of positionals. */
export interface CommandSpec<O extends Options> {
  /** The command's name: `tagwire <name>`, and the prefix of its messages. */
  name: string;
  /** Printed for --help (stdout) and after a misuse (stderr). */
  usage: string;
  options: O;
  /**
   * The problem with the positional arguments (printed as `tagwire <name>: <problem>` and the
   * usage), or undefined when they fit. Absent: the command takes none.
   */
  positionals?: (given: readonly string[]) => string | undefined;
  /** Exit code when the positionals do not fit (default 2). */
  misuseExit?: number;
}

const line = (text: string): string => (text.endsWith('\n') ? text : `${text}\n`);

/**
 * Parses a command's arguments, or finishes the command: the parsed options and positionals, or the
 * exit code once --help is printed (0) or the positionals are refused. A bad option throws (parse).
 */
export function parseCommand<O extends Options>(args: readonly string[], spec: CommandSpec<O>) {
  const options = { ...spec.options, ...HELP };
  const parsed = parse(spec.name, args, options, spec.positionals !== undefined);
  if ((parsed.values as { help?: boolean }).help) {
    process.stdout.write(line(spec.usage));
    return 0;
  }
  const problem = spec.positionals?.(parsed.positionals);
  if (problem !== undefined) {
    process.stderr.write(`tagwire ${spec.name}: ${problem}\n${line(spec.usage)}`);
    return spec.misuseExit ?? 2;
  }
  return parsed;
}
