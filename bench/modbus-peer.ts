// The benchmark's other side, in child processes so their CPU never counts as the gateway's: one
// Modbus TCP simulator per device (`modbus-peer.ts N`), or an MQTT.js subscriber that counts what
// the broker delivers (`modbus-peer.ts 0`). Protocol on stdio: prints `ports <json>`; reads
// `subscribe <port>`; then prints `received <n>` each second.
import readline from 'node:readline';
import mqtt from 'mqtt';
import { modbusSimulatorConfig } from '../drivers/modbus/config.js';
import { startModbusSimulator } from '../drivers/modbus/simulator/index.js';
import { silentLogger } from '../src/log.js';

const devices = Number(process.argv[2] ?? '1');
const sims: Awaited<ReturnType<typeof startModbusSimulator>>[] = [];
for (let i = 0; i < devices; i++) {
  // Unmapped addresses read as zeros; a few live signals keep some values moving.
  const config = modbusSimulatorConfig({
    port: 0,
    profile: 'none',
    unmapped: 'zero',
    periodMs: 500,
    signals: [{ address: 'hr:0', kind: 'counter', type: 'uint16' }],
  });
  sims.push(await startModbusSimulator(config, silentLogger()));
}
process.stdout.write(`ports ${JSON.stringify(sims.map((s) => s.port))}\n`);

let received = 0;
let client: mqtt.MqttClient | undefined;
const lines = readline.createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const [command, arg] = line.split(' ');
  if (command === 'subscribe' && client === undefined) {
    client = mqtt.connect(`mqtt://127.0.0.1:${arg}`, { clientId: 'bench-subscriber', reconnectPeriod: 0 });
    client.on('connect', () =>
      client?.subscribe('bench/#', { qos: 0 }, () => process.stdout.write('subscribed\n')),
    );
    client.on('message', () => received++);
    setInterval(() => process.stdout.write(`received ${received}\n`), 1000).unref();
  }
});
lines.on('close', async () => {
  client?.end(true);
  await Promise.all(sims.map((s) => s.close()));
  process.exit(0);
});
