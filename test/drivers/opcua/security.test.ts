// Secured connections against the simulator: SignAndEncrypt with an explicitly trusted server
// certificate (via `tagwire pki`), username and X.509 logins, and the messages for a certificate we
// reject and one the server rejects, each naming the file to move where.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningOpcuaSimulator } from '../../../drivers/opcua/simulator/index.js';
import type { OpcuaDriver } from '../../../drivers/opcua/driver.js';
import { pkiPaths } from '../../../drivers/opcua/pki.js';
import { main as pki } from '../../../src/cli/pki.js';
import { waitFor } from '../../helpers/net.js';
import { makeDriver, recorder, simPkiDir, startSim, tag, tempDir } from './harness.js';
import { captureOutput } from '../../helpers/capture.js';

let secured: RunningOpcuaSimulator;
let strict: RunningOpcuaSimulator;
const dataDir = tempDir('tagwire-opcua-sec-');
const strictSimPki = tempDir('tagwire-opcua-strict-sim-');
const ourPki = pkiPaths(path.join(dataDir, 'pki', 'opcua'));
const drivers: OpcuaDriver[] = [];
const fast = { reconnectInitialDelayMs: 200, reconnectMaxDelayMs: 1000, connectTimeoutMs: 15_000 };

/** `tagwire pki`, with what it says on stdout and stderr together. */
async function runPki(args: string[]): Promise<{ code: number; out: string }> {
  const { code, out, err } = await captureOutput(() => pki(args));
  return { code, out: out + err };
}

function start(device: Parameters<typeof makeDriver>[0]) {
  const rec = recorder();
  const driver = makeDriver(
    { ...fast, ...device },
    [tag('temperature', 'ns=2;s=Oven.Temperature')],
    dataDir,
    rec,
  );
  drivers.push(driver);
  return { driver, rec };
}

beforeAll(async () => {
  secured = await startSim({
    pkiDir: simPkiDir('secured'),
    securityModes: ['Sign', 'SignAndEncrypt'],
    securityPolicies: ['Basic256Sha256', 'Aes256_Sha256_RsaPss'],
    allowAnonymous: false,
    users: [{ username: 'operator', password: 's3cret' }],
  });
  strict = await startSim({
    pkiDir: strictSimPki,
    securityModes: ['SignAndEncrypt'],
    autoAcceptClientCertificates: false,
  });
}, 120_000);

afterAll(async () => {
  await Promise.allSettled(drivers.map((d) => d.stop()));
  await secured?.close();
  await strict?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
  fs.rmSync(strictSimPki, { recursive: true, force: true });
});

