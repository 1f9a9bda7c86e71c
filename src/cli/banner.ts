// The few lines `tagwire start` prints: what runs where, and how to watch and command it.
// Paths are shown one way everywhere (displayPath: relative to where the user stands when below it).
import { displayUrl, upstreamAddresses } from '../bridge/config.js';
import { displayPath } from '../config/load.js';
import type { MappedTag } from '../config/types.js';
import type { Gateway } from '../gateway.js';
import { count } from './words.js';

export function banner(gateway: Gateway, startupMs: number): string {
  const { config, mappings, file } = gateway.loaded;
  const listeners = gateway.broker.listening();
  // listening() keeps the config's listener order; the WebSocket path comes from the config.
  const urls = listeners.map((l, i) => {
    const wsPath = l.protocol.startsWith('ws') ? (config.broker.listeners[i]?.path ?? '') : '';
    return `${l.protocol}://${l.host}:${l.port}${wsPath}`;
  });
  const tcp = listeners.find((l) => l.protocol === 'mqtt');
  const tagCount = mappings.reduce((n, m) => n + m.tags.length, 0);
  const enabled = config.devices.filter((d) => d.enabled !== false);
  const lines = [`tagwire: gateway ${config.gateway.id} running (started in ${Math.round(startupMs)} ms)`];
  lines.push(
    `  config      ${displayPath(file)} (${count(enabled.length, 'device')}, ${count(mappings.length, 'mapping')}, ${count(tagCount, 'tag')})`,
  );
  lines.push(`  broker      ${urls.join(', ') || 'no listeners'}`);
  if (gateway.httpAddress)
    lines.push(`  console     ${gateway.httpAddress}  (HTTP API under /api, /metrics)`);
  const devices = enabled.map((d) => `${d.id} (${d.driver})`);
  lines.push(`  devices     ${devices.join(', ') || 'none'}`);
  // Upstreams without any user:password written into a URL; backups after the primary.
  const bridges = config.bridges.map(
    (b) =>
      `${b.name} -> ${
        upstreamAddresses(b)
          .map((a) => displayUrl(a.url))
          .join(' | ') || 'no address'
      }`,
  );
  lines.push(`  bridges     ${bridges.join(', ') || 'none'}`);
  const sims = gateway.simulatorAddresses();
  if (sims.length > 0) lines.push(`  simulators  ${sims.join(', ')}`);
  const firstMapping = mappings[0];
  if (tcp && firstMapping) {
    const root = firstMapping.topic.split('/')[0];
    lines.push(`  watch       mosquitto_sub -h ${tcp.host} -p ${tcp.port} -t '${root}/#' -v`);
    const example = commandExample(mappings.flatMap((m) => m.tags));
    if (example) {
      lines.push(
        `  command     mosquitto_pub -h ${tcp.host} -p ${tcp.port} -t '${example.topic}/set' -m '{"value":${example.value}}'`,
      );
      lines.push(
        `  results     mosquitto_sub -h ${tcp.host} -p ${tcp.port} -t '${example.topic}/set/result' -v`,
      );
    }
  }
  lines.push(`  data        ${displayPath(config.gateway.dataDir)}`);
  lines.push('  stop        Ctrl-C');
  return lines.join('\n');
}

/** A command worth typing: a writable number with limits (a value inside them), else any writable tag. */
function commandExample(tags: readonly MappedTag[]): { topic: string; value: string } | undefined {
  const bounded = tags.find((t) => t.writable && t.min !== undefined && t.max !== undefined);
  if (bounded)
    return {
      topic: bounded.topic,
      value: String(Math.round(bounded.min! + (bounded.max! - bounded.min!) / 4)),
    };
  const writable = tags.find((t) => t.writable);
  if (!writable) return undefined;
  return { topic: writable.topic, value: /^bool/i.test(writable.type) ? 'true' : '1' };
}
