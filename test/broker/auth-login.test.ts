// Logins under attack: a reconnect storm costs one scrypt, a password flood from one address does
// not keep others out, unknown users cost the same work as wrong passwords, failing logins are
// locked with exponential backoff, and the failure log names the user, never the password.
import { Writable } from 'node:stream';
import type { IConnackPacket } from 'mqtt-packet';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { hashPassword, unmatchableHash, verifyPassword } from '../../src/broker/auth/password.js';
import { CheckPool } from '../../src/broker/auth/check-pool.js';
import { LogLimiter } from '../../src/broker/auth/log-limiter.js';
import type { Logger } from '../../src/log.js';
import { run } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/net.js';
import {
  brokersPerTest,
  connect,
  connectPacket,
  packet,
  parsePackets,
  rawSocket,
  type TestBroker,
} from './helpers.js';

const { start } = brokersPerTest();
const broker = (raw: Record<string, unknown>, log = pino({ level: 'silent' })): Promise<TestBroker> =>
  start(raw, undefined, log);

/** Sends a CONNECT on a raw socket (from `localAddress` when given) and returns the CONNACK. */
async function connackFor(
  b: TestBroker,
  username: string,
  password: string,
  localAddress?: string,
): Promise<IConnackPacket> {
  const s = await rawSocket(b.port, localAddress);
  s.write(
    connectPacket(`raw-${Math.random().toString(36).slice(2)}`, {
      protocolVersion: 5,
      username,
      password: Buffer.from(password),
    }),
  );
  await waitFor(() => parsePackets(s.all(), 5).length > 0, 20_000, 'CONNACK');
  s.socket.destroy();
  return parsePackets(s.all(), 5)[0] as IConnackPacket;
}

/** Mosquitto's own client, bound to `bindAddress`, publishing once: exit code 0 means it got in. */
function mosquittoPub(b: TestBroker, username: string, password: string, bindAddress: string) {
  return run('mosquitto_pub', [
    ...['-h', '127.0.0.1', '-p', String(b.port), '-A', bindAddress, '-V', '5'],
    ...['-u', username, '-P', password, '-t', 'login/check', '-m', 'in', '-q', '1'],
  ]);
}

/** 300 clients of the account plc / storm-pw at once: how many got in, and how long it took. */
async function storm(b: TestBroker, prefix: string): Promise<{ inside: number; elapsed: number }> {
  const started = Date.now();
  const clients = await Promise.allSettled(
    Array.from({ length: 300 }, (_, i) =>
      connect(b.url, {
        username: 'plc',
        password: 'storm-pw',
        clientId: `${prefix}-${i}`,
        connectTimeout: 30_000,
      }),
    ),
  );
  return { inside: clients.filter((c) => c.status === 'fulfilled').length, elapsed: Date.now() - started };
}

describe('a reconnect storm', () => {
  it('lets 300 simultaneous logins of one account in after a fresh start, for one scrypt', async () => {
    // Every client comes from 127.0.0.1 here; the per-address CONNECT rate is a separate limit.
    const b = await broker({
      users: [{ username: 'plc', passwordHash: await hashPassword('storm-pw') }],
      limits: { connectRatePerAddress: 0 },
    });
    const { inside, elapsed } = await storm(b, 'storm');
    const counters = b.broker.authenticator.counters;
    console.log(
      `storm: ${inside}/300 in after ${elapsed} ms, ${counters.scrypts} scrypt, ` +
        `${counters.merged} merged, ${counters.cacheHits} cached`,
    );
    expect(inside).toBe(300);
    expect(counters.scrypts).toBe(1);
    expect(counters.merged + counters.cacheHits).toBe(299);
  }, 60_000);
});

