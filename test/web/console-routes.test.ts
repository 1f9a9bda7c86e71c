// The two API routes the console adds, over real HTTP against the demo gateway: an OPC UA browse
// of the oven (one level at a time, with types and writability) and a CSV tag list turned into a
// mapping; both admin-only, with clear refusals for the wrong device, node or CSV.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConsoleGateway, USERS, type ConsoleGateway, type RoleName } from './harness.js';

let gw: ConsoleGateway;
const cookies = new Map<RoleName, string>();

async function call(role: RoleName, path: string, init: { method?: string; body?: unknown } = {}) {
  const res = await fetch(`${gw.url}${path}`, {
    method: init.method ?? 'GET',
    headers: {
      cookie: cookies.get(role)!,
      origin: gw.url,
      ...(init.body !== undefined && { 'content-type': 'application/json' }),
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> & unknown[] };
}

interface Node {
  nodeId: string;
  browseName: string;
  nodeClass: string;
  dataType?: string;
  writable?: boolean;
  hasChildren: boolean;
}

beforeAll(async () => {
  gw = await startConsoleGateway();
  for (const role of Object.keys(USERS) as RoleName[]) {
    const res = await fetch(`${gw.url}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: gw.url },
      body: JSON.stringify(USERS[role]),
    });
    expect(res.status).toBe(200);
    cookies.set(role, res.headers.get('set-cookie')!.split(';')[0]!);
  }
}, 120_000);

afterAll(async () => {
  await gw?.stop();
});

describe('GET /api/devices/:id/browse', { timeout: 60_000 }, () => {
  it('lists the Objects folder without the Server object, then a level below with types', async () => {
    const top = await call('admin', '/api/devices/oven1/browse');
    expect(top.status).toBe(200);
    const roots = top.body as unknown as Node[];
    expect(roots.some((n) => n.nodeId === 'ns=0;i=2253' || n.browseName === 'Server')).toBe(false);
    const oven = roots.find((n) => n.browseName === 'Oven');
    expect(oven).toMatchObject({ nodeClass: 'Object', hasChildren: true });

    const below = await call('admin', `/api/devices/oven1/browse?node=${encodeURIComponent(oven!.nodeId)}`);
    expect(below.status).toBe(200);
    const vars = below.body as unknown as Node[];
    const setpoint = vars.find((n) => n.nodeId === 'ns=2;s=Oven.Setpoint');
    expect(setpoint).toMatchObject({ nodeClass: 'Variable', dataType: 'Double', writable: true });
    const temperature = vars.find((n) => n.nodeId === 'ns=2;s=Oven.Temperature');
    expect(temperature).toMatchObject({ nodeClass: 'Variable', dataType: 'Double' });
    expect(temperature?.writable).toBeUndefined();
  });

  it('refuses a Modbus device, an unknown device, an unknown node, and non-admins', async () => {
    const modbus = await call('admin', '/api/devices/press1/browse');
    expect(modbus.status).toBe(409);
    expect(modbus.body.error).toMatch(/OPC UA.*press1.*modbus/);
    expect((await call('admin', '/api/devices/nope/browse')).status).toBe(404);
    const bad = await call(
      'admin',
      `/api/devices/oven1/browse?node=${encodeURIComponent('ns=2;s=No.Such.Node')}`,
    );
    expect(bad.status).toBe(400);
    expect(bad.body.error).toContain('ns=2;s=No.Such.Node');
    const operator = await call('operator', '/api/devices/oven1/browse');
    expect(operator.status).toBe(403);
    expect(operator.body.error).toContain('admin');
  });
});

describe('POST /api/mappings/import-csv', { timeout: 30_000 }, () => {
  it("turns a CSV tag list into a mapping with the device's topic", async () => {
    const csv =
      'Tag;Register;DataType;Unit;Writable;Min;Max\nlevel;hr:300;uint16;mm;yes;0;2000\nalarm;coil:5;bool;;no;;\n';
    const res = await call('admin', '/api/mappings/import-csv', {
      method: 'POST',
      body: { device: 'press1', csv },
    });
    expect(res.status).toBe(200);
    const mapping = JSON.parse(res.body.content as string) as {
      device: string;
      topic: string;
      tags: unknown[];
    };
    expect(mapping.device).toBe('press1');
    expect(mapping.topic).toBe('acme/plant1/line1/press1');
    expect(mapping.tags).toEqual([
      expect.objectContaining({
        name: 'level',
        address: 'hr:300',
        type: 'uint16',
        unit: 'mm',
        writable: true,
        min: 0,
        max: 2000,
      }),
      expect.objectContaining({ name: 'alarm', address: 'coil:5', type: 'bool' }),
    ]);
  });

  it('refuses a CSV with a problem, naming its line, and non-admins', async () => {
    const csv = 'name,address,type\ngood,hr:1,uint16\nbad,hr:2,float99\n';
    const res = await call('admin', '/api/mappings/import-csv', {
      method: 'POST',
      body: { device: 'press1', csv },
    });
    expect(res.status).toBe(422);
    expect(res.body.error).toMatch(/line 3/);
    expect(
      (await call('admin', '/api/mappings/import-csv', { method: 'POST', body: { device: 'x', csv } }))
        .status,
    ).toBe(404);
    expect(
      (
        await call('operator', '/api/mappings/import-csv', {
          method: 'POST',
          body: { device: 'press1', csv },
        })
      ).status,
    ).toBe(403);
  });
});
