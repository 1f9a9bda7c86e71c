// PUBACKs that wait for the same durable commit (a bridge outbox's group commit) are written
// together once it resolves, in the order the publishes came; a commit that fails refuses every
// publish that waited for it, and the next commit's publishes are acknowledged again.
import { afterEach, describe, expect, it } from 'vitest';
import { NotStoredError } from '../../src/broker/api.js';
import { waitFor } from '../helpers/net.js';
import { closeClients, connect, startBroker, type TestBroker } from './helpers.js';

/** A commit the test settles by hand. */
function gate(): { promise: Promise<void>; resolve(): void; reject(err: Error): void } {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

describe('acknowledgements grouped by commit', () => {
  let server: TestBroker | undefined;
  afterEach(async () => {
    await closeClients();
    await server?.stop();
    server = undefined;
  });

  it('writes each commit’s PUBACKs once it settles, in publish order, refusals included', async () => {
    server = await startBroker();
    let current = gate();
    let taken = 0;
    server.broker.subscribeDurable('g/#', () => {
      taken++;
      return current.promise;
    });
    const client = await connect(server.url, { protocolVersion: 5, clientId: 'grouped' });
    const answers: { n: number; code: number }[] = [];
    const publish = (n: number) =>
      client.publish(`g/${n}`, String(n), { qos: 1 }, (err) =>
        answers.push({ n, code: err ? ((err as Error & { code?: number }).code ?? -1) : 0 }),
      );

    const first = current;
    for (let n = 0; n < 5; n++) publish(n);
    await waitFor(() => taken === 5, 5000, 'the first five taken');
    current = gate();
    const second = current;
    for (let n = 5; n < 8; n++) publish(n);
    await waitFor(() => taken === 8, 5000, 'the next three taken');
    current = gate();
    const third = current;
    for (let n = 8; n < 10; n++) publish(n);
    await waitFor(() => taken === 10, 5000, 'the last two taken');
    expect(answers).toEqual([]); // nothing acknowledged before its commit

    // The later commits settle first: their acks still wait behind the first commit's (an ack sent
    // early would arrive before 0..4 and break the order checked below).
    third.resolve();
    second.reject(new NotStoredError('quota', 'outbox full'));
    first.resolve();
    await waitFor(() => answers.length === 10, 5000, 'every publish answered');
    expect(answers.map((a) => a.n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(answers.map((a) => a.code)).toEqual([0, 0, 0, 0, 0, 0x97, 0x97, 0x97, 0, 0]);
  });
});