describe('a reconnect storm under the default per-address CONNECT rate', () => {
  it('lets every client in at the rate (none refused), still for one scrypt', async () => {
    const b = await broker({ users: [{ username: 'plc', passwordHash: await hashPassword('storm-pw') }] });
    const { inside, elapsed } = await storm(b, 'paced');
    console.log(`storm at 100 CONNECT/s per address: ${inside}/300 in after ${elapsed} ms`);
    expect(inside).toBe(300);
    expect(b.broker.authenticator.counters.scrypts).toBe(1);
  }, 60_000);

  it('refuses CONNECTs beyond the backlog it may hold (v5 0x9F)', async () => {
    const b = await broker({ limits: { connectRatePerAddress: 5, connectWaitMs: 1000 } });
    const sockets = await Promise.all(Array.from({ length: 20 }, () => rawSocket(b.port)));
    sockets.forEach((s, i) => s.write(connectPacket(`held-${i}`, { protocolVersion: 5 })));
    await waitFor(() => sockets.every((s) => parsePackets(s.all(), 5).length > 0), 10_000, '20 CONNACKs');
    const codes = sockets.map((s) => (parsePackets(s.all(), 5)[0] as IConnackPacket).reasonCode);
    // 5 at once, up to 5 more held over the next second, the rest refused (a few more if the bucket
    // refilled meanwhile). A held CONNECT whose second runs out on a stalled machine is refused
    // too, so only the burst is certain to get in.
    const accepted = codes.filter((c) => c === 0).length;
    expect(accepted).toBeGreaterThanOrEqual(5);
    expect(accepted).toBeLessThan(20);
    expect(codes.every((c) => c === 0 || c === 0x9f)).toBe(true);
  });
});

