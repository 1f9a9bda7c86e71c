// `tagwire passwd --user/--role/--token` and `tagwire start` on a port in use, as a user runs them.
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyPassword } from '../../src/broker/auth/password.js';
import { demoConfig, repoRoot } from '../helpers/demo-config.js';
import { run } from '../helpers/mosquitto.js';

const tsx = path.join(repoRoot, 'node_modules/.bin/tsx');
const cli = path.join(repoRoot, 'src/cli.ts');

function tagwire(args: string[], stdin?: string) {
  const command =
    stdin === undefined
      ? [tsx, cli, ...args]
      : ['sh', '-c', `printf '%s\\n' "$0" | "$@"`, stdin, tsx, cli, ...args];
  return run(command[0]!, command.slice(1), 60_000);
}

describe('tagwire passwd', () => {
  it('prints a user entry with its role', async () => {
    const out = await tagwire(['passwd', '--user', 'ops', '--role', 'operator'], 's3cret pass');
    expect(out.code).toBe(0);
    const entry = JSON.parse(out.stdout) as { username: string; passwordHash: string; role: string };
    expect(entry).toMatchObject({ username: 'ops', role: 'operator' });
    expect(await verifyPassword('s3cret pass', entry.passwordHash)).toBe(true);
  }, 60_000);

  it('makes a bearer token and its http.tokens entry', async () => {
    const out = await tagwire(['passwd', '--token', 'grafana', '--role', 'viewer']);
    expect(out.code).toBe(0);
    const [first, second] = out.stdout.trim().split('\n');
    const token = /^token \(shown once\): (tw_[A-Za-z0-9_-]{40,})$/.exec(first!)![1]!;
    const entry = JSON.parse(second!) as { name: string; tokenHash: string; role: string };
    expect(entry).toMatchObject({ name: 'grafana', role: 'viewer' });
    expect(await verifyPassword(token, entry.tokenHash)).toBe(true);
  }, 60_000);

  it('refuses an unknown role', async () => {
    const out = await tagwire(['passwd', '--role', 'root'], 'x');
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('--role must be viewer, operator or admin');
    expect(out.stdout).toBe('');
  }, 60_000);
});

describe('tagwire start', () => {
  it('says in one line that the HTTP port is in use, and exits 1', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const demo = await demoConfig((config) => {
        config.simulators.opcua = [];
        config.devices = config.devices.filter((d) => d.driver !== 'opcua');
        config.mappings = [path.join(repoRoot, 'mappings/press1.json')];
        config.http.port = port;
      });
      const out = await tagwire(['start', '-c', demo.file]);
      expect(out.code).toBe(1);
      expect(out.stderr).toBe(
        `tagwire: not started: http listener 127.0.0.1:${port}: the port is already in use\n`,
      );
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  }, 90_000);
});
