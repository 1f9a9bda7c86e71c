// Reads the retained message of a topic from a running broker, and says soundly when there is
// none: the broker sends a subscription's retained messages before anything published after the
// SUBACK, so a marker the probe publishes to itself arrives after them.
import { randomUUID } from 'node:crypto';
import mqtt from 'mqtt';
import { waitFor } from './net.js';

/** The retained payload on `topic` at `port` (as text), or undefined when the broker holds none. */
export async function retainedOn(
  port: number,
  topic: string,
  timeoutMs = 10_000,
): Promise<string | undefined> {
  const probe = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
  try {
    const marker = `tagwire-test/marker/${randomUUID()}`;
    let retained: string | undefined;
    let markerSeen = false;
    probe.on('message', (t, payload, packet) => {
      if (t === marker) markerSeen = true;
      else if (t === topic && packet.retain) retained = payload.toString();
    });
    await probe.subscribeAsync([topic, marker], { qos: 1 });
    await probe.publishAsync(marker, '', { qos: 1 });
    await waitFor(() => markerSeen, timeoutMs, `the marker behind the retained message of ${topic}`);
    return retained;
  } finally {
    await probe.endAsync();
  }
}