describe('a password flood from one address', () => {
  it('does not keep other users, or the attacked account from elsewhere, out', async () => {
    const b = await broker({
      users: [
        { username: 'ops', passwordHash: await hashPassword('ops-pw') },
        { username: 'hmi', passwordHash: await hashPassword('hmi-pw') },
        { username: 'probe', passwordHash: await hashPassword('probe-pw') },
      ],
    });
    const auth = b.broker.authenticator;
    // For comparison: one fresh login with nobody else around (this machine, this moment).
    let t = Date.now();
    await connect(b.url, { username: 'probe', password: 'probe-pw' });
    const quietMs = Date.now() - t;
    // 50 wrong passwords a second for 'ops' from 127.0.0.1, each a different guess.
    let guesses = 0;
    let refused = 0;
    let flooding = true;
    const flood = (async () => {
      while (flooding) {
        const n = guesses++;
        void rawSocket(b.port)
          .then((s) => {
            s.write(connectPacket(`guess-${n}`, { username: 'ops', password: Buffer.from(`guess-${n}`) }));
            s.socket.once('data', () => {
              refused++;
              s.socket.destroy();
            });
          })
          .catch(() => undefined);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    try {
      await waitFor(() => auth.counters.refusedLocked > 20, 20_000, 'the flood to be locked');
      // A user from the same address, with a check of its own (never cached).
      t = Date.now();
      await connect(b.url, { username: 'hmi', password: 'hmi-pw', connectTimeout: 10_000 });
      const hmiMs = Date.now() - t;
      // The attacked account itself, from another address (Mosquitto's client, bound to 127.0.0.2).
      t = Date.now();
      const ops = await mosquittoPub(b, 'ops', 'ops-pw', '127.0.0.2');
      const opsMs = Date.now() - t;
      expect(ops.stderr).toBe('');
      expect(ops.code).toBe(0);
      console.log(
        `flood: ${guesses} guesses (${refused} answered), ${auth.counters.scrypts} scrypts in all, ` +
          `${auth.counters.refusedLocked} refused as locked; hmi in after ${hmiMs} ms, ops from 127.0.0.2 after ` +
          `${opsMs} ms (mosquitto_pub run included); a login with no flood took ${quietMs} ms`,
      );
      // The guesser bought its free failures and one per lock expiry, not one per guess.
      expect(auth.counters.scrypts).toBeLessThanOrEqual(1 + 5 + 3 + 2);
    } finally {
      flooding = false;
      await flood;
    }
  }, 60_000);
});

describe('an unknown user', () => {
  it('costs the same work as a known user with a wrong password: one scrypt, the same answer', async () => {
    const b = await broker({ users: [{ username: 'ops', passwordHash: await hashPassword('ops-pw') }] });
    const counters = b.broker.authenticator.counters;
    const before = counters.scrypts;
    const known = await connackFor(b, 'ops', 'wrong');
    const afterKnown = counters.scrypts;
    const unknown = await connackFor(b, 'ghost', 'wrong');
    const afterUnknown = counters.scrypts;
    expect(known.reasonCode).toBe(0x86);
    expect(unknown.reasonCode).toBe(0x86);
    expect(unknown.properties?.reasonString).toBe(known.properties?.reasonString);
    expect(afterKnown - before).toBe(1);
    expect(afterUnknown - afterKnown).toBe(1);

    // Concurrent identical attempts merge the same way for both.
    const auth = b.broker.authenticator;
    const pairs = await Promise.all([
      auth.verify('ops', 'again', { address: '10.0.0.1' }),
      auth.verify('ops', 'again', { address: '10.0.0.1' }),
      auth.verify('nobody', 'again', { address: '10.0.0.2' }),
      auth.verify('nobody', 'again', { address: '10.0.0.2' }),
    ]);
    expect(pairs.map((r) => r.ok || r.reason)).toEqual(Array(4).fill('bad-credentials'));
    expect(counters.scrypts - afterUnknown).toBe(2);
    expect(counters.merged).toBe(2);
  });
});

describe('the dummy hash of unknown users', () => {
  it('has the cost of a configured hash and matches no password', async () => {
    const like = await hashPassword('x');
    const cheaper = like.replace(/^scrypt\$15\$/, 'scrypt$12$');
    expect(unmatchableHash(cheaper).split('$').slice(0, 4)).toEqual(['scrypt', '12', '8', '1']);
    expect(unmatchableHash().split('$').slice(0, 4)).toEqual(like.split('$').slice(0, 4));
    expect(await verifyPassword('x', unmatchableHash(like))).toBe(false);
    expect(await verifyPassword('', unmatchableHash(like))).toBe(false);
  });
});

describe('lockout with exponential backoff', () => {
  const lockout = { freeFailures: 3, addressFreeUsernames: 3, baseDelayMs: 300, maxDelayMs: 1000 };

  it('locks a username at one address after its free failures, correct password or not', async () => {
    const b = await broker({
      users: [{ username: 'ops', passwordHash: await hashPassword('ops-pw') }],
      login: { lockout },
    });
    const counters = b.broker.authenticator.counters;
    for (let i = 0; i < 3; i++) expect((await connackFor(b, 'ops', `bad-${i}`)).reasonCode).toBe(0x86);
    const scrypts = counters.scrypts;
    const locked = await connackFor(b, 'ops', 'ops-pw');
    expect(locked.reasonCode).toBe(0x9f);
    expect(locked.properties?.reasonString).toMatch(/^too many failed logins: retry in 1 s$/);
    expect(counters.scrypts).toBe(scrypts); // a locked attempt costs nothing
    // The same account from another address is not locked.
    expect((await connackFor(b, 'ops', 'ops-pw', '127.0.0.2')).reasonCode).toBe(0);
    // Once the lock ends, the right password gets in again.
    await waitFor(
      async () => (await connackFor(b, 'ops', 'ops-pw')).reasonCode === 0,
      10_000,
      'the lock to end',
    );
  });

  it('doubles the lock with each further failure, up to its ceiling', async () => {
    const b = await broker({
      users: [{ username: 'ops', passwordHash: await hashPassword('ops-pw') }],
      login: { lockout },
    });
    const auth = b.broker.authenticator;
    const at = { address: '10.1.0.1' };
    const locks: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await auth.verify('ops', `bad-${i}`, at);
      if (!r.ok) locks.push(r.retryAfterMs);
    }
    expect(locks).toEqual([0, 0, 300]);
    for (const expected of [600, 1000, 1000]) {
      // While locked every attempt is refused at once; the first after the lock is checked again.
      const r = await waitFor(
        async () => {
          const res = await auth.verify('ops', 'bad-again', at);
          return !res.ok && res.reason === 'bad-credentials' ? res : null;
        },
        10_000,
        'the lock to end',
      );
      expect(r.retryAfterMs).toBe(expected);
    }
  });

  it('locks an address failing with many usernames for new checks, not for verified credentials', async () => {
    const b = await broker({
      users: [
        { username: 'ops', passwordHash: await hashPassword('ops-pw') },
        { username: 'hmi', passwordHash: await hashPassword('hmi-pw') },
      ],
      login: { lockout },
    });
    const auth = b.broker.authenticator;
    const sprayer = { address: '10.2.0.1' };
    expect(await auth.verify('ops', 'ops-pw', { address: '10.2.0.2' })).toEqual({
      ok: true,
      username: 'ops',
    });
    for (const name of ['a', 'b', 'c']) await auth.verify(name, 'x', sprayer);
    expect(await auth.verify('hmi', 'hmi-pw', sprayer)).toMatchObject({ ok: false, reason: 'locked' });
    expect(await auth.verify('ops', 'ops-pw', sprayer)).toEqual({ ok: true, username: 'ops' });
    // A device failing over and over with one stale password does not lock its address.
    const plant = { address: '10.3.0.1' };
    for (let i = 0; i < 3; i++) await auth.verify('stale', 'old', plant);
    expect(await auth.verify('hmi', 'hmi-pw', plant)).toEqual({ ok: true, username: 'hmi' });
  });
});

describe('verified credentials', () => {
  it('are remembered until the user changes in the config', async () => {
    const b = await broker({ users: [{ username: 'ops', passwordHash: await hashPassword('old-pw') }] });
    const auth = b.broker.authenticator;
    const at = { address: '10.4.0.1' };
    expect((await auth.verify('ops', 'old-pw', at)).ok).toBe(true);
    expect((await auth.verify('ops', Buffer.from('old-pw'), at)).ok).toBe(true);
    expect(auth.counters).toMatchObject({ scrypts: 1, cacheHits: 1 });
    auth.setUsers([{ username: 'ops', passwordHash: await hashPassword('new-pw') }]);
    expect(await auth.verify('ops', 'old-pw', at)).toMatchObject({ ok: false, reason: 'bad-credentials' });
    expect((await auth.verify('ops', 'new-pw', at)).ok).toBe(true);
    expect(auth.counters.scrypts).toBe(3);
  });
});

describe('the CONNECT timeout', () => {
  it('does not drop a client whose password check waits in the queue', async () => {
    const users = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => ({
        username: `u${i}`,
        passwordHash: await hashPassword(`pw-${i}`),
      })),
    );
    const b = await broker({ users, login: { workers: 1 }, limits: { connectTimeoutMs: 100 } });
    const clients = await Promise.allSettled(
      users.map((u, i) => connect(b.url, { username: u.username, password: `pw-${i}` })),
    );
    expect(clients.map((c) => c.status)).toEqual(Array(8).fill('fulfilled'));
    expect(b.broker.authenticator.counters.scrypts).toBe(8);
  }, 30_000);
});

