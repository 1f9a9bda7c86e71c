// Our broker alone in its own process, for the benchmark: `node bench-bundle/server.mjs PORT`.
// Prints "ready" once listening; stops on SIGTERM. The config is written out in full (the values
// parseBrokerConfig would give, with the limits raised for the load) so ajv is not loaded.
import { Broker } from '../src/broker/broker.js';
import type { BrokerConfig } from '../src/broker/config.js';
import { silentLogger } from '../src/log.js';

const port = Number(process.argv[2]);
const config: BrokerConfig = {
  listeners: [{ protocol: 'mqtt', host: '127.0.0.1', port, path: '/mqtt' }],
  allowAnonymous: true,
  users: [],
  acl: [],
  login: {
    workers: 2,
    maxPending: 128,
    maxPendingPerAddress: 32,
    cacheSize: 1024,
    lockout: {
      freeFailures: 5,
      addressFreeUsernames: 20,
      baseDelayMs: 1000,
      maxDelayMs: 300000,
      forgetAfterMs: 900000,
    },
  },
  limits: {
    maxConnections: 20000,
    maxPacketSize: 1048576,
    receiveMaximum: 100,
    maxQueuedMessages: 10000,
    connectTimeoutMs: 10000,
    packetTimeoutMs: 30000,
    maxSubscriptionsPerClient: 1000,
    connectRatePerAddress: 0,
    connectWaitMs: 5000,
    maxTopicLength: 65535,
    maxTopicLevels: 128,
    maxKeepAliveSec: 3600,
    maxSessionExpirySec: 604800,
    topicAliasMaximum: 64,
  },
  sys: { intervalSec: 0 },
};
const broker = new Broker({ config, log: silentLogger() });
await broker.start();
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  void broker.stop().then(() => process.exit(0));
});
