// `tagwire pki` on a PKI folder of its own: init makes our certificate, list shows it, trust and
// reject move certificates between the folders, and mistakes get a clear message.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pkiPaths } from '../../../drivers/opcua/pki.js';
import { main as pki } from '../../../src/cli/pki.js';
import { captureOutput, type Captured } from '../../helpers/capture.js';
import { tempDir } from './harness.js';

const root = path.join(tempDir('tagwire-opcua-pki-'), 'pki');
const paths = pkiPaths(root);
afterAll(() => fs.rmSync(path.dirname(root), { recursive: true, force: true }));

const run = (args: string[]): Promise<Captured> => captureOutput(() => pki(['--dir', root, ...args]));

describe('tagwire pki', { timeout: 60_000 }, () => {
  it('says our certificate is not made yet, then makes it', async () => {
    expect((await run(['list'])).out).toMatch(/not created yet/);
    const init = await run(['init']);
    expect(init.code).toBe(0);
    expect(fs.existsSync(paths.certificateFile)).toBe(true);
    expect(init.out).toMatch(/sha1 [0-9a-f]{40}/);
  });

  it('trusts a file, rejects and trusts again by thumbprint prefix', async () => {
    // Any certificate will do as a "server" certificate: use our own.
    const serverCert = path.join(path.dirname(root), 'server.pem');
    fs.copyFileSync(paths.certificateFile, serverCert);
    expect((await run(['trust', serverCert])).code).toBe(0);
    expect(fs.readdirSync(paths.trusted)).toEqual(['server.pem']);
    const thumb = /sha1 ([0-9a-f]{40})/.exec((await run(['list'])).out)![1]!;
    expect((await run(['reject', thumb.slice(0, 8)])).code).toBe(0);
    expect(fs.readdirSync(paths.trusted)).toEqual([]);
    expect(fs.readdirSync(paths.rejected)).toContain('server.pem');
    expect((await run(['trust', 'server.pem'])).code).toBe(0);
    expect(fs.readdirSync(paths.trusted)).toEqual(['server.pem']);
  });

  it('explains what it cannot do', async () => {
    expect(await run(['trust', 'nope.pem'])).toMatchObject({
      code: 1,
      err: expect.stringMatching(/no certificate "nope.pem"/),
    });
    expect(await run(['trust'])).toMatchObject({ code: 1, err: expect.stringMatching(/which certificate/) });
    expect(await run(['frobnicate'])).toMatchObject({
      code: 1,
      err: expect.stringMatching(/unknown command/),
    });
  });
});