describe('packets sent behind a waiting CONNECT', () => {
  it('are held up to a bound, then the connection is closed', async () => {
    // One CONNECT per second from this address: the second one waits its turn.
    const b = await broker({ limits: { connectRatePerAddress: 1, connectWaitMs: 5000 } });
    await connect(b.url, { clientId: 'first' });
    const s = await rawSocket(b.port);
    const ping = packet({ cmd: 'pingreq' });
    s.write(Buffer.concat([connectPacket('second'), ...Array.from({ length: 1001 }, () => ping)]));
    await s.ended;
    expect(parsePackets(s.all())).toEqual([]);
    expect(b.broker.stats().protocolErrors).toBe(1);
  });

  it('are handled once the CONNECT is accepted', async () => {
    const b = await broker({ limits: { connectRatePerAddress: 1, connectWaitMs: 5000 } });
    await connect(b.url, { clientId: 'first' });
    const s = await rawSocket(b.port);
    const ping = packet({ cmd: 'pingreq' });
    s.write(Buffer.concat([connectPacket('second'), ...Array.from({ length: 10 }, () => ping)]));
    await waitFor(() => parsePackets(s.all()).length === 11, 10_000, 'CONNACK and 10 PINGRESPs');
    expect(parsePackets(s.all()).map((p) => p.cmd)).toEqual(['connack', ...Array(10).fill('pingresp')]);
  });
});

