// `tagwire doctor` against the simulators, Mosquitto and a running gateway: healthy checks say ok,
// and each check made to fail on purpose says what is wrong and the fix, with the exit codes.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/log.js';
import { startSimulators, type RunningSimulator } from '../../src/simulators.js';
import type { RunningOpcuaSimulator } from '../../drivers/opcua/simulator/index.js';
import { makePki, type TestPki } from '../bridge/helpers/certs.js';
import { simPkiDir, startSim } from '../drivers/opcua/harness.js';
import { demoConfig, type DemoConfig } from '../helpers/demo-config.js';
import { startMosquitto, type MosquittoBroker } from '../helpers/mosquitto.js';
import { freePort, waitFor } from '../helpers/net.js';
import { cliSource, envWith, nodeArgs, tagwire } from './cli.js';

const node20 = process.versions.node.startsWith('20.');
let demo: DemoConfig;
let sims: RunningSimulator[] = [];
let secured: RunningOpcuaSimulator;
let securedPki: string;
let tlsBroker: MosquittoBroker;
let pki: TestPki;
let squatter: net.Server;
const children: ChildProcess[] = [];

/** The doctor's line for a subject, e.g. "modbus press1". */
const line = (stdout: string, subject: string): string =>
  stdout.split('\n').find((l) => l.slice(6).startsWith(`${subject}:`)) ??
  `(no line for ${subject})\n${stdout}`;

beforeAll(async () => {
  // Before node-opcua loads: it leaves OPENSSL_CONF set to "undefined", which openssl then fails to read.
  pki = makePki();
  demo = await demoConfig();
  sims = await startSimulators((await loadConfig(demo.file)).config.simulators, silentLogger());
  securedPki = simPkiDir('doctor');
  secured = await startSim({
    pkiDir: securedPki,
    securityModes: ['SignAndEncrypt'],
    securityPolicies: ['Basic256Sha256'],
  });
  const tlsPort = await freePort();
  tlsBroker = await startMosquitto({
    port: tlsPort,
    extraConfig: [
      'user root',
      `listener ${tlsPort} 127.0.0.1`,
      'allow_anonymous true',
      `certfile ${pki.serverCert}`,
      `keyfile ${pki.serverKey}`,
    ].join('\n'),
  });
  squatter = net.createServer();
  await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
}, 120_000);

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await Promise.all(sims.map((s) => s.close()));
  await secured?.close();
  await tlsBroker?.stop();
  squatter?.close();
});

