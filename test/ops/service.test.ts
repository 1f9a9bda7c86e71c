// `tagwire service install|uninstall` with --root (files only) and --dry-run, the written unit
// checked by systemd's own `systemd-analyze verify`.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { tagwire } from './cli.js';

const exec = promisify(execFile);

/** A root folder holding a starter config at etc/tagwire, edited by `edit`. */
async function rootWithConfig(edit?: (config: { broker: { listeners: Array<{ port: number }> } }) => void) {
  const root = mkdtempSync(path.join(tmpdir(), 'tagwire-service-'));
  const etc = path.join(root, 'etc/tagwire');
  expect((await tagwire(['init', etc])).code).toBe(0);
  const file = path.join(etc, 'gateway.config.json');
  if (edit) {
    const config = JSON.parse(readFileSync(file, 'utf8'));
    edit(config);
    writeFileSync(file, JSON.stringify(config));
  }
  return { root, unit: path.join(root, 'etc/systemd/system/tagwire.service') };
}

async function verify(unit: string): Promise<{ code: number; stderr: string }> {
  try {
    const { stderr } = await exec('systemd-analyze', ['verify', unit]);
    return { code: 0, stderr };
  } catch (err) {
    const e = err as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
}

const directives = (unit: string): string[] =>
  readFileSync(unit, 'utf8')
    .split('\n')
    .filter((l) => /^[A-Z]\w+=/.test(l));

describe('tagwire service install --root', () => {
  it('writes a hardened notify unit that systemd-analyze verify accepts', async () => {
    const { root, unit } = await rootWithConfig();
    const out = await tagwire(['service', 'install', '--root', root]);
    expect(out.code).toBe(0);
    expect(existsSync(unit)).toBe(true);
    expect(existsSync(path.join(root, 'var/lib/tagwire'))).toBe(true);
    const lines = directives(unit);
    for (const expected of [
      'Type=notify',
      'NotifyAccess=all',
      'User=tagwire',
      'SupplementaryGroups=dialout',
      'StateDirectory=tagwire',
      'ConfigurationDirectory=tagwire',
      'ProtectSystem=strict',
      'ProtectHome=true',
      'PrivateTmp=true',
      'NoNewPrivileges=true',
      'Restart=on-failure',
      'Environment=TAGWIRE_DATA_DIR=/var/lib/tagwire',
      'CapabilityBoundingSet=',
    ])
      expect(lines).toContain(expected);
    expect(Number(lines.find((l) => l.startsWith('LimitNOFILE='))?.split('=')[1])).toBeGreaterThan(10_000);
    expect(Number(lines.find((l) => l.startsWith('WatchdogSec='))?.split('=')[1])).toBeGreaterThan(0);
    expect(lines.find((l) => l.startsWith('ExecStart='))).toMatch(
      / start -c \/etc\/tagwire\/gateway\.config\.json$/,
    );
    // Port 1883 needs no privilege: none is granted.
    expect(lines.join('\n')).not.toContain('CAP_NET_BIND_SERVICE');
    const verified = await verify(unit);
    expect(verified.stderr).toBe('');
    expect(verified.code).toBe(0);
  });

  it('grants CAP_NET_BIND_SERVICE only when a port below 1024 is configured', async () => {
    const { root, unit } = await rootWithConfig((config) => {
      config.broker.listeners[0]!.port = 883;
    });
    const out = await tagwire(['service', 'install', '--root', root, '--user', 'gw']);
    expect(out.code).toBe(0);
    const lines = directives(unit);
    expect(lines).toContain('AmbientCapabilities=CAP_NET_BIND_SERVICE');
    expect(lines).toContain('CapabilityBoundingSet=CAP_NET_BIND_SERVICE');
    expect(lines).toContain('User=gw');
    expect((await verify(unit)).code).toBe(0);
  });

  it('uninstall removes the unit and keeps config and data', async () => {
    const { root, unit } = await rootWithConfig();
    expect((await tagwire(['service', 'install', '--root', root])).code).toBe(0);
    const out = await tagwire(['service', 'uninstall', '--root', root]);
    expect(out.code).toBe(0);
    expect(existsSync(unit)).toBe(false);
    expect(existsSync(path.join(root, 'etc/tagwire/gateway.config.json'))).toBe(true);
    expect(out.stdout).toContain('kept:');
    const again = await tagwire(['service', 'uninstall', '--root', root]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('nothing to do');
  });
});

describe('tagwire service install --dry-run', () => {
  it('prints the unit and the steps and writes nothing', async () => {
    const { root, unit } = await rootWithConfig();
    const out = await tagwire(['service', 'install', '--root', root, '--dry-run']);
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('Type=notify');
    expect(out.stdout).toContain('would run: write');
    expect(existsSync(unit)).toBe(false);
  });

  it('refuses a missing or broken config and says what to do', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'tagwire-service-'));
    const missing = await tagwire(['service', 'install', '--root', root, '--dry-run']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('tagwire init');
    const { root: broken } = await rootWithConfig((config) => {
      config.broker.listeners[0]!.port = 70000;
    });
    const out = await tagwire(['service', 'install', '--root', broken]);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('/broker/listeners/0/port');
    expect(existsSync(path.join(broken, 'etc/systemd/system/tagwire.service'))).toBe(false);
  });
});
