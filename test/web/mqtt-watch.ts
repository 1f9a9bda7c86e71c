// Messages seen by Mosquitto's own subscriber client (mosquitto_sub), as an independent witness of
// what the console's actions put on MQTT.
import { spawn } from 'node:child_process';
import { waitFor } from '../helpers/net.js';

export interface WatchedMessage {
  topic: string;
  payload: Record<string, unknown>;
}

export interface MqttWatch {
  messages: WatchedMessage[];
  stop(): Promise<void>;
}

export async function mqttWatch(port: number, filter: string): Promise<MqttWatch> {
  const child = spawn(
    'mosquitto_sub',
    ['-h', '127.0.0.1', '-p', String(port), '-t', filter, '-v', '-q', '1'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const messages: WatchedMessage[] = [];
  let rest = '';
  child.stdout.on('data', (chunk: Buffer) => {
    const lines = (rest + chunk.toString()).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) {
      const space = line.indexOf(' ');
      if (space < 0) continue;
      try {
        messages.push({
          topic: line.slice(0, space),
          payload: JSON.parse(line.slice(space + 1)) as Record<string, unknown>,
        });
      } catch {
        // not a JSON payload (a raw command, say): not what the tests look for
      }
    }
  });
  // Retained values arrive first: once one has, the subscription is in place.
  await waitFor(() => messages.length > 0, 15_000, `mosquitto_sub on ${filter} to receive`);
  return {
    messages,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
