import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import {
  baseConfig,
  configProblems,
  press1,
  pressMapping,
  workspaceForTest,
  type Workspace,
} from './fixtures.js';

let ws: Workspace;
beforeEach(() => {
  ws = workspaceForTest();
});

const problemsOf = (): Promise<string[]> => configProblems('gateway.config.json');

const tag = (extra: Record<string, unknown>) => ({ name: 'x', address: 'hr:1', type: 'int16', ...extra });

interface Case {
  what: string;
  config?: unknown;
  mapping?: unknown;
  files?: Record<string, unknown>;
  expected: string[];
}

const cases: Case[] = [
  {
    what: 'a transport type that does not exist',
    config: baseConfig({ devices: [{ ...press1, transport: { type: 'tpc', host: 'h' } }] }),
    expected: [
      'gateway.config.json: /devices/0/transport/type: must be one of "tcp", "rtu-over-tcp", "rtu", got "tpc"',
    ],
  },
  {
    what: 'a misspelt device key',
    config: baseConfig({ devices: [{ ...press1, unitID: 2 }] }),
    expected: ['gateway.config.json: /devices/0: unknown key "unitID" (did you mean "unitId"?)'],
  },
  {
    what: 'a serial transport given a host instead of a path',
    config: baseConfig({ devices: [{ ...press1, transport: { type: 'rtu', host: 'x' } }] }),
    expected: [
      'gateway.config.json: /devices/0/transport: missing required key "path"',
      'gateway.config.json: /devices/0/transport: unknown key "host"',
    ],
  },
  {
    what: 'a value that may be one of several types',
    config: baseConfig({
      simulators: { modbus: [{ signals: [{ address: 'hr:1', kind: 'constant', value: 'x' }] }] },
    }),
    expected: [
      'gateway.config.json: /simulators/modbus/0/signals/0/value: must be a number or true or false, got "x"',
    ],
  },
  {
    what: 'an unknown driver',
    config: baseConfig({ devices: [press1, { id: 'x', driver: 'profinet' }] }),
    expected: ['gateway.config.json: /devices/1/driver: must be one of "modbus", "opcua", got "profinet"'],
  },
  {
    what: 'a device without id',
    config: baseConfig({ devices: [press1, { driver: 'modbus', transport: { type: 'tcp', host: 'h' } }] }),
    expected: ['gateway.config.json: /devices/1: missing required key "id"'],
  },
  {
    what: 'two devices with one id',
    config: baseConfig({ devices: [press1, press1] }),
    expected: ['gateway.config.json: /devices/1/id: duplicate device id "press1" (first at /devices/0)'],
  },
  {
    what: 'a port given as a string',
    config: baseConfig({ http: { port: '80' } }),
    expected: ['gateway.config.json: /http/port: must be an integer, got "80"'],
  },
  {
    what: 'an unknown top-level block',
    config: baseConfig({ htpp: {} }),
    expected: ['gateway.config.json: /: unknown key "htpp" (did you mean "http"?)'],
  },
  {
    what: 'a log level that does not exist',
    config: baseConfig({ gateway: { id: 'g', logLevel: 'verbose' } }),
    expected: [
      'gateway.config.json: /gateway/logLevel: must be one of "fatal", "error", "warn", "info", "debug", "trace", "silent", got "verbose"',
    ],
  },
  {
    what: 'a simulator with a misspelt key',
    config: baseConfig({ simulators: { modbus: [{ prot: 5020 }] } }),
    expected: ['gateway.config.json: /simulators/modbus/0: unknown key "prot" (did you mean "port"?)'],
  },
  {
    what: 'a bridge with a misspelt key',
    config: baseConfig({ bridges: [{ name: 'plant', url: 'mqtt://127.0.0.1:1884', clientID: 'x' }] }),
    expected: ['gateway.config.json: /bridges/0: unknown key "clientID" (did you mean "clientId"?)'],
  },
  {
    what: 'a glob matching nothing',
    config: baseConfig({ mappings: ['mappings/*.json', 'other/*.json'] }),
    expected: ['gateway.config.json: /mappings/1: "other/*.json" matches no file'],
  },
  {
    what: 'a mapping file that does not exist',
    config: baseConfig({ mappings: ['mappings/*.json', 'mappings/missing.json'] }),
    expected: ['gateway.config.json: /mappings/1: mapping file "mappings/missing.json" not found'],
  },
  {
    what: 'a mapping of a device that is not defined',
    mapping: pressMapping({ device: 'press9' }),
    expected: ['mappings/m.json: /device: device "press9" is not defined in gateway.config.json'],
  },
  {
    what: 'a misspelt tag key',
    mapping: pressMapping({ tags: [tag({ pollMS: 100 })] }),
    expected: ['mappings/m.json: /tags/0: unknown key "pollMS" (did you mean "pollMs"?)'],
  },
  {
    what: 'a tag type the driver does not know',
    mapping: pressMapping({ tags: [tag({ type: 'int17' })] }),
    expected: [
      'mappings/m.json: /tags/0/type: must be one of "bool", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64", "string", got "int17"',
    ],
  },
  {
    what: 'a tag without address',
    mapping: pressMapping({ tags: [{ name: 'x', type: 'int16' }] }),
    expected: ['mappings/m.json: /tags/0: missing required key "address"'],
  },
  {
    what: 'a tag the driver finds wrong for its address',
    mapping: pressMapping({ tags: [tag({ address: 'coil:3', type: 'float32' })] }),
    expected: ['mappings/m.json: /tags/0/type: coil holds single bits: type must be bool, not float32'],
  },
  {
    what: 'two tags with one name',
    mapping: pressMapping({ tags: [tag({}), tag({ address: 'hr:2' })] }),
    expected: ['mappings/m.json: /tags/1/name: duplicate tag name "x" (first at /tags/0)'],
  },
  {
    what: 'min above max',
    mapping: pressMapping({ tags: [tag({ writable: true, min: 10, max: 5 })] }),
    expected: ['mappings/m.json: /tags/0: min 10 is above max 5'],
  },
  {
    what: 'a qos that does not exist',
    mapping: pressMapping({ defaults: { qos: 3 } }),
    expected: ['mappings/m.json: /defaults/qos: must be one of 0, 1, 2, got 3'],
  },
  {
    what: 'a wildcard in the topic',
    mapping: pressMapping({ topic: 'acme/+/press1' }),
    expected: ['mappings/m.json: /topic: topic "acme/+/press1" contains a wildcard (+ or #)'],
  },
  {
    what: 'an empty topic level',
    mapping: pressMapping({ topic: 'acme//press1' }),
    expected: ['mappings/m.json: /topic: topic "acme//press1" has an empty level'],
  },
  {
    what: 'a control character in the topic (the broker would refuse it)',
    mapping: pressMapping({ topic: 'acme/press1\r' }),
    expected: ['mappings/m.json: /topic: topic contains control character U+000D: "acme/press1\\r"'],
  },
  {
    what: 'an unknown topic variable',
    mapping: pressMapping({ topic: 'acme/{site}/{device}' }),
    expected: [
      'mappings/m.json: /topic: unknown variable "{site}" in "acme/{site}/{device}" (known: device, gatewayId)',
    ],
  },
  {
    what: 'a tag name with a slash',
    mapping: pressMapping({ tags: [tag({ name: 'a/b' })] }),
    expected: [
      'mappings/m.json: /tags/0/name: must be a topic level: no "/", "#" or "+", not starting with "$" or a space (e.g. "temperature", "motor current"), got "a/b"',
    ],
  },
  {
    what: 'a static field that would overwrite a payload field',
    mapping: pressMapping({ fields: { site: 'p1', quality: 'high' } }),
    expected: ['mappings/m.json: /fields/quality: "quality" is set by the gateway in json payloads'],
  },
  {
    what: 'a mapping with both device and instances',
    mapping: pressMapping({ instances: [{ device: 'press1' }] }),
    expected: ['mappings/m.json: /: give either "device" or "instances", not both'],
  },
  {
    what: 'JSON syntax error in a mapping',
    files: { 'mappings/m.json': '{\n  "device": "press1",\n  "topic": "a/b"\n  "tags": []\n}\n' },
    expected: [
      'mappings/m.json: /topic: invalid JSON at line 3, column 17: missing "," before "tags" at line 4, column 3',
    ],
  },
  {
    what: 'JSON cut short',
    files: { 'mappings/m.json': '{\n  "device": "press1",\n' },
    expected: ['mappings/m.json: /: invalid JSON at line 3, column 1: unexpected end of file'],
  },
];

