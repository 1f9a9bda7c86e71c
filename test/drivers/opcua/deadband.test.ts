// Server-side data-change filters: absolute and percent deadbands drop small changes at the server;
// a percent deadband on a node without an EURange is refused with the server's reason.
import { beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../helpers/net.js';
import { simAndDriver, tag } from './harness.js';

const fastItem = { pollMs: 50, writable: true };
const oven = simAndDriver('deadband', { id: 'db', publishingIntervalMs: 50 }, [
  tag('all', 'ns=2;s=Types.Double', fastItem),
  tag('absolute', 'ns=2;s=Types.Double', { ...fastItem, deadbandType: 'absolute', deadbandValue: 1 }),
  tag('spAll', 'ns=2;s=Oven.Setpoint', fastItem),
  tag('percent', 'ns=2;s=Oven.Setpoint', { ...fastItem, deadbandType: 'percent', deadbandValue: 10 }),
  tag('noRange', 'ns=2;s=Types.Double', { ...fastItem, deadbandType: 'percent', deadbandValue: 10 }),
]);
const { rec } = oven;

beforeAll(() => waitFor(() => oven.driver.status().state === 'connected', 60_000, 'connected'), 90_000);

const seen = (name: string, from: number) =>
  rec.samples
    .slice(from)
    .filter((s) => s.tag === name && s.quality === 'good')
    .map((s) => s.value);

/**
 * Writes each value through the unfiltered tag `all` and waits until `all` reports it, and the
 * filtered tag too where the value should pass its band: each write is a change of its own, however
 * slow the machine. A value wrongly let through would still show up before the next passing one.
 */
async function writeSeries(all: string, filtered: string, series: Array<[value: number, passes: boolean]>) {
  for (const [value, passes] of series) {
    const from = rec.samples.length;
    expect(await oven.driver.write(all, value)).toMatchObject({ ok: true });
    await waitFor(() => seen(all, from).includes(value), 10_000, `${all} = ${value}`);
    if (passes) await waitFor(() => seen(filtered, from).includes(value), 10_000, `${filtered} = ${value}`);
  }
}

describe('deadbands', { timeout: 60_000 }, () => {
  it('absolute: changes within the band are not reported', async () => {
    await writeSeries('all', 'absolute', [[10, true]]);
    const from = rec.samples.length;
    await writeSeries('all', 'absolute', [
      [10.5, false],
      [11.2, true],
      [11.5, false],
      [20, true],
    ]);
    expect(seen('all', from)).toEqual([10.5, 11.2, 11.5, 20]);
    expect(seen('absolute', from)).toEqual([11.2, 20]);
  });

  it('percent: of the EURange (setpoint 0..300, 10% = 30)', async () => {
    await writeSeries('spAll', 'percent', [[100, true]]);
    const from = rec.samples.length;
    await writeSeries('spAll', 'percent', [
      [110, false],
      [125, false],
      [140, true],
    ]);
    expect(seen('spAll', from)).toEqual([110, 125, 140]);
    expect(seen('percent', from)).toEqual([140]);
  });

  it('percent without an EURange: bad, with the server status name', () => {
    const s = rec.samples.find((x) => x.tag === 'noRange');
    expect(s).toMatchObject({ quality: 'bad', reason: expect.stringMatching(/^Bad/) });
  });
});
