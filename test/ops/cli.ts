// Runs the `tagwire` command from source as a user would: its own process, folder and environment.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from '../helpers/demo-config.js';
import { runToEnd, type ProcessResult } from '../helpers/process.js';

export const cliSource = path.join(repoRoot, 'src/cli.ts');
/**
 * `node --import <tsx loader> src/cli.ts`: the Node running the tests (so a run under Node 24 tests
 * Node 24), and no tsx wrapper process in between, whose signal relay gives up after 30 ms and
 * SIGKILLs the gateway on a loaded machine.
 */
export const nodeArgs = [
  '--import',
  pathToFileURL(path.join(repoRoot, 'node_modules/tsx/dist/loader.mjs')).href,
];

export type CliResult = ProcessResult;

export interface CliOptions {
  cwd?: string;
  /** Added to (or, with a value undefined, removed from) this process's environment. */
  env?: Record<string, string | undefined>;
  timeoutMs?: number;
  /** Run this program instead of the source CLI (an installed or bundled tagwire). */
  command?: string;
}

/** The environment with the given keys set or removed. */
export function envWith(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // A config lookup must not find the machine's or the caller's config by accident.
  delete env.TAGWIRE_CONFIG;
  delete env.TAGWIRE_DATA_DIR;
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

export function tagwire(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  const [command, argv] = options.command
    ? [options.command, [...args]]
    : [process.execPath, [...nodeArgs, cliSource, ...args]];
  return runToEnd(command, argv, {
    cwd: options.cwd,
    env: envWith(options.env),
    timeoutMs: options.timeoutMs ?? 60_000,
  });
}