describe('loadConfig: broken configs and mappings', () => {
  it.each(cases)('$what', async (c) => {
    ws.write('gateway.config.json', c.config ?? baseConfig());
    if (c.files) for (const [name, content] of Object.entries(c.files)) ws.write(name, content);
    else ws.write('mappings/m.json', c.mapping ?? pressMapping());
    expect(await problemsOf()).toEqual(c.expected);
  });

  it('lists every problem of the config and all mappings at once', async () => {
    ws.write('gateway.config.json', baseConfig({ devices: [{ ...press1, unitID: 2 }], http: { port: -1 } }));
    ws.write('mappings/a.json', pressMapping({ tags: [tag({ pollMS: 1 })] }));
    ws.write('mappings/b.json', pressMapping({ device: 'press9', topic: 'acme/b' }));
    expect(await problemsOf()).toEqual([
      'gateway.config.json: /devices/0: unknown key "unitID" (did you mean "unitId"?)',
      'gateway.config.json: /http/port: must be >= 0, got -1',
      'mappings/a.json: /tags/0: unknown key "pollMS" (did you mean "pollMs"?)',
      'mappings/b.json: /device: device "press9" is not defined in gateway.config.json',
    ]);
  });

  it('refuses a topic used by two mapping files and a tag mapped twice', async () => {
    ws.write('gateway.config.json', baseConfig());
    ws.write('mappings/a.json', pressMapping({ tags: [tag({})] }));
    ws.write(
      'mappings/b.json',
      pressMapping({ topic: 'acme/other', tags: [tag({ name: 'y' }), tag({ name: 'x' })] }),
    );
    ws.write(
      'mappings/c.json',
      pressMapping({ device: 'press2', topic: 'acme/other', tags: [tag({ name: 'y' })] }),
    );
    ws.write('gateway.config.json', baseConfig({ devices: [press1, { ...press1, id: 'press2' }] }));
    expect(await problemsOf()).toEqual([
      'mappings/b.json: /tags/1/name: tag "x" of device "press1" is already mapped by mappings/a.json /tags/0/name',
      'mappings/c.json: /tags/0/name: topic "acme/other/y" is already used by mappings/b.json /tags/0/name',
    ]);
  });

  it('names a missing config file', async () => {
    await expect(loadConfig('nope.json')).rejects.toThrow('nope.json: /: file not found');
  });
});