describe('tagwire doctor', () => {
  it('says ok for the demo against its simulators (a warning only for Node 20)', async () => {
    const out = await tagwire(['doctor', '-c', demo.file]);
    expect(line(out.stdout, 'config')).toMatch(/^ok {4}config: .* valid/);
    expect(line(out.stdout, `port ${demo.mqttPort} (mqtt)`)).toMatch(/^ok .*free on 127\.0\.0\.1/);
    expect(line(out.stdout, `data ${path.join(demo.dir, 'data')}`)).toMatch(/^ok .*writable, \d+ MB free/);
    expect(line(out.stdout, 'modbus press1')).toMatch(/^ok .*answers temperature \(hr:100\)/);
    expect(line(out.stdout, 'opcua oven1')).toMatch(/^ok .*answers \(security None\)/);
    expect(line(out.stdout, 'clock')).toMatch(/^ok/);
    expect(line(out.stdout, 'node')).toMatch(node20 ? /^warn .*end of life; fix: / : /^ok/);
    expect(out.code).toBe(node20 ? 2 : 0);
  }, 120_000);

  it('fails each broken check with its fix, and exits 1', async () => {
    const deadPort = await freePort();
    const busyPort = (squatter.address() as net.AddressInfo).port;
    const broken = await demoConfig((config) => {
      config.broker.listeners[0]!.port = busyPort;
      const sim = { host: '127.0.0.1', port: demo.modbusPort };
      config.devices = [
        { id: 'press1', driver: 'modbus', transport: { type: 'tcp', ...sim }, unitId: 1 } as never,
        {
          id: 'dead',
          driver: 'modbus',
          transport: { type: 'tcp', host: '127.0.0.1', port: deadPort },
          unitId: 1,
        } as never,
        { id: 'wrongaddr', driver: 'modbus', transport: { type: 'tcp', ...sim }, unitId: 1 } as never,
        {
          id: 'meter',
          driver: 'modbus',
          transport: { type: 'rtu', path: '/dev/ttyTAGWIRE-NONE' },
          unitId: 1,
        } as never,
        {
          id: 'secure',
          driver: 'opcua',
          endpointUrl: secured.endpointUrl,
          securityMode: 'SignAndEncrypt',
          securityPolicy: 'Basic256Sha256',
        } as never,
      ];
      config.simulators = { modbus: [], opcua: [] };
      config.mappings = ['mappings/*.json'];
      config.bridges = [
        {
          name: 'badca',
          url: `mqtts://127.0.0.1:${tlsBroker.port}`,
          tls: { ca: pki.otherCa },
          out: [{ filter: 'a/#' }],
        },
        {
          name: 'goodca',
          url: `mqtts://127.0.0.1:${tlsBroker.port}`,
          tls: { ca: pki.ca },
          out: [{ filter: 'a/#' }],
        },
        { name: 'down', url: `mqtt://127.0.0.1:${deadPort}`, out: [{ filter: 'a/#' }] },
      ];
    });
    const mappings = path.join(broken.dir, 'mappings');
    mkdirSync(mappings);
    const mapping = (device: string, address: string) =>
      writeFileSync(
        path.join(mappings, `${device}.json`),
        JSON.stringify({ device, topic: `t/${device}`, tags: [{ name: 'v', address, type: 'uint16' }] }),
      );
    mapping('press1', 'hr:100');
    mapping('dead', 'hr:0');
    mapping('wrongaddr', 'hr:65000');
    mapping('meter', 'hr:0');

    const first = await tagwire(['doctor', '-c', broken.file]);
    const s = first.stdout;
    expect(first.code).toBe(1);
    expect(line(s, `port ${busyPort} (mqtt)`)).toMatch(
      /^fail .*in use by another program.*; fix: stop it, or choose another port at \/broker\/listeners\/0\/port/,
    );
    expect(line(s, 'modbus press1')).toMatch(/^ok/);
    expect(line(s, 'modbus dead')).toMatch(
      /^fail .*cannot connect to 127\.0\.0\.1:\d+.*; fix: check the transport/,
    );
    expect(line(s, 'modbus wrongaddr')).toMatch(
      /^fail .*modbus exception 2 \(illegal data address\); fix: check the tag's address/,
    );
    expect(line(s, 'serial /dev/ttyTAGWIRE-NONE (meter)')).toMatch(/^fail .*not found; fix: /);
    expect(line(s, 'opcua secure')).toMatch(
      /^warn .*not trusted yet; fix: start the gateway once.*tagwire pki trust/,
    );
    expect(line(s, 'bridge badca')).toMatch(/^fail .*does not verify.*; fix: set bridges\[\]\.tls\.ca/);
    expect(line(s, 'bridge goodca')).toMatch(/^ok .*TLS certificate valid/);
    expect(line(s, 'bridge down')).toMatch(/^fail .*cannot reach 127\.0\.0\.1:\d+/);

    // The server's certificate rejected (as the driver does on a first connection): fail, and the
    // exact `tagwire pki trust` line; once trusted with it, ok.
    const rejected = path.join(broken.dir, 'data/pki/opcua/rejected');
    mkdirSync(rejected, { recursive: true });
    copyFileSync(
      path.join(securedPki, 'own/certs/simulator_certificate.pem'),
      path.join(rejected, 'sim.pem'),
    );
    const second = await tagwire(['doctor', '-c', broken.file]);
    const secureLine = line(second.stdout, 'opcua secure');
    expect(secureLine).toMatch(
      /^fail .*in the rejected folder; fix: if it is your server's: tagwire pki trust sim\.pem$/,
    );
    const trust = await tagwire(['pki', '-c', broken.file, 'trust', 'sim.pem']);
    expect(trust.code).toBe(0);
    const third = await tagwire(['doctor', '-c', broken.file]);
    expect(line(third.stdout, 'opcua secure')).toMatch(/^ok .*is trusted/);
  }, 240_000);

  it('fails on an invalid config, pointing at validate', async () => {
    const bad = await demoConfig((config) => {
      config.devices[0]!.transport!.port = 70000;
    });
    const out = await tagwire(['doctor', '-c', bad.file]);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('/devices/0/transport/port');
    expect(line(out.stdout, 'config')).toMatch(/^fail .*1 problem\(s\).*tagwire validate/);
  });

  // A serial port this user may not open: the doctor runs as `nobody` against a socat pty (0600).
  it.runIf(process.getuid?.() === 0 && existsSync('/usr/sbin/runuser'))(
    'fails a serial port the user may not use, with the group fix',
    async () => {
      const ptys = mkdtempSync(path.join(tmpdir(), 'tagwire-pty-'));
      chmodSync(ptys, 0o755);
      const tty = path.join(ptys, 'ttyA');
      const socat = spawn(
        'socat',
        [`pty,raw,echo=0,link=${tty}`, `pty,raw,echo=0,link=${path.join(ptys, 'ttyB')}`],
        {
          stdio: 'ignore',
        },
      );
      children.push(socat);
      await waitFor(() => existsSync(tty), 10_000, 'the pty');
      const site = await demoConfig((config) => {
        config.devices = [
          { id: 'meter', driver: 'modbus', transport: { type: 'rtu', path: tty }, unitId: 1 } as never,
        ];
        config.mappings = [];
        config.simulators = { modbus: [], opcua: [] };
      });
      chmodSync(site.dir, 0o755);
      chmodSync(site.file, 0o644);
      const out = await new Promise<string>((resolve) => {
        const doctor = spawn(
          'runuser',
          ['-u', 'nobody', '--', process.execPath, ...nodeArgs, cliSource, 'doctor', '-c', site.file],
          {
            cwd: site.dir,
            stdio: ['ignore', 'pipe', 'ignore'],
            env: envWith(),
          },
        );
        let stdout = '';
        doctor.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
        doctor.once('close', () => resolve(stdout));
      });
      expect(line(out, `serial ${tty} (meter)`)).toMatch(
        /^fail .*not readable and writable by nobody \(owner root:\w+, mode 600\); fix: give the device to group dialout.*add nobody to dialout$/,
      );
      socat.kill();
    },
    60_000,
  );

  it("takes a running gateway's own ports as ours", async () => {
    const running = await demoConfig();
    const child = spawn(process.execPath, [...nodeArgs, cliSource, 'start', '-c', running.file], {
      env: envWith(),
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    children.push(child);
    let stdout = '';
    child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    await waitFor(() => stdout.includes('Ctrl-C'), 90_000, 'the gateway');
    const out = await tagwire(['doctor', '-c', running.file]);
    expect(line(out.stdout, `port ${running.mqttPort} (mqtt)`)).toMatch(
      /^ok .*in use by tagwire \(pid \d+\)/,
    );
    expect(line(out.stdout, 'modbus press1')).toMatch(/^ok/);
    child.kill('SIGTERM');
  }, 180_000);
});
