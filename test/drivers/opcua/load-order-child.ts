// Run by load-order.test.ts in a process of its own (a module cache without node-opcua):
// `record [PACKAGE]` prints the load order of node-opcua (or of its PACKAGE, node-opcua-client); `load FILE` loads node-opcua by the order in FILE and
// prints how many event-loop turns passed meanwhile. The JSON is the last line of the output.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { recordLoadOrder, requireInSlices, type LoadOrder } from '../../../drivers/opcua/load-order.js';

// node-opcua's packages found as load.ts finds them: from node-opcua's folder.
const require = createRequire(createRequire(import.meta.url).resolve('node-opcua/package.json'));
const [mode, file, name = 'node-opcua'] = process.argv.slice(2);
if (mode === 'record') {
  process.stdout.write(`\n${JSON.stringify(recordLoadOrder(file ?? name, require))}\n`);
} else {
  const order = JSON.parse(readFileSync(file!, 'utf8')) as LoadOrder;
  let turns = 0;
  let loading = true;
  const turn = (): void => {
    turns++;
    if (loading) setImmediate(turn);
  };
  setImmediate(turn);
  const opcua = await requireInSlices<typeof import('node-opcua-client')>(order.package, require, order);
  loading = false;
  process.stdout.write(`\n${JSON.stringify({ turns, client: typeof opcua.OPCUAClient })}\n`);
}
// node-opcua checks the Node version's RSA support after loading and may print about it.
process.exit(0);