/** An info-level logger whose lines (JSON, one each) the test reads. */
function capturedLog(): { lines: string[]; log: Logger } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return { lines, log: pino({ level: 'info' }, sink) };
}

describe('the login failure log', () => {
  it('names the user and address, never the password, and is rate-limited', async () => {
    const { lines, log } = capturedLog();
    const b = await broker({ users: [{ username: 'ops', passwordHash: await hashPassword('ops-pw') }] }, log);
    for (let i = 0; i < 25; i++) await connackFor(b, 'ops', `secret-guess-${i}`);
    const logged = lines.filter((l) => l.includes('login'));
    expect(logged.length).toBe(10);
    const first = JSON.parse(logged[0]!) as Record<string, unknown>;
    expect(first).toMatchObject({
      username: 'ops',
      address: '127.0.0.1',
      msg: 'login failed: bad username or password',
    });
    expect(lines.join('\n')).not.toContain('secret-guess');
    expect(lines.filter((l) => l.includes('connection refused'))).toEqual([]);
  });

  it('rate-limits refused anonymous clients the same way', async () => {
    const { lines, log } = capturedLog();
    const b = await broker(
      { listeners: [{ protocol: 'mqtt', host: '127.0.0.1', port: 0, allowAnonymous: false }] },
      log,
    );
    for (let i = 0; i < 15; i++) {
      const s = await rawSocket(b.port);
      s.write(connectPacket(`anon-${i}`, { protocolVersion: 5 }));
      await waitFor(() => parsePackets(s.all(), 5).length > 0, 10_000, 'CONNACK');
      expect((parsePackets(s.all(), 5)[0] as IConnackPacket).reasonCode).toBe(0x87);
    }
    const refused = lines.filter((l) => l.includes('login refused: anonymous clients are not allowed here'));
    expect(refused).toHaveLength(10);
    expect(JSON.parse(refused[0]!)).toMatchObject({ address: '127.0.0.1' });
    expect(lines.filter((l) => l.includes('connection refused'))).toEqual([]);
  });

  it('says how many lines it left out', () => {
    const limiter = new LogLimiter(2, 1000);
    const written: number[] = [];
    for (let t = 0; t < 5; t++) limiter.log((n) => written.push(n), t);
    limiter.log((n) => written.push(n), 1000);
    expect(written).toEqual([0, 0, 3]);
  });
});

describe('the check queue', () => {
  it('serves waiting addresses in turn, and usernames in turn within an address', async () => {
    const pool = new CheckPool({ workers: 1, maxPending: 100, maxPendingPerAddress: 10 });
    const order: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const job = (name: string, wait?: Promise<void>) => () =>
      (wait ?? Promise.resolve()).then(() => void order.push(name));
    const all = [pool.submit('A', 'x', job('A-x-0', gate))];
    for (let i = 1; i <= 3; i++) all.push(pool.submit('A', 'x', job(`A-x-${i}`)));
    all.push(pool.submit('A', 'y', job('A-y-1')));
    all.push(pool.submit('B', 'z', job('B-z-1')));
    expect(pool.pending).toBe(5);
    release();
    await Promise.all(all);
    expect(order).toEqual(['A-x-0', 'A-x-1', 'B-z-1', 'A-y-1', 'A-x-2', 'A-x-3']);
  });

  it('refuses past its bounds, overall and per address', () => {
    const pool = new CheckPool({ workers: 1, maxPending: 3, maxPendingPerAddress: 2 });
    const never = () => new Promise<void>(() => undefined);
    expect(pool.submit('A', 'x', never)).not.toBeNull(); // running
    expect(pool.submit('A', 'x', never)).not.toBeNull();
    expect(pool.submit('A', 'y', never)).not.toBeNull();
    expect(pool.submit('A', 'z', never)).toBeNull();
    expect(pool.submit('B', 'x', never)).not.toBeNull();
    expect(pool.submit('C', 'x', never)).toBeNull();
    expect(pool).toMatchObject({ active: 1, pending: 3 });
  });
});