describe('OPC UA security', { timeout: 150_000 }, () => {
  it('refuses an unknown server certificate, says which file to move, and connects once it is trusted', async () => {
    const { driver, rec } = start({
      id: 'secure',
      endpointUrl: secured.endpointUrl,
      securityMode: 'SignAndEncrypt',
      securityPolicy: 'Basic256Sha256',
      user: { username: 'operator', password: 's3cret' },
    });
    await driver.start();
    const message = await waitFor(
      () => driver.status().lastError?.includes('do not trust') && driver.status().lastError,
      60_000,
      'untrusted',
    );
    const rejected = fs.readdirSync(ourPki.rejected);
    expect(rejected).toHaveLength(1);
    expect(message).toContain(path.join(ourPki.rejected, rejected[0]!));
    expect(message).toContain(ourPki.trusted);
    expect(message).toContain(`tagwire pki trust ${rejected[0]}`);
    expect(driver.status().state).not.toBe('connected');

    const listed = await runPki(['--dir', ourPki.root, 'list']);
    expect(listed.code).toBe(0);
    expect(listed.out).toMatch(/our certificate[\s\S]*rejected[\s\S]*sha1 [0-9a-f]{40}/);
    const trusted = await runPki(['--dir', ourPki.root, 'trust', rejected[0]!]);
    expect(trusted.code).toBe(0);
    expect(fs.readdirSync(ourPki.trusted)).toEqual(rejected);

    await waitFor(() => driver.status().state === 'connected', 60_000, 'connected after trust');
    const sample = await waitFor(() => rec.samples.find((s) => s.quality === 'good'), 20_000, 'a good value');
    expect(typeof sample.value).toBe('number');
  });

  it('logs in with Sign and Aes256_Sha256_RsaPss as well', async () => {
    const { driver } = start({
      id: 'signed',
      endpointUrl: secured.endpointUrl,
      securityMode: 'Sign',
      securityPolicy: 'Aes256_Sha256_RsaPss',
      user: { username: 'operator', password: 's3cret' },
    });
    await driver.start();
    await waitFor(() => driver.status().state === 'connected', 60_000, 'connected');
    expect((await driver.read(['temperature']))[0]!.quality).toBe('good');
  });

  it('says so when the login is refused', async () => {
    const wrong = start({
      id: 'wrongpw',
      endpointUrl: secured.endpointUrl,
      securityMode: 'SignAndEncrypt',
      user: { username: 'operator', password: 'guess' },
    });
    const anonymous = start({ id: 'anon', endpointUrl: secured.endpointUrl, securityMode: 'SignAndEncrypt' });
    await wrong.driver.start();
    await anonymous.driver.start();
    await waitFor(
      () => wrong.driver.status().lastError?.includes('refused our login'),
      60_000,
      'login refused',
    );
    await waitFor(
      () => /login|identity|Anonymous/i.test(anonymous.driver.status().lastError ?? ''),
      60_000,
      'anonymous refused',
    );
    expect(wrong.driver.status().state).not.toBe('connected');
  });

  it('logs in with an X.509 user certificate', async () => {
    const keyFile = path.join(dataDir, 'user.key');
    const certFile = path.join(dataDir, 'user.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        keyFile,
        '-out',
        certFile,
        '-days',
        '30',
        '-subj',
        '/CN=oven-operator',
      ],
      { stdio: 'pipe', env: { PATH: process.env.PATH } },
    );
    const { driver } = start({
      id: 'x509',
      endpointUrl: secured.endpointUrl,
      securityMode: 'SignAndEncrypt',
      user: { certificate: certFile, privateKey: keyFile },
    });
    await driver.start();
    await waitFor(
      () => driver.status().state === 'connected',
      60_000,
      'connected with a user certificate',
    ).catch((err: Error) => {
      throw new Error(`${err.message}: ${driver.status().lastError}`);
    });
  });

  it('says which file the server must trust when it rejects our certificate', async () => {
    // We trust the strict server up front, from its certificate file.
    const serverCert = path.join(strict.pkiDir, 'own', 'certs', 'simulator_certificate.pem');
    expect((await runPki(['--dir', ourPki.root, 'trust', serverCert])).code).toBe(0);
    const { driver } = start({
      id: 'strict',
      endpointUrl: strict.endpointUrl,
      securityMode: 'SignAndEncrypt',
    });
    await driver.start();
    const message = await waitFor(
      () => driver.status().lastError?.includes('rejected our certificate') && driver.status().lastError,
      60_000,
      'server rejects us',
    );
    expect(message).toContain(ourPki.certificateFile);
    // The server's administrator trusts us: its rejected copy of our certificate moves to trusted.
    const serverRejected = path.join(strict.pkiDir, 'rejected');
    const ours = await waitFor(
      () => fs.readdirSync(serverRejected).find((f) => f.endsWith('.pem')),
      20_000,
      'our cert on the server',
    );
    fs.mkdirSync(path.join(strict.pkiDir, 'trusted', 'certs'), { recursive: true });
    fs.renameSync(path.join(serverRejected, ours), path.join(strict.pkiDir, 'trusted', 'certs', ours));
    await waitFor(() => driver.status().state === 'connected', 90_000, 'connected once the server trusts us');
  });
});