describe('loadConfig: a valid config', () => {
  it('applies defaults, resolves paths and renders topics from variables', async () => {
    ws.write(
      'gateway.config.json',
      baseConfig({ devices: [{ ...press1, vars: { site: 'plant1' } }], http: { port: 0 } }),
    );
    ws.write(
      'mappings/m.json',
      pressMapping({
        topic: 'acme/{site}/{line}/{device}',
        vars: { line: 'line1' },
        defaults: { qos: 1, heartbeatMs: 0 },
      }),
    );
    const loaded = await loadConfig('gateway.config.json');
    const { config, mappings } = loaded;
    expect(loaded.file).toBe(path.join(ws.dir, 'gateway.config.json'));
    expect(config.gateway).toEqual({
      id: 'edge-test',
      dataDir: path.join(ws.dir, 'data'),
      logLevel: 'info',
      auditRetentionDays: 90,
      statusIntervalSec: 10,
    });
    expect(config.http).toEqual({
      host: '127.0.0.1',
      port: 0,
      enabled: true,
      allowAnonymous: false,
      anonymousRole: 'operator',
      metrics: { anonymous: false },
      tokens: [],
      sessionIdleMin: 30,
      loginAttemptsPerMin: 10,
    });
    expect(config.devices[0]).toMatchObject({
      id: 'press1',
      enabled: true,
      timeoutMs: 1000,
      byteOrder: 'ABCD',
    });
    expect(config.bridges).toEqual([]);
    expect(mappings).toHaveLength(1);
    const m = mappings[0]!;
    expect(m).toMatchObject({
      device: 'press1',
      topic: 'acme/plant1/line1/press1',
      format: 'json',
      fields: {},
    });
    expect(m.file).toBe(path.join(ws.dir, 'mappings', 'm.json'));
    expect(m.tags.map((t) => t.topic)).toEqual([
      'acme/plant1/line1/press1/temperature',
      'acme/plant1/line1/press1/running',
      'acme/plant1/line1/press1/setpoint',
    ]);
    expect(m.tags[0]).toMatchObject({
      name: 'temperature',
      writable: false,
      pollMs: 1000,
      qos: 1,
      retain: false,
      commandTimeoutMs: 5000,
      policy: { kind: 'change', deadband: 0.5, deadbandPercent: 0, heartbeatMs: 0, minIntervalMs: 0 },
    });
    expect(m.tags[2]).toMatchObject({ name: 'setpoint', writable: true, min: 0, max: 500 });
    expect(m.tags[0]).not.toHaveProperty('deadband');
  });

  it('allows empty topic levels only when the mapping says so', async () => {
    ws.write('gateway.config.json', baseConfig());
    ws.write('mappings/m.json', pressMapping({ topic: 'acme//press1', allowEmptyLevels: true }));
    const { mappings } = await loadConfig('gateway.config.json');
    expect(mappings[0]!.tags[0]!.topic).toBe('acme//press1/temperature');
  });

  it('gives tags with the same publish policy one shared policy object, and a tag with its own its own', async () => {
    ws.write('gateway.config.json', baseConfig());
    ws.write('mappings/m.json', {
      device: 'press1',
      topic: 'acme/press1',
      defaults: { deadband: 0.5 },
      tags: [
        tag({ name: 'a', address: 'hr:1' }),
        tag({ name: 'b', address: 'hr:2' }),
        tag({ name: 'c', address: 'hr:3', deadband: 2 }),
        tag({ name: 'd', address: 'hr:4', publish: 'periodic', periodMs: 500 }),
      ],
    });
    const { mappings } = await loadConfig('gateway.config.json');
    const [a, b, c, d] = mappings[0]!.tags;
    expect(a!.policy).toBe(b!.policy);
    expect(a!.policy).toMatchObject({ kind: 'change', deadband: 0.5 });
    expect(c!.policy).toMatchObject({ kind: 'change', deadband: 2 });
    expect(d!.policy).toEqual({ kind: 'periodic', periodMs: 500, minIntervalMs: 0 });
  });

  it('instantiates a device template with offsets and variables', async () => {
    const drive = (id: string) => ({ ...press1, id });
    ws.write('gateway.config.json', baseConfig({ devices: [drive('drive1'), drive('drive2')] }));
    ws.write('mappings/drives.json', {
      topic: 'acme/{hall}/drives/{device}',
      instances: [
        { device: 'drive1', vars: { hall: 'h1' } },
        { device: 'drive2', vars: { hall: 'h2' }, addressOffset: 100 },
      ],
      tags: [
        tag({ name: 'speed', address: 'hr:10' }),
        tag({ name: 'fault', address: 'hr:20.3', type: 'bool' }),
      ],
    });
    const { mappings } = await loadConfig('gateway.config.json');
    expect(mappings.map((m) => [m.device, m.topic, m.tags.map((t) => `${t.address} ${t.topic}`)])).toEqual([
      [
        'drive1',
        'acme/h1/drives/drive1',
        ['hr:10 acme/h1/drives/drive1/speed', 'hr:20.3 acme/h1/drives/drive1/fault'],
      ],
      [
        'drive2',
        'acme/h2/drives/drive2',
        ['hr:110 acme/h2/drives/drive2/speed', 'hr:120.3 acme/h2/drives/drive2/fault'],
      ],
    ]);
  });
});
