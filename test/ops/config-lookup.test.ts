// Which config a command reads: -c FILE, then TAGWIRE_CONFIG, then ./gateway.config.json, then the
// system one; paths inside resolve against the config's own folder, wherever the command runs.
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tagwire } from './cli.js';

let root: string;
/** Four starter configs told apart by their gateway id. */
const site = (name: string): string => path.join(root, name);

beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'tagwire-lookup-'));
  for (const name of ['explicit', 'env', 'cwd', 'etc', 'elsewhere']) {
    mkdirSync(site(name));
    const out = await tagwire(['init', site(name), '--id', name]);
    expect(out.code).toBe(0);
  }
}, 120_000);

/** The config `validate` read, made absolute (it names a file below the working folder relatively). */
const validated = (stdout: string, cwd: string): string =>
  path.resolve(cwd, /^(\S+): ok/.exec(stdout)?.[1] ?? stdout);

describe('config lookup', () => {
  const env = () => ({
    TAGWIRE_CONFIG: path.join(site('env'), 'gateway.config.json'),
    TAGWIRE_SYSTEM_CONFIG_DIR: site('etc'),
  });

  it('takes -c first', async () => {
    const out = await tagwire(['validate', '-c', path.join(site('explicit'), 'gateway.config.json')], {
      cwd: site('cwd'),
      env: env(),
    });
    expect(validated(out.stdout, site('cwd'))).toBe(path.join(site('explicit'), 'gateway.config.json'));
  });

  it('then TAGWIRE_CONFIG', async () => {
    const out = await tagwire(['validate'], { cwd: site('cwd'), env: env() });
    expect(validated(out.stdout, site('cwd'))).toBe(path.join(site('env'), 'gateway.config.json'));
  });

  it('then ./gateway.config.json', async () => {
    const out = await tagwire(['validate'], {
      cwd: site('cwd'),
      env: { TAGWIRE_SYSTEM_CONFIG_DIR: site('etc') },
    });
    expect(validated(out.stdout, site('cwd'))).toBe(path.join(site('cwd'), 'gateway.config.json'));
  });

  it('then the system config, with its mappings found beside it from any folder', async () => {
    const out = await tagwire(['validate'], {
      cwd: site('elsewhere') + '/mappings',
      env: { TAGWIRE_SYSTEM_CONFIG_DIR: site('etc') },
    });
    expect(validated(out.stdout, site('elsewhere') + '/mappings')).toBe(
      path.join(site('etc'), 'gateway.config.json'),
    );
    expect(out.stdout).toContain('1 mapping, 3 tags');
    expect(out.code).toBe(0);
  });

  it('names ./gateway.config.json when there is none anywhere', async () => {
    const out = await tagwire(['validate'], {
      cwd: root,
      env: { TAGWIRE_SYSTEM_CONFIG_DIR: path.join(root, 'missing') },
    });
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('gateway.config.json');
  });
});
