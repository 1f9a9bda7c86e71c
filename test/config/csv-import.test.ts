import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { importCsv } from '../../src/config/csv-import.js';
import { loadConfig } from '../../src/config/load.js';
import { main } from '../../src/cli/import.js';
import { baseConfig, workspace, type Workspace } from './fixtures.js';

const options = { device: 'press1', driver: 'modbus', topic: 'acme/{device}' };

describe('CSV import', () => {
  it('reads the usual PLC export columns in any order, with ; and decimal commas', () => {
    const csv = [
      'Tag Name;Data Type;Address;Scale;Unit;Writable;Min;Max;Comment',
      'temperature;float32;hr:100;;degC;no;;;oil temperature',
      'pressure;uint16;hr:102;0,1;bar;;;;',
      'setpoint;int16;hr:200;1;degC;RW;0;500;',
      'running;bool;coil:0;;;yes;;;',
    ].join('\r\n');
    const result = importCsv(csv, options);
    expect(result).toEqual({
      ok: true,
      tags: 4,
      mapping: {
        device: 'press1',
        topic: 'acme/{device}',
        tags: [
          {
            name: 'temperature',
            address: 'hr:100',
            type: 'float32',
            unit: 'degC',
            description: 'oil temperature',
          },
          { name: 'pressure', address: 'hr:102', type: 'uint16', scale: 0.1, unit: 'bar' },
          {
            name: 'setpoint',
            address: 'hr:200',
            type: 'int16',
            scale: 1,
            min: 0,
            max: 500,
            unit: 'degC',
            writable: true,
          },
          { name: 'running', address: 'coil:0', type: 'bool', writable: true },
        ],
      },
    });
  });

  it('reports every problem with its line', () => {
    const csv = [
      'name,address,type,scale,writable',
      'a,hr:1,int16,,',
      '',
      'b,hr:2,int17,,',
      'c,hr:3,int16,abc,maybe',
      'a,hr:4,int16,,',
      'd,xx:1,int16,,',
    ].join('\n');
    const result = importCsv(csv, options);
    expect(result).toEqual({
      ok: false,
      problems: [
        {
          line: 4,
          message:
            'column "type": must be one of "bool", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64", "string", got "int17"',
        },
        { line: 5, message: 'column "scale": "abc" is not a number' },
        { line: 5, message: 'column "writable": "maybe" is not yes/no, true/false, 1/0 or R/RW' },
        { line: 6, message: 'duplicate tag name "a" (first on line 2)' },
        {
          line: 7,
          message: expect.stringMatching(
            /^column "address": must be a Modbus address: .*\("hr:100"\).*\("hr:100\.3"\).*"40101".*got "xx:1"$/,
          ),
        },
      ],
    });
  });

  it('needs name and address columns and at least one tag', () => {
    expect(importCsv('tag,type\nx,int16\n', options)).toEqual({
      ok: false,
      problems: [{ line: 1, message: 'no "address" column in the header' }],
    });
    expect(importCsv('name,address\n', options)).toEqual({
      ok: false,
      problems: [{ line: 2, message: 'no tags below the header' }],
    });
    expect(importCsv('name,address\n"x,hr:1\n', options)).toMatchObject({
      ok: false,
      problems: [{ line: 2 }],
    });
  });
});

describe('tagwire import', () => {
  let ws: Workspace;
  beforeEach(() => {
    ws = workspace();
  });
  afterEach(() => ws.remove());

  it('writes a mapping file that the gateway loads', async () => {
    const csv = ws.write(
      'tags.csv',
      'name,address,type,unit,writable,min,max\nsetpoint,hr:200,int16,degC,1,0,500\nspeed,hr:10,uint16,rpm,,,\n',
    );
    const out = ws.file('mappings/press1.json');
    ws.write('mappings/.keep', '');
    expect(await main([csv, '--device', 'press1', '--topic', 'acme/{device}', '--out', out])).toBe(0);
    expect(await main([csv, '--device', 'press1', '--out', out])).toBe(1);
    ws.write('gateway.config.json', baseConfig());
    const { mappings } = await loadConfig(ws.file('gateway.config.json'));
    expect(mappings[0]!.tags.map((t) => [t.topic, t.writable, t.max])).toEqual([
      ['acme/press1/setpoint', true, 500],
      ['acme/press1/speed', false, undefined],
    ]);
    expect(JSON.parse(readFileSync(out, 'utf8'))).toMatchObject({ device: 'press1' });
  });

  it('exits 1 on a broken CSV', async () => {
    const csv = ws.write('tags.csv', 'name,address,type\nx,hr:1,int99\n');
    expect(await main([csv, '--device', 'press1'])).toBe(1);
  });
});
