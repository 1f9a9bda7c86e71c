// Sparkplug B end to end: the demo press (our Modbus simulator) through the gateway as a Sparkplug
// edge node, checked by a host application on Eclipse Tahu's decoder. On the embedded broker, and
// through a bridge's upstream (a real Mosquitto) with the gateway killed by SIGKILL.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { modbusSimulatorConfig } from '../../drivers/modbus/config.js';
import { startModbusSimulator, type RunningModbusSimulator } from '../../drivers/modbus/simulator/index.js';
import { loadConfig } from '../../src/config/load.js';
import { Gateway } from '../../src/gateway.js';
import { silentLogger } from '../../src/log.js';
import { AuditLog, type AuditEntry } from '../../src/mapping/audit.js';
import { Database } from '../../src/store/db.js';
import { repoRoot } from '../helpers/demo-config.js';
import { startMosquitto, type MosquittoBroker } from '../helpers/mosquitto.js';
import { freePort, waitFor } from '../helpers/net.js';
import { Host, num } from './host.js';

const NODE = 'edge-sp';

interface Setup {
  dir: string;
  file: string;
  mqttPort: number;
  modbusPort: number;
}

/** A config with the press on its own simulator port, its mapping also published as Sparkplug. */
async function writeConfig(
  sparkplug: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Promise<Setup> {
  const dir = mkdtempSync(path.join(tmpdir(), 'tagwire-sparkplug-'));
  const mqttPort = await freePort();
  const modbusPort = await freePort();
  const mapping = JSON.parse(readFileSync(path.join(repoRoot, 'mappings/press1.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  mapping.sparkplug = { groupId: 'plant1', ...sparkplug };
  writeFileSync(path.join(dir, 'press1.json'), JSON.stringify(mapping));
  const config = {
    gateway: { id: NODE, dataDir: path.join(dir, 'data') },
    broker: { listeners: [{ protocol: 'mqtt', host: '127.0.0.1', port: mqttPort }], allowAnonymous: true },
    devices: [
      {
        id: 'press1',
        driver: 'modbus',
        transport: { type: 'tcp', host: '127.0.0.1', port: modbusPort },
        unitId: 1,
        timeoutMs: 300,
      },
    ],
    mappings: ['press1.json'],
    ...extra,
  };
  const file = path.join(dir, 'gateway.config.json');
  writeFileSync(file, JSON.stringify(config, null, 2));
  return { dir, file, mqttPort, modbusPort };
}

/** The press setpoint (hr:200) in the simulator's memory. */
function setpointOf(sim: RunningModbusSimulator): number {
  return sim.units.answering(1)!.memory.hr.readInt16BE(200 * 2);
}

/** The audit rows of the press, read from the gateway's database beside it (SQLite WAL). */
async function auditRows(setup: Setup): Promise<AuditEntry[]> {
  const db = await Database.open(path.join(setup.dir, 'data', 'tagwire.db'));
  try {
    const audit = await AuditLog.open(db, { retentionDays: 30 });
    const rows = await audit.query({ device: 'press1' });
    await audit.close();
    return rows;
  } finally {
    await db.close();
  }
}

describe('sparkplug edge node', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function press(port: number): Promise<RunningModbusSimulator> {
    const sim = await startModbusSimulator(modbusSimulatorConfig({ port, profile: 'press' }), silentLogger());
    return sim;
  }

  /** Counts the press values the gateway publishes on its JSON topics (the data Sparkplug also sends). */
  function pressValues(gateway: Gateway): () => number {
    let n = 0;
    gateway.broker.subscribe('acme/plant1/line1/press1/#', () => n++);
    return () => n;
  }

  async function gatewayFor(setup: Setup): Promise<Gateway> {
    const gateway = new Gateway(await loadConfig(setup.file), { log: silentLogger(), simulators: false });
    await gateway.start();
    return gateway;
  }

  it('births before data, aliases born, seq continuous; rebirth on NCMD; DCMD writes checked and audited', async () => {
    const setup = await writeConfig({ primaryHostId: 'scada' });
    cleanups.push(() => rmSync(setup.dir, { recursive: true, force: true }));
    const sim = await press(setup.modbusPort);
    cleanups.push(() => sim.close());
    const gateway = await gatewayFor(setup);
    cleanups.push(() => gateway.stop());
    const host = await Host.connect(setup.mqttPort, 'plant1');
    cleanups.push(() => host.close());
    // Nothing is born before the primary host says it is online: the press has had values for a
    // while (a later poll published more), and a round trip says nothing else is on its way.
    const values = pressValues(gateway);
    await waitFor(() => values() > 0, 10_000, 'the first press values');
    const first = values();
    await waitFor(() => values() > first, 10_000, 'press values of a later poll');
    await host.roundTrip();
    expect(host.of('NBIRTH')).toEqual([]);
    await host.setState(true);
    const [nbirth] = await host.waitFor('NBIRTH');
    const [dbirth] = await host.waitFor('DBIRTH', 1, 'press1');
    expect(Host.bdSeq(nbirth!)).toBe(0);
    expect(nbirth!.metrics.map((m) => m.name)).toContain('Node Control/Rebirth');
    // Every tag is a metric with its datatype, alias, unit and writable flag.
    const byName = new Map(dbirth!.metrics.map((m) => [m.name, m]));
    expect(byName.get('temperature')).toMatchObject({
      type: 'Float',
      properties: { engUnit: { value: 'degC' } },
    });
    expect(byName.get('pressure')!.type).toBe('Double'); // uint16 scaled by 0.1
    expect(byName.get('running')).toMatchObject({
      type: 'Boolean',
      properties: { writable: { value: true } },
    });
    expect(byName.get('setpoint')).toMatchObject({
      type: 'Int16',
      properties: { engHigh: { value: 500 }, engLow: { value: 0 }, Quality: { value: 192 } },
    });
    await host.waitFor('DDATA', 3, 'press1');
    host.check();

    const beforeRebirth = host.messages.length;
    await host.rebirth(NODE);
    await waitFor(
      () => host.messages.slice(beforeRebirth).some((m) => m.kind === 'DBIRTH'),
      10_000,
      'the rebirth',
    );
    expect(host.messages.slice(beforeRebirth).find((m) => m.kind === 'NBIRTH')!.seq).toBe(0);
    host.check();

    const alias = num(byName.get('setpoint')!.alias);
    await host.deviceCommand(NODE, 'press1', { alias, type: 'Int16', value: 123 });
    await waitFor(
      () =>
        host
          .of('DDATA', 'press1')
          .some((m) => m.metrics.some((x) => num(x.alias) === alias && x.value === 123)),
      10_000,
      'the new setpoint in DDATA',
    );
    expect(setpointOf(sim)).toBe(123);
    await host.deviceCommand(NODE, 'press1', { name: 'setpoint', type: 'Int16', value: 900 });
    const rows = await waitFor(
      async () => {
        // A row is stored as the command arrives and completed with its result just after.
        const found = await auditRows(setup);
        const done = found.some((r) => r.ok) && found.some((r) => /900 above max 500/.test(r.result));
        return done ? found : undefined;
      },
      10_000,
      'both audit rows completed',
    );
    expect(rows.map((r) => [r.tag, r.ok, r.clientId])).toEqual(
      expect.arrayContaining([
        ['setpoint', true, 'internal:sparkplug:DCMD'],
        ['setpoint', false, 'internal:sparkplug:DCMD'],
      ]),
    );
    expect(rows.find((r) => !r.ok)!.result).toMatch(/900 above max 500/);
    expect(setpointOf(sim)).toBe(123);
    host.check();
  });

  it('DDEATH when the device dies, DBIRTH when it is back; history with is_historical while the host is away', async () => {
    const setup = await writeConfig({ primaryHostId: 'scada', json: false });
    cleanups.push(() => rmSync(setup.dir, { recursive: true, force: true }));
    let sim = await press(setup.modbusPort);
    cleanups.push(() => sim.close());
    const gateway = await gatewayFor(setup);
    cleanups.push(() => gateway.stop());
    const host = await Host.connect(setup.mqttPort, 'plant1');
    cleanups.push(() => host.close());
    await host.setState(true);
    await host.waitFor('DBIRTH', 1, 'press1');

    await sim.close();
    await host.waitFor('DDEATH', 1, 'press1', 20_000);
    sim = await press(setup.modbusPort);
    await host.waitFor('DBIRTH', 2, 'press1', 20_000);
    host.check();

    await host.setState(false);
    const away = host.messages.length;
    // The press keeps changing meanwhile (temperature, cycles): kept as history. Some polls (the
    // press is 4-5 requests a poll), then a round trip for anything still on its way to the host.
    const requests = () => gateway.devices()[0]!.requests;
    const awayFrom = requests();
    await waitFor(() => requests() >= awayFrom + 12, 20_000, 'the press polled while the host is away');
    await host.roundTrip();
    const whileAway = host.messages.slice(away).filter((m) => m.kind === 'DDATA');
    expect(whileAway.length).toBeLessThanOrEqual(1); // at most one already on its way
    const back = host.messages.length;
    await host.setState(true);
    await waitFor(
      () =>
        host.messages.slice(back).some((m) => m.kind === 'DDATA' && m.metrics.some((x) => x.isHistorical)),
      10_000,
      'historical DDATA',
    );
    const after = host.messages.slice(back);
    const kinds = after.map((m) => m.kind);
    expect(kinds[0]).toBe('NBIRTH');
    expect(kinds[1]).toBe('DBIRTH');
    const historical = after.filter((m) => m.kind === 'DDATA' && m.metrics.every((x) => x.isHistorical));
    expect(historical.length).toBeGreaterThan(1);
    // In order: the historical messages come before any live one, their timestamps never go back.
    const firstLive = after.findIndex((m) => m.kind === 'DDATA' && m.metrics.some((x) => !x.isHistorical));
    const lastHistorical = after.findLastIndex(
      (m) => m.kind === 'DDATA' && m.metrics.some((x) => x.isHistorical),
    );
    if (firstLive >= 0) expect(firstLive).toBeGreaterThan(lastHistorical);
    // Per metric, the kept values come in the order they were sampled (tags of one scan may
    // carry source times a millisecond apart, so the order is per metric).
    const stamps = new Map<number, number[]>();
    for (const x of historical.flatMap((m) => m.metrics))
      stamps.set(num(x.alias), [...(stamps.get(num(x.alias)) ?? []), num(x.timestamp)]);
    expect(stamps.size).toBeGreaterThan(0);
    for (const list of stamps.values()) expect(list).toEqual([...list].sort((a, b) => a - b));
    host.check(back);
  });

  it('through a bridge upstream: NDEATH is the will of its own connection, with the NBIRTH bdSeq', async () => {
    const upstream: MosquittoBroker = await startMosquitto();
    cleanups.push(() => upstream.stop());
    const setup = await writeConfig(
      { bridge: 'plant' },
      {
        bridges: [{ name: 'plant', url: `mqtt://127.0.0.1:${upstream.port}`, keepaliveSec: 2, out: [] }],
        simulators: { modbus: [] },
      },
    );
    cleanups.push(() => rmSync(setup.dir, { recursive: true, force: true }));
    const sim = await press(setup.modbusPort);
    cleanups.push(() => sim.close());
    const host = await Host.connect(upstream.port, 'plant1');
    cleanups.push(() => host.close());
    // Node itself, with tsx as a loader: SIGKILL reaches the gateway's own process.
    const args = [
      '--import',
      'tsx',
      path.join(repoRoot, 'src/cli.ts'),
      'start',
      '-c',
      setup.file,
      '--no-watch',
    ];
    const child: ChildProcess = spawn(process.execPath, args, {
      cwd: repoRoot,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    cleanups.push(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    const [nbirth] = await host.waitFor('NBIRTH', 1, undefined, 60_000);
    await host.waitFor('DDATA', 2, 'press1', 15_000);
    host.check();
    child.kill('SIGKILL');
    const [ndeath] = await host.waitFor('NDEATH', 1, undefined, 20_000);
    expect(Host.bdSeq(ndeath!)).toBe(Host.bdSeq(nbirth!));
  });
});
