// Mapping files through the API: only the files the config's globs match (traversal in every form
// refused), validation with the same lines as `tagwire validate`, and a saved edit applied by hot
// reload (on a gateway that does not watch its files) and visible on MQTT.
import { existsSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/demo-config.js';
import { run } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/net.js';
import { Client, loggedIn, startHttpGateway, type HttpGatewayFixture } from './helpers.js';

const FILE = 'mappings/press1.json';
const PRESS = 'acme/plant1/line1/press1';

let fx: HttpGatewayFixture;
let admin: Client;
let original: string;
let mqttClient: MqttClient;
const received: Array<{ topic: string; payload: string }> = [];

interface Problem {
  file: string;
  pointer: string;
  message: string;
  text: string;
  line?: number;
}

beforeAll(async () => {
  fx = await startHttpGateway();
  admin = await loggedIn(fx.base, 'admin');
  original = readFileSync(fx.mappingFile, 'utf8');
  mqttClient = await mqtt.connectAsync(`mqtt://127.0.0.1:${fx.demo.mqttPort}`);
  mqttClient.on('message', (topic, payload) => received.push({ topic, payload: payload.toString() }));
  await mqttClient.subscribeAsync(`${PRESS}/#`);
}, 90_000);

afterAll(async () => {
  await mqttClient?.endAsync();
  await fx?.stop();
});

/** A GET with the path exactly as written (fetch would normalise `..` and encodings away). */
function rawGet(target: string, cookie: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${fx.base}/`, { method: 'GET', path: target, headers: { cookie } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function withTag(tag: Record<string, unknown>): string {
  const mapping = JSON.parse(original) as { tags: unknown[] };
  mapping.tags.push(tag);
  return JSON.stringify(mapping, null, 2) + '\n';
}

describe('listing and reading', () => {
  it('lists the files the globs match, with device and tag count, and reads one', async () => {
    const list = await admin.get('/api/mappings');
    expect(list.body).toEqual([{ file: FILE, device: 'press1', tags: 7 }]);
    const one = await admin.get(`/api/mappings/${encodeURIComponent(FILE)}`);
    expect(one.body).toEqual({ file: FILE, content: original });
  });

  it('refuses every path outside the listed files: ../, absolute, encoded, backslashed', async () => {
    const attempts = [
      '../gateway.config.json',
      'mappings/../gateway.config.json',
      '..%2Fgateway.config.json',
      '%2E%2E%2Fgateway.config.json',
      '%252E%252E%252Fgateway.config.json',
      'mappings%5C..%5C..%5Cgateway.config.json',
      '/etc/passwd',
      '%2Fetc%2Fpasswd',
      fx.mappingFile,
      `mappings/press1.json%00.txt`,
      './mappings/press1.json',
      'mappings//press1.json',
    ];
    for (const attempt of attempts) {
      const url = `/api/mappings/${attempt.includes('%') ? attempt : encodeURIComponent(attempt)}`;
      const answer = await admin.get(url);
      // Not a listed file (404), or not a file name at all (400: a NUL byte).
      expect([400, 404], attempt).toContain(answer.status);
      expect(answer.text, attempt).not.toContain('"content"');
    }
    for (const raw of [
      '/api/mappings/../../gateway.config.json',
      '/api/mappings/..%2F..%2Fgateway.config.json',
      '/api/mappings/%2e%2e/gateway.config.json',
    ]) {
      const answer = await rawGet(raw, admin.cookie!);
      expect([400, 401, 403, 404], raw).toContain(answer.status);
      expect(answer.body, raw).not.toContain('"gateway"');
    }
    const put = await admin.put(`/api/mappings/${encodeURIComponent('../gateway.config.json')}`, {
      content: '{}',
    });
    expect(put.status).toBe(404);
    const validate = await admin.post('/api/mappings/validate', {
      file: '../gateway.config.json',
      content: '{}',
    });
    expect(validate.status).toBe(404);
    expect(readFileSync(fx.demo.file, 'utf8')).toContain('"gateway"');
  });

  it('refuses a matched file that is a symbolic link', async () => {
    const link = path.join(path.dirname(fx.mappingFile), 'link.json');
    symlinkSync(fx.demo.file, link);
    try {
      const answer = await admin.get(`/api/mappings/${encodeURIComponent('mappings/link.json')}`);
      expect(answer.status).toBe(403);
      expect(answer.text).not.toContain('"gateway"');
      const put = await admin.put(`/api/mappings/${encodeURIComponent('mappings/link.json')}`, {
        content: original,
      });
      expect(put.status).toBe(403);
    } finally {
      rmSync(link);
    }
  });
});

describe('validating and saving', () => {
  it('validates an edit and says what would change', async () => {
    const content = withTag({ name: 'pressureRaw', address: 'hr:102', type: 'uint16' });
    const answer = await admin.post('/api/mappings/validate', { file: FILE, content });
    expect(answer.body).toEqual({
      ok: true,
      problems: [],
      summary: {
        tagsAdded: ['press1/pressureRaw'],
        tagsRemoved: [],
        tagsChanged: [],
        devicesRestarted: ['press1'],
        restartNeeded: [],
      },
    });
    expect(readFileSync(fx.mappingFile, 'utf8')).toBe(original);
  });

  it('refuses a bad edit with the lines `tagwire validate` prints, and leaves the file alone', async () => {
    const bad = withTag({ name: 'setpoint', address: 'hr:9999999', type: 'int17', writable: 'yes' });
    const backups = path.join(fx.demo.dir, 'data', 'backups', 'mappings');
    const before = existsSync(backups) ? readdirSync(backups).length : 0;
    const check = await admin.post<{ ok: boolean; problems: Problem[] }>('/api/mappings/validate', {
      file: FILE,
      content: bad,
    });
    expect(check.body.ok).toBe(false);
    const put = await admin.put<{ ok: boolean; error: string; problems: Problem[] }>(
      `/api/mappings/${encodeURIComponent(FILE)}`,
      { content: bad },
    );
    expect(put.status).toBe(422);
    expect(put.body.ok).toBe(false);
    expect(put.body.error).toMatch(/^mappings\/press1\.json not saved: \d+ problems? in the configuration$/);
    expect(put.body.problems).toEqual(check.body.problems);
    expect(readFileSync(fx.mappingFile, 'utf8')).toBe(original);
    expect(existsSync(backups) ? readdirSync(backups).length : 0).toBe(before);

    // The same text on disk, checked by the real command: the same lines.
    writeFileSync(fx.mappingFile, bad);
    try {
      const cli = await run(
        path.join(repoRoot, 'node_modules/.bin/tsx'),
        [path.join(repoRoot, 'src/cli.ts'), 'validate', '-c', fx.demo.file],
        60_000,
      );
      expect(cli.code).toBe(1);
      const lines = cli.stderr.trim().split('\n');
      expect(put.body.problems.map((p) => p.text)).toEqual(lines);
      for (const p of put.body.problems) expect(p.text).toBe(`${p.file}: ${p.pointer}: ${p.message}`);
    } finally {
      writeFileSync(fx.mappingFile, original);
    }
  }, 90_000);

  it('points at the line and column of a JSON syntax error', async () => {
    const answer = await admin.put<{ problems: Problem[] }>(`/api/mappings/${encodeURIComponent(FILE)}`, {
      content: '{\n  "device": "press1"\n  "tags": []\n}\n',
    });
    expect(answer.status).toBe(422);
    expect(answer.body.problems).toHaveLength(1);
    // The missing comma belongs at the end of line 2, after the item it should close.
    expect(answer.body.problems[0]).toMatchObject({ pointer: '/device', line: 2 });
    expect(readFileSync(fx.mappingFile, 'utf8')).toBe(original);
  });

  it('saves a good edit atomically with a backup, applies it at once (no file watching), visible on MQTT', async () => {
    const content = withTag({ name: 'pressureRaw', address: 'hr:102', type: 'uint16', pollMs: 200 });
    const answer = await admin.put<Record<string, unknown>>(`/api/mappings/${encodeURIComponent(FILE)}`, {
      content,
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      ok: true,
      applied: true,
      summary: { tagsAdded: ['press1/pressureRaw'], devicesRestarted: ['press1'] },
    });
    expect(answer.body.message).toMatch(/^saved and applied: 1 tag\(s\) added/);
    expect(readFileSync(fx.mappingFile, 'utf8')).toBe(content);
    const backup = answer.body.backup as string;
    expect(path.dirname(backup)).toBe(path.join(fx.demo.dir, 'data', 'backups', 'mappings'));
    expect(readFileSync(backup, 'utf8')).toBe(original);
    // No temporary file left beside the mapping.
    expect(readdirSync(path.dirname(fx.mappingFile))).toEqual(['press1.json']);

    const message = await waitFor(
      () => received.find((m) => m.topic === `${PRESS}/pressureRaw`),
      20_000,
      'the new tag on MQTT',
    );
    expect(JSON.parse(message.payload)).toMatchObject({ quality: 'good', value: expect.any(Number) });
    const tags = await admin.get<{ items: Array<{ name: string }> }>('/api/tags?device=press1');
    expect(tags.body.items.map((t) => t.name)).toContain('pressureRaw');
    const list = await admin.get('/api/mappings');
    expect(list.body).toEqual([{ file: FILE, device: 'press1', tags: 8 }]);
  }, 60_000);
});

describe('saving while the gateway also watches its files', () => {
  it('applies the edit once: the watcher finds nothing left to do', async () => {
    const watched = await startHttpGateway({ gateway: { watch: true, watchDebounceMs: 100 } });
    try {
      const client = await loggedIn(watched.base, 'admin');
      const before = readFileSync(watched.mappingFile, 'utf8');
      const mapping = JSON.parse(before) as { tags: Array<Record<string, unknown>> };
      mapping.tags.push({ name: 'extra', address: 'hr:103', type: 'uint16' });
      const answer = await client.put<{ applied: boolean }>(`/api/mappings/${encodeURIComponent(FILE)}`, {
        content: JSON.stringify(mapping, null, 2),
      });
      expect(answer.status).toBe(200);
      expect(answer.body.applied).toBe(true);
      await waitFor(
        async () => {
          const tags = await client.get<{ items: Array<{ name: string; value?: unknown }> }>(
            '/api/tags?q=extra',
          );
          return tags.body.items[0]?.value !== undefined;
        },
        20_000,
        'a value for the new tag',
      );
      const devices = await client.get<Array<{ state: string }>>('/api/devices');
      expect(devices.body.map((d) => d.state)).toEqual(['connected']);
    } finally {
      await watched.stop();
    }
  }, 90_000);
});
