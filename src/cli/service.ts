// `tagwire service install|uninstall`: the gateway as a hardened systemd service. Writes the unit,
// the config and state folders, and (for real, as root) the dedicated user; `--root DIR` writes
// below DIR instead of / and `--dry-run` only prints what would be done.
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../config/load.js';
import { reportConfigError } from './config-errors.js';
import { listenPorts, renderUnit, UNIT_NAME } from '../ops/systemd-unit.js';
import { DEFAULT_CONFIG, CONFIG_OPTION, parseCommand, systemConfigDir } from './options.js';
import { SERVICE_DATA_DIR } from './init.js';

const USAGE = `usage: tagwire service install [--user NAME] [--config PATH] [--root DIR] [--dry-run]
       tagwire service uninstall [--root DIR] [--dry-run]
  install     writes /etc/systemd/system/${UNIT_NAME}, creates the user (default "tagwire"),
              /etc/tagwire and /var/lib/tagwire, and enables the service
  uninstall   stops, disables and removes the unit; keeps the config, the data and the user
  --config    the config the service runs (default /etc/tagwire/gateway.config.json)
  --root DIR  write below DIR instead of / (no user, no systemctl): to inspect or package
  --dry-run   print the unit and the steps, change nothing`;

interface Plan {
  root: string;
  dryRun: boolean;
  /** Steps as shown to the user, in order. */
  steps: string[];
}

const under = (root: string, absolute: string): string => path.join(root, absolute);

/** The compiled CLI the unit runs: beside this file when built, dist/ when run from source. */
function cliEntry(): string {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return path.resolve(path.dirname(here), '../cli.js');
  return path.resolve(path.dirname(here), '../../dist/src/cli.js');
}

