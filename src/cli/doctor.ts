// `tagwire doctor [-c FILE]`: checks a site's set-up, one line per check (ok / warn / fail, with the
// fix). Exit 0 all ok, 1 a failure, 2 warnings only.
import { ConfigError, loadConfig, type LoadedConfig } from '../config/load.js';
import { reportConfigError } from './config-errors.js';
import { checkBridges } from '../ops/doctor/bridges.js';
import { exitCodeOf, fail, formatFinding, ok, type Finding } from '../ops/doctor/check.js';
import { checkDevices } from '../ops/doctor/devices.js';
import { checkClock, checkDataFolder, checkNode, checkPorts } from '../ops/doctor/system.js';
import { configPath, CONFIG_OPTION, parseCommand } from './options.js';

const USAGE = `usage: tagwire doctor [-c FILE]
  Checks the config, the listen ports, the data folder and its disk, serial ports, each device
  (Modbus: answers its first tag; OPC UA: reachable, certificate trusted), each bridge upstream
  (reachable, TLS valid), the clock and Node. One line per check with the fix.
  Exit 0: all ok, 1: a failure, 2: warnings only.
  Run it as the user the gateway runs as (sudo -u tagwire ...) to check that user's rights.`;

export async function main(args: readonly string[]): Promise<number> {
  const parsed = parseCommand(args, { name: 'doctor', usage: USAGE, options: CONFIG_OPTION });
  if (typeof parsed === 'number') return parsed;
  const { values } = parsed;
  const findings: Finding[] = [];
  const report = (more: readonly Finding[]): void => {
    for (const f of more) process.stdout.write(formatFinding(f) + '\n');
    findings.push(...more);
  };
  report([checkNode(), checkClock()]);
  const file = configPath(values.config);
  let loaded: LoadedConfig;
  try {
    loaded = await loadConfig(file);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    reportConfigError(err);
    report([
      fail(
        'config',
        `${file}: ${err.problems.length} problem(s), listed above`,
        `fix them (tagwire validate -c ${file}), then run doctor again`,
      ),
    ]);
    return exitCodeOf(findings);
  }
  const tags = loaded.mappings.reduce((n, m) => n + m.tags.length, 0);
  report([ok('config', `${loaded.file} valid (${loaded.config.devices.length} devices, ${tags} tags)`)]);
  report(await checkPorts(loaded.config));
  report(await checkDataFolder(loaded.config));
  report(await checkDevices(loaded.config, loaded.mappings, loaded.drivers));
  report(await checkBridges(loaded.config.bridges));
  const code = exitCodeOf(findings);
  const counts = (s: Finding['status']) => findings.filter((f) => f.status === s).length;
  process.stdout.write(`${counts('fail')} failed, ${counts('warn')} warnings, ${counts('ok')} ok\n`);
  return code;
}
