#!/usr/bin/env node
// Records, at build time, the order in which node-opcua's packages finish loading, beside the built
// drivers/opcua/load.js: the driver then requires them one per event-loop turn (load-order.ts)
// instead of all at once. Run in a process of its own (a fresh module cache) after tsc.
// Plain JavaScript: it runs on the build output.
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const loader = path.join(root, 'dist/drivers/opcua/load.js');
const { recordLoadOrder } = await import(path.join(root, 'dist/drivers/opcua/load-order.js'));
const require = createRequire(loader);
const order = recordLoadOrder('node-opcua', require);
// Its check of the Node version's RSA support finishes after the load: not the build's business.
require('node-opcua').setWarningLogger(() => undefined);
writeFileSync(path.join(path.dirname(loader), 'load-order.generated.json'), JSON.stringify(order) + '\n');