function run(plan: Plan, command: string, args: string[]): void {
  plan.steps.push(`${command} ${args.join(' ')}`);
  if (plan.dryRun) return;
  try {
    execFileSync(command, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : (err as Error).message;
    throw new Error(
      `${command} ${args.join(' ')} failed (${why})${command === 'systemctl' ? ': is systemd running this machine?' : ''}; the steps before it are done, run it again once fixed`,
      { cause: err },
    );
  }
}

function userExists(user: string): boolean {
  try {
    execFileSync('id', ['-u', user], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Numeric ids of a user, for chown. */
function idsOf(user: string): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

async function install(values: {
  user: string;
  config?: string;
  root?: string;
  'dry-run'?: boolean;
}): Promise<number> {
  const real = !values.root && !values['dry-run'];
  const plan: Plan = {
    root: values.root ? path.resolve(values.root) : '/',
    dryRun: !!values['dry-run'],
    steps: [],
  };
  if (!/^[a-z_][a-z0-9_-]*$/.test(values.user)) {
    process.stderr.write(`tagwire service: user "${values.user}" is not a valid user name\n`);
    return 2;
  }
  if (real && process.getuid?.() !== 0) {
    process.stderr.write('tagwire service install: run it as root (sudo), or try --dry-run first\n');
    return 1;
  }
  const configFile = path.resolve(values.config ?? path.join(systemConfigDir(), DEFAULT_CONFIG));
  // The config is read where the service will read it: below --root when one is given.
  const configOnDisk = values.root && !values.config ? under(plan.root, configFile) : configFile;
  if (!existsSync(configOnDisk)) {
    process.stderr.write(
      `tagwire service install: no config at ${configOnDisk}: write one first (sudo tagwire init ${path.dirname(configOnDisk)})\n`,
    );
    return 1;
  }
  let loaded;
  try {
    loaded = await loadConfig(configOnDisk);
  } catch (err) {
    reportConfigError(err, 'tagwire service install: fix the config first; nothing was installed');
    return 1;
  }
  const ports = listenPorts(loaded.config);
  const cli = cliEntry();
  if (!existsSync(cli)) {
    const message = `the compiled CLI ${cli} is missing (npm run build)`;
    if (real) {
      process.stderr.write(`tagwire service install: ${message}\n`);
      return 1;
    }
    process.stderr.write(`warning: ${message}\n`);
  }
  for (const [what, file] of [
    ['tagwire', cli],
    ['node', process.execPath],
    ['the config', configFile],
  ] as const) {
    if (/^\/(home|root)\//.test(file))
      process.stderr.write(
        `warning: ${what} is under ${file.split('/')[1] === 'root' ? '/root' : '/home'} (${file}), hidden from the service by ProtectHome: install it under /opt, /usr/local or /etc\n`,
      );
  }
  const unit = renderUnit({
    user: values.user,
    node: process.execPath,
    cli,
    config: configFile,
    dataDir: SERVICE_DATA_DIR,
    privilegedPort: ports.some((p) => p > 0 && p < 1024),
  });
  const unitFile = under(plan.root, path.join('/etc/systemd/system', UNIT_NAME));
  const configDir = under(plan.root, systemConfigDir());
  const dataDir = under(plan.root, SERVICE_DATA_DIR);

  if (real && !userExists(values.user)) {
    run(plan, 'useradd', [
      '--system',
      '--user-group',
      '--home-dir',
      SERVICE_DATA_DIR,
      '--no-create-home',
      '--shell',
      '/usr/sbin/nologin',
      values.user,
    ]);
  }
  plan.steps.push(`mkdir ${configDir} ${dataDir}`);
  plan.steps.push(`write ${unitFile}`);
  if (!plan.dryRun) {
    await mkdir(configDir, { recursive: true, mode: 0o755 });
    await mkdir(dataDir, { recursive: true, mode: 0o750 });
    await mkdir(path.dirname(unitFile), { recursive: true });
    await writeFile(unitFile, unit, { mode: 0o644 });
  }
  if (real) {
    // The service reads its config (password hashes inside) through its group; root owns it.
    const { uid, gid } = idsOf(values.user);
    chownSync(configFile, 0, gid);
    chmodSync(configFile, 0o640);
    chownSync(dataDir, uid, gid);
    plan.steps.push(`chown root:${values.user} ${configFile}; chown ${values.user}: ${dataDir}`);
    run(plan, 'systemctl', ['daemon-reload']);
    run(plan, 'systemctl', ['enable', UNIT_NAME]);
  }
  if (plan.dryRun) process.stdout.write(`# ${unitFile}\n${unit}\n`);
  for (const step of plan.steps) process.stdout.write(`${plan.dryRun ? 'would run' : 'done'}: ${step}\n`);
  if (real) {
    process.stdout.write(
      [
        '',
        `installed ${UNIT_NAME} (user ${values.user}, config ${configFile}, data ${SERVICE_DATA_DIR})`,
        `  check first:  sudo -u ${values.user} TAGWIRE_DATA_DIR=${SERVICE_DATA_DIR} ${process.execPath} ${cli} doctor -c ${configFile}`,
        '  start:        sudo systemctl start tagwire',
        '  state:        systemctl status tagwire',
        '  logs:         journalctl -u tagwire -f',
        '',
      ].join('\n'),
    );
  }
  return 0;
}

async function uninstall(values: { root?: string; 'dry-run'?: boolean }): Promise<number> {
  const real = !values.root && !values['dry-run'];
  const plan: Plan = {
    root: values.root ? path.resolve(values.root) : '/',
    dryRun: !!values['dry-run'],
    steps: [],
  };
  if (real && process.getuid?.() !== 0) {
    process.stderr.write('tagwire service uninstall: run it as root (sudo)\n');
    return 1;
  }
  const unitFile = under(plan.root, path.join('/etc/systemd/system', UNIT_NAME));
  if (!existsSync(unitFile)) {
    process.stderr.write(`tagwire service uninstall: no unit at ${unitFile}: nothing to do\n`);
    return 1;
  }
  if (real) run(plan, 'systemctl', ['disable', '--now', UNIT_NAME]);
  plan.steps.push(`remove ${unitFile}`);
  if (!plan.dryRun) await rm(unitFile);
  if (real) run(plan, 'systemctl', ['daemon-reload']);
  for (const step of plan.steps) process.stdout.write(`${plan.dryRun ? 'would run' : 'done'}: ${step}\n`);
  process.stdout.write(
    `kept: ${under(plan.root, systemConfigDir())} (config), ${under(plan.root, SERVICE_DATA_DIR)} (data) and the user; remove them by hand if no longer wanted\n`,
  );
  return 0;
}

export async function main(args: readonly string[]): Promise<number> {
  const parsed = parseCommand(args, {
    name: 'service',
    usage: USAGE,
    options: {
      user: { type: 'string', default: 'tagwire' },
      ...CONFIG_OPTION,
      root: { type: 'string' },
      'dry-run': { type: 'boolean' },
    },
    positionals: ([action, ...extra]) =>
      extra.length === 0 && (action === 'install' || action === 'uninstall')
        ? undefined
        : action === undefined
          ? 'install or uninstall?'
          : `unexpected "${[action, ...extra].join(' ')}"`,
  });
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  const action = positionals[0];
  return action === 'install' ? install(values) : uninstall(values);
}
