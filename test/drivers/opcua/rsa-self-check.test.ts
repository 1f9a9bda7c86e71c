// node-opcua's RSA self-check at load (a 4096-bit key pair, 0.7-1.7 s of CPU) replaced by the same
// check with a 1024-bit pair (drivers/opcua/rsa-self-check.ts): real node-opcua loaded in processes
// of their own, with Node's PKCS#1 v1.5 off (its default since the CVE-2023-46809 fix) and back on.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { replaceRsaSelfCheck, rsaPkcs1v15Works } from '../../../drivers/opcua/rsa-self-check.js';
import { repoRoot } from '../../helpers/demo-config.js';
import { runToEnd } from '../../helpers/process.js';

interface ChildResult {
  client: string;
  keyPairs: number[];
  reports: string[];
}

async function child(mode: 'light' | 'plain', nodeFlags: string[] = []): Promise<ChildResult> {
  const out = await runToEnd(
    process.execPath,
    [...nodeFlags, '--import', 'tsx', 'test/drivers/opcua/rsa-self-check-child.ts', mode],
    { cwd: repoRoot, timeoutMs: 120_000 },
  );
  expect(out.code, out.stderr).toBe(0);
  return JSON.parse(out.stdout.trim().split('\n').at(-1)!) as ChildResult;
}

const major = Number(/^v(\d+)/.exec(process.version)![1]);
/** The Node versions on which node-opcua checks at all. */
const checked = major === 20 || major === 21;

describe('node-opcua loaded with the light RSA self-check', () => {
  it.runIf(checked)(
    'makes one 1024-bit key pair instead of a 4096-bit one, and reports PKCS#1 v1.5 off',
    async () => {
      const plain = await child('plain');
      expect(plain.keyPairs).toContain(4096);

      const light = await child('light');
      expect(light.client).toBe('function');
      expect(light.keyPairs).toEqual([1024]);
      expect(light.reports).toEqual([expect.stringContaining('CVE-2023-46809')]);
      expect(light.reports[0]).toContain('Basic128Rsa15');
    },
    150_000,
  );

  it.runIf(checked)(
    'reports nothing when PKCS#1 v1.5 is turned back on',
    async () => {
      const light = await child('light', ['--security-revert=CVE-2023-46809']);
      expect(light.keyPairs).toEqual([1024]);
      expect(light.reports).toEqual([]);
    },
    150_000,
  );

  it.runIf(!checked)(
    'makes no key pair where node-opcua does not check',
    async () => {
      const light = await child('light');
      expect(light.client).toBe('function');
      expect(light.keyPairs).toEqual([]);
    },
    150_000,
  );

  it('agrees with Node on whether PKCS#1 v1.5 decryption works here', async () => {
    // Node 20.11.1+ and 21.6.2+ refuse it without the revert flag; 22+ always.
    const [minor, patch] = process.version.slice(1).split('.').slice(1).map(Number) as [number, number];
    const off =
      major >= 22 ||
      (major === 21 && (minor > 6 || (minor === 6 && patch >= 2))) ||
      (major === 20 && (minor > 11 || (minor === 11 && patch >= 1)));
    expect(await rsaPkcs1v15Works()).toBe(!off);
  });
});

describe('replacing the check', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  /** A node_modules with a node-opcua-secure-channel whose check module has `source`. */
  function fixture(source: string): NodeJS.Require {
    const root = mkdtempSync(path.join(tmpdir(), 'tagwire-rsa-check-'));
    dirs.push(root);
    const dir = path.join(root, 'node_modules', 'node-opcua-secure-channel', 'dist', 'source');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      path.join(root, 'node_modules', 'node-opcua-secure-channel', 'package.json'),
      JSON.stringify({ name: 'node-opcua-secure-channel', version: '1.0.0', main: './dist/source/index.js' }),
    );
    writeFileSync(
      path.join(dir, 'index.js'),
      "exports.checking = require('./verify_pcks1.js').testRSAPKCS1V15_EncryptDecrypt();",
    );
    writeFileSync(path.join(dir, 'verify_pcks1.js'), source);
    return createRequire(path.join(root, 'index.js'));
  }

  it('leaves a check module that exports more than the one function to node-opcua', () => {
    const require = fixture(
      'exports.testRSAPKCS1V15_EncryptDecrypt = async () => "theirs";\nexports.other = 1;\n',
    );
    expect(replaceRsaSelfCheck(require, () => undefined)).toBeUndefined();
    return expect(
      (require('node-opcua-secure-channel') as { checking: Promise<string> }).checking,
    ).resolves.toBe('theirs');
  });

  it('replaces the expected one, once, and not after it has loaded', async () => {
    const require = fixture('exports.testRSAPKCS1V15_EncryptDecrypt = async () => "theirs";\n');
    const done = replaceRsaSelfCheck(require, () => undefined);
    expect(done).toBeInstanceOf(Promise);
    const { checking } = require('node-opcua-secure-channel') as { checking: Promise<unknown> };
    await expect(checking).resolves.toBeUndefined();
    await done;
    expect(replaceRsaSelfCheck(require, () => undefined)).toBeUndefined();
  });

  it('does nothing without node-opcua-secure-channel', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'tagwire-rsa-check-'));
    dirs.push(root);
    expect(replaceRsaSelfCheck(createRequire(path.join(root, 'index.js')), () => undefined)).toBeUndefined();
  });
});
