// The gateway's heap policy from TAGWIRE_HEAP_GROWTH_PERCENT (src/ops/heap-policy.ts); its effect
// on memory is measured by `npm run bench:modbus-100k`, not here.
import { describe, expect, it } from 'vitest';
import { DEFAULT_HEAP_GROWTH_PERCENT, HEAP_GROWTH_ENV, heapPolicyFrom } from '../../src/ops/heap-policy.js';
import { tagwire } from './cli.js';

describe('heap policy', () => {
  it('defaults to a fixed growth, takes a whole percentage, 0 for V8 own heuristic', () => {
    expect(heapPolicyFrom({})).toEqual({ percent: DEFAULT_HEAP_GROWTH_PERCENT });
    expect(heapPolicyFrom({ [HEAP_GROWTH_ENV]: ' ' })).toEqual({ percent: DEFAULT_HEAP_GROWTH_PERCENT });
    expect(heapPolicyFrom({ [HEAP_GROWTH_ENV]: '0' })).toEqual({ percent: 0 });
    expect(heapPolicyFrom({ [HEAP_GROWTH_ENV]: '60' })).toEqual({ percent: 60 });
  });

  it.each(['abc', '-5', '1.5', '401', '25%'])('refuses %j, naming the variable and the value', (value) => {
    const result = heapPolicyFrom({ [HEAP_GROWTH_ENV]: value });
    expect(result).toEqual({ error: expect.stringContaining(HEAP_GROWTH_ENV) as string });
    expect((result as { error: string }).error).toContain(JSON.stringify(value));
  });

  it('tagwire start refuses a bad value before it starts anything', async () => {
    const run = await tagwire(['start', '--no-simulators'], {
      env: { [HEAP_GROWTH_ENV]: 'lots' },
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`tagwire: not started: ${HEAP_GROWTH_ENV}: must be a whole number`);
    expect(run.stderr).toContain('"lots"');
  });
});
