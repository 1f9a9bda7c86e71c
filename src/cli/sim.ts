// `tagwire sim [-c FILE]`: the config's simulated devices alone, until Ctrl-C.
import { loadConfigOrReport } from './config-errors.js';
import { createLogger } from '../log.js';
import { startSimulators } from '../simulators.js';
import { configPath, CONFIG_OPTION, parseCommand } from './options.js';

const USAGE = "usage: tagwire sim [-c FILE]\n  runs the config's `simulators` block alone\n";

export async function main(args: readonly string[]): Promise<number> {
  const parsed = parseCommand(args, { name: 'sim', usage: USAGE, options: CONFIG_OPTION });
  if (typeof parsed === 'number') return parsed;
  const { values } = parsed;
  const loaded = await loadConfigOrReport(configPath(values.config));
  if (!loaded) return 1;
  const log = createLogger(loaded.config.gateway.logLevel);
  const running = await startSimulators(loaded.config.simulators, log, loaded.drivers);
  if (running.length === 0) {
    process.stderr.write(`tagwire sim: ${loaded.file} declares no simulators\n`);
    return 1;
  }
  process.stdout.write(`tagwire sim: ${running.map((s) => s.address).join(', ')} (Ctrl-C stops)\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await Promise.allSettled(running.map((s) => s.close()));
  return 0;
}
