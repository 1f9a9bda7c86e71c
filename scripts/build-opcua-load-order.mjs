#!/usr/bin/env node
// Records, at build time, the order in which node-opcua's packages finish loading, beside the built
// drivers/opcua/load.js: the driver then requires them one per event-loop turn (load-order.ts)
// instead of all at once. Two records: all of node-opcua (the simulator) and its client side (the
// driver). Each is recorded in a process of its own (a fresh module cache), after tsc.
// Plain JavaScript: it runs on the build output.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const RECORDS = {
  'node-opcua': 'load-order.generated.json',
  'node-opcua-client': 'load-order-client.generated.json',
};

const script = fileURLToPath(import.meta.url);
const root = path.resolve(path.dirname(script), '..');
const loader = path.join(root, 'dist/drivers/opcua/load.js');
const name = process.argv[2];
if (name === undefined) {
  for (const each of Object.keys(RECORDS))
    execFileSync(process.execPath, [script, each], { stdio: 'inherit' });
} else {
  const { recordLoadOrder } = await import(path.join(root, 'dist/drivers/opcua/load-order.js'));
  // As load.js requires them: node-opcua's packages found from node-opcua's folder.
  const require = createRequire(createRequire(loader).resolve('node-opcua/package.json'));
  const order = recordLoadOrder(name, require);
  // Its check of the Node version's RSA support finishes after the load: not the build's business.
  require(name).setWarningLogger(() => undefined);
  writeFileSync(path.join(path.dirname(loader), RECORDS[name]), JSON.stringify(order) + '\n');
}
