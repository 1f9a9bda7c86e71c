// The simulator thread's logger: entries cross as plain data (Error objects kept by structured
// clone) and are logged by the parent's DriverLogger under the same child bindings and level.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { postingLogger, relayEntry, type RelayedEntry } from '../../../drivers/opcua/simulator/log-relay.js';

describe('simulator log relay', () => {
  it('posts what the parent level lets through and logs it there with bindings and fields', () => {
    const lines: Array<Record<string, unknown>> = [];
    const parent = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const posted: RelayedEntry[] = [];
    const thread = postingLogger(parent.level, (entry) => posted.push(structuredClone(entry)));

    thread.debug('dropped in the thread');
    thread.child({ sim: 'oven' }).warn({ port: 4840, err: new Error('busy') }, 'cannot listen');
    thread.info('plain');
    expect(posted.map((e) => e.level)).toEqual(['warn', 'info']);

    for (const entry of posted) relayEntry(parent, entry);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ level: 40, sim: 'oven', port: 4840, msg: 'cannot listen' });
    expect(lines[0]!.err).toMatchObject({ type: 'Error', message: 'busy' });
    expect(lines[1]).toMatchObject({ level: 30, msg: 'plain' });
    expect(lines[1]).not.toHaveProperty('sim');
  });

  it('posts nothing for a silent parent', () => {
    const posted: RelayedEntry[] = [];
    const thread = postingLogger('silent', (entry) => posted.push(entry));
    thread.error('nobody listens');
    expect(posted).toEqual([]);
  });
});
