// The bridge config fragment: defaults, clear errors, and the checks the schema cannot make.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBridgeConfig, upstreamAddresses } from '../../src/bridge/config.js';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { baseConfig, workspace } from '../config/fixtures.js';
import { checkBridges } from '../../src/bridge/manager.js';
import { rewriteTopic, topicMatches } from '../../src/bridge/topics.js';

describe('bridge config', () => {
  it('fills every default from the schema', () => {
    const cfg = parseBridgeConfig({
      name: 'plant',
      url: 'mqtts://broker:8883',
      out: [{ filter: 'acme/#' }],
      in: [{ filter: 'x/#' }],
    });
    expect(cfg).toMatchObject({
      protocolVersion: 4,
      keepaliveSec: 30,
      cleanSession: false,
      statusTopic: 'tagwire/{gatewayId}/status',
      reconnect: { minDelayMs: 1000, maxDelayMs: 60000 },
      outbox: {
        maxMessages: 1_000_000,
        maxBytes: 1_073_741_824,
        maxAgeSec: 0,
        dropPolicy: 'drop-oldest',
        drainRatePerSec: 5000,
        inflight: 1000,
      },
      statusIntervalSec: 10,
    });
    expect(cfg.out[0]).toEqual({
      filter: 'acme/#',
      qos: 1,
      stripPrefix: '',
      prefix: '',
      retain: true,
      store: true,
    });
    expect(cfg.in[0]).toEqual({ filter: 'x/#', qos: 1, stripPrefix: '', prefix: '' });
  });

  it('says what is wrong and where', () => {
    expect(() =>
      parseBridgeConfig(
        { name: 'plant', url: 'http://x', outbox: { dropPolicy: 'random' }, colour: 'red' },
        'bridges/0',
      ),
    ).toThrow(
      /bridges\/0: \/url: must match pattern[\s\S]*bridges\/0: \/outbox\/dropPolicy: must be equal to one of the allowed values/,
    );
    const twice = parseBridgeConfig({ name: 'a', url: 'mqtt://x', out: [{ filter: 'a/#/b' }] });
    expect(checkBridges([twice, twice])).toEqual([
      "/bridges/0/out/0/filter: '#' must be a whole last level in 'a/#/b'",
      "/bridges/1/name: bridge name 'a' is used twice",
      "/bridges/1/out/0/filter: '#' must be a whole last level in 'a/#/b'",
    ]);
  });

  it('matches filters and rewrites topics like MQTT and the rules say', () => {
    expect(topicMatches('acme/#', 'acme')).toBe(true);
    expect(topicMatches('acme/+/t', 'acme/x/t')).toBe(true);
    expect(topicMatches('acme/+/t', 'acme/x/y/t')).toBe(false);
    expect(topicMatches('#', '$SYS/broker')).toBe(false);
    expect(rewriteTopic('acme/a', { stripPrefix: 'acme/', prefix: 'site/' })).toBe('site/a');
    expect(rewriteTopic('other/a', { stripPrefix: 'acme/', prefix: '' })).toBe('other/a');
  });

  it('takes several addresses, each with its own credentials and TLS, the bridge-wide ones by default', () => {
    const cfg = parseBridgeConfig({
      name: 'plant',
      username: 'edge',
      password: 'p',
      tls: { ca: 'ca.pem' },
      addresses: [
        { url: 'mqtts://a:8883' },
        { url: 'mqtts://b:8883', username: 'edge-b', tls: { ca: 'b.pem', rejectUnauthorized: false } },
      ],
    });
    expect(cfg.failover).toEqual({
      switchDelayMs: 1000,
      returnToPrimary: true,
      primaryCheckSec: 30,
      ackTimeoutSec: 30,
    });
    expect(upstreamAddresses(cfg)).toEqual([
      {
        index: 0,
        url: 'mqtts://a:8883',
        username: 'edge',
        password: 'p',
        tls: { ca: 'ca.pem', rejectUnauthorized: true },
      },
      {
        index: 1,
        url: 'mqtts://b:8883',
        username: 'edge-b',
        password: 'p',
        tls: { ca: 'b.pem', rejectUnauthorized: false },
      },
    ]);
  });

  it('tagwire validate: url or addresses, not both, not neither; address TLS paths from the config folder', async () => {
    const ws = workspace();
    const problemsOf = async (bridge: Record<string, unknown>): Promise<string[]> => {
      ws.write('gateway.config.json', baseConfig({ devices: [], mappings: [], bridges: [bridge] }));
      try {
        await loadConfig(ws.file('gateway.config.json'));
        return [];
      } catch (err) {
        if (err instanceof ConfigError) return err.problems.map((p) => `${p.pointer}: ${p.message}`);
        throw err;
      }
    };
    try {
      expect(await problemsOf({ name: 'p', url: 'mqtt://a', addresses: [{ url: 'mqtt://b' }] })).toEqual([
        '/bridges/0: give either url or addresses, not both',
      ]);
      const neither = await problemsOf({ name: 'p' });
      expect(neither.length).toBeGreaterThan(0);
      expect(neither.join('\n')).toMatch(/url/);
      expect(await problemsOf({ name: 'p', addresses: [] })).not.toEqual([]);
      ws.write(
        'gateway.config.json',
        baseConfig({
          devices: [],
          mappings: [],
          bridges: [{ name: 'p', addresses: [{ url: 'mqtts://a', tls: { ca: 'certs/a.pem' } }] }],
        }),
      );
      const loaded = await loadConfig(ws.file('gateway.config.json'));
      expect(loaded.config.bridges[0]!.addresses![0]!.tls!.ca).toBe(path.join(ws.dir, 'certs/a.pem'));
    } finally {
      ws.remove();
    }
  });
});
