// A newcomer's slips, each reported as one precise line: a trailing comma where it stands, a key
// given twice with both places, an address in words with examples, and an unknown key that does not
// hide the other problems of its object.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, displayPath, formatProblem, loadConfig } from '../../src/config/load.js';
import { patternWords } from '../../src/config/ajv-errors.js';
import { commonSchemas } from '../../src/config/schema.js';
import { builtinDrivers } from '../../drivers/index.js';
import { repoRoot } from '../helpers/demo-config.js';
import { run } from '../helpers/mosquitto.js';
import { baseConfig, pressMapping, workspace, type Workspace } from './fixtures.js';

let ws: Workspace;
afterEach(() => ws?.remove());

async function lines(configFile: string): Promise<string[]> {
  try {
    await loadConfig(configFile);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map(formatProblem);
    throw err;
  }
  return [];
}

/** The demo config as a person edits it: pretty-printed, a bridge added by hand. */
function demoWithBridge(bridgeBlock: string): string {
  const demo = readFileSync(path.join(repoRoot, 'gateway.config.json'), 'utf8');
  return demo.replace('"bridges": [],', bridgeBlock);
}

describe('JSON slips', () => {
  it('reports a trailing comma at its own line and column, not at the end of the file', async () => {
    ws = workspace();
    ws.write('mappings/m.json', pressMapping());
    const text = demoWithBridge(
      [
        '"bridges": [',
        '    {',
        '      "name": "plant",',
        '      "url": "mqtt://127.0.0.1:1884",',
        '      "out": [{ "filter": "acme/#" }],',
        '    }',
        '  ],',
      ].join('\n'),
    ).replace('"mappings": ["mappings/*.json"]', '"mappings": ["mappings/m.json"]');
    const file = ws.write('gateway.config.json', text);
    const commaLine = text.split('\n').findIndex((l) => l.includes('"out": [{')) + 1;
    const commaColumn = text.split('\n')[commaLine - 1]!.lastIndexOf(',') + 1;
    expect(await lines(file)).toEqual([
      `${file}: /bridges/0/out: invalid JSON at line ${commaLine}, column ${commaColumn}: trailing comma before "}" (JSON allows no comma after the last item: remove it)`,
    ]);
  });

  it('reports a key given twice in one object with both places', async () => {
    ws = workspace();
    ws.write('mappings/m.json', pressMapping());
    const text = JSON.stringify(baseConfig(), null, 2).replace(
      '"mappings": [',
      '"bridges": [{ "name": "plant", "url": "mqtt://127.0.0.1:1884" }],\n  "mappings": [',
    );
    const withOld = text.replace(/\n}\s*$/, ',\n  "bridges": []\n}\n');
    const file = ws.write('gateway.config.json', withOld);
    const at = (needle: string): number => withOld.split('\n').findIndex((l) => l.includes(needle)) + 1;
    expect(await lines(file)).toEqual([
      `${file}: /bridges: key "bridges" is given twice in one object, at line ${at('"bridges": [{')}, column 3 and at line ${at('"bridges": []')}, column 3; JSON keeps only the last: remove one`,
    ]);
  });

  it('reports duplicate keys in a mapping too', async () => {
    ws = workspace();
    const tagLine = '    { "name": "t", "address": "hr:1", "type": "int16", "unit": "bar", "unit": "degC" }';
    const mapping = ws.write(
      'mappings/m.json',
      `{\n  "device": "press1",\n  "topic": "acme/p1",\n  "tags": [\n${tagLine}\n  ]\n}\n`,
    );
    const file = ws.write('gateway.config.json', baseConfig());
    const first = tagLine.indexOf('"unit"') + 1;
    const second = tagLine.lastIndexOf('"unit"') + 1;
    expect(await lines(file)).toEqual([
      `${displayPath(mapping)}: /tags/0/unit: key "unit" is given twice in one object, at line 5, column ${first} and at line 5, column ${second}; JSON keeps only the last: remove one`,
    ]);
  });
});

describe('schema slips', () => {
  it('says what an address looks like, in words with examples, not as a regular expression', async () => {
    ws = workspace();
    ws.write('mappings/m.json', pressMapping({ tags: [{ name: 't', address: 'hr100', type: 'int16' }] }));
    const file = ws.write('gateway.config.json', baseConfig());
    const found = await lines(file);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/\/tags\/0\/address: must be a Modbus address: .*got "hr100"$/);
    for (const example of ['"hr:100"', '"hr:100.3"', '"40101"']) expect(found[0]).toContain(example);
    expect(found[0]).not.toMatch(/\^|\(\?:/);
  });

  it('says what a node id looks like for OPC UA tags', async () => {
    ws = workspace();
    ws.write('mappings/m.json', {
      device: 'oven1',
      topic: 'acme/oven1',
      tags: [{ name: 't', address: 'Oven.Temperature' }],
    });
    const file = ws.write(
      'gateway.config.json',
      baseConfig({ devices: [{ id: 'oven1', driver: 'opcua', endpointUrl: 'opc.tcp://127.0.0.1:4840' }] }),
    );
    const found = await lines(file);
    expect(found).toHaveLength(1);
    expect(found[0]).toContain('must be an OPC UA node id');
    expect(found[0]).toContain('"ns=2;s=Oven.Temperature"');
  });

  it('reports an unknown key and the other problems of the same tag', async () => {
    ws = workspace();
    ws.write(
      'mappings/m.json',
      pressMapping({
        tags: [
          { name: 'ok', address: 'hr:1', type: 'int16' },
          { name: 'lamp', address: 'coil:3', type: 'float32', unti: 'degC' },
        ],
      }),
    );
    const file = ws.write('gateway.config.json', baseConfig());
    const found = await lines(file);
    const name = displayPath(ws.file('mappings/m.json'));
    expect(found).toHaveLength(2);
    expect(found).toContain(`${name}: /tags/1: unknown key "unti" (did you mean "unit"?)`);
    expect(found.find((l) => l.startsWith(`${name}: /tags/1/type:`))).toMatch(/bool/);
  });

  it('has words for every pattern of every schema', () => {
    const missing: string[] = [];
    const walk = (node: unknown, where: string): void => {
      if (Array.isArray(node)) node.forEach((child, i) => walk(child, `${where}/${i}`));
      else if (node && typeof node === 'object') {
        const schema = node as Record<string, unknown>;
        if (typeof schema.pattern === 'string' && !patternWords(schema)) missing.push(where);
        for (const [key, child] of Object.entries(schema))
          if (key !== 'errorMessage') walk(child, `${where}/${key}`);
      }
    };
    for (const schema of [...commonSchemas, ...builtinDrivers.flatMap((d) => Object.values(d.schemas))])
      walk(schema, String((schema as { $id?: string }).$id));
    expect(missing).toEqual([]);
  });
});

describe('tagwire validate', () => {
  it('prints one line for one slip', async () => {
    ws = workspace();
    ws.write('mappings/m.json', pressMapping());
    const file = ws.write(
      'gateway.config.json',
      JSON.stringify(baseConfig(), null, 2).replace(
        '"mappings": [',
        '"mappings": [\n    "mappings/*.json",,',
      ),
    );
    const out = await run(path.join(repoRoot, 'node_modules/.bin/tsx'), [
      path.join(repoRoot, 'src/cli.ts'),
      'validate',
      '-c',
      file,
    ]);
    expect(out.code).toBe(1);
    expect(out.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /gateway\.config\.json: \/mappings\/1: invalid JSON at line \d+, column \d+: expected a value, found ","$/,
      ),
    ]);
  });
});
