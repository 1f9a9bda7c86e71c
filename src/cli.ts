#!/usr/bin/env node
// `tagwire`: one entry point, one module per command (src/cli/<command>.ts), each `main(args) -> exit code`.
import { RELEASE } from './version.js';

type CommandMain = (args: readonly string[]) => Promise<number>;

const commands: Record<string, { summary: string; load: () => Promise<CommandMain> }> = {
  start: { summary: 'run the gateway [-c FILE]', load: async () => (await import('./cli/start.js')).main },
  validate: {
    summary: 'check a config and its mappings [-c FILE]',
    load: async () => (await import('./cli/validate.js')).main,
  },
  sim: {
    summary: "run the config's simulators alone [-c FILE]",
    load: async () => (await import('./cli/sim.js')).main,
  },
  passwd: {
    summary: 'print a password hash for the config',
    load: async () => (await import('./cli/passwd.js')).main,
  },
  browse: {
    summary: 'browse an OPC UA server, print a mapping skeleton: URL [--root NODE] [--depth N] [--out FILE]',
    load: async () => (await import('./cli/browse.js')).main,
  },
  pki: {
    summary: 'list, trust or reject OPC UA certificates',
    load: async () => (await import('./cli/pki.js')).main,
  },
  import: {
    summary: 'make a mapping from a tag CSV: FILE --device ID [--out FILE]',
    load: async () => (await import('./cli/import.js')).main,
  },
  audit: {
    summary: 'print the command audit log [--device ID] [--since TIME]',
    load: async () => (await import('./cli/audit.js')).main,
  },
  init: {
    summary: 'write a starter config for a real site [DIR] [--force]',
    load: async () => (await import('./cli/init.js')).main,
  },
  service: {
    summary: 'install or uninstall the systemd service: install|uninstall [--dry-run]',
    load: async () => (await import('./cli/service.js')).main,
  },
  doctor: {
    summary: "check this machine and the config's devices, ports and upstreams [-c FILE]",
    load: async () => (await import('./cli/doctor.js')).main,
  },
  backup: {
    summary: 'save config, mappings, PKI and state to FILE (safe while running)',
    load: async () => (await import('./cli/backup.js')).main,
  },
  restore: {
    summary: 'put back what backup saved: FILE [--force]',
    load: async () => (await import('./cli/restore.js')).main,
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length));
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return [
    'usage: tagwire <command> [options]',
    '',
    'commands:',
    ...lines,
    '',
    'tagwire <command> --help for its options',
  ].join('\n');
}

async function run(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name === undefined ? 1 : 0;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(RELEASE + '\n');
    return 0;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`tagwire: unknown command "${name}"\n\n${usage()}\n`);
    return 1;
  }
  return (await command.load())(rest);
}

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`tagwire: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
