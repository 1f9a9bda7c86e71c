// The few lines `tagwire start` prints: what runs where, and how to watch and command it.
import type { Gateway } from '../gateway.js';

export function banner(gateway: Gateway, startupMs: number): string {
  const { config, mappings } = gateway.loaded;
  const listeners = gateway.broker.listening();
  // listening() keeps the config's listener order; the WebSocket path comes from the config.
  const urls = listeners.map((l, i) => {
    const wsPath = l.protocol.startsWith('ws') ? (config.broker.listeners[i]?.path ?? '') : '';
    return `${l.protocol}://${l.host}:${l.port}${wsPath}`;
  });
  const tcp = listeners.find((l) => l.protocol === 'mqtt');
  const lines = [`tagwire: gateway ${config.gateway.id} running (started in ${Math.round(startupMs)} ms)`];
  lines.push(`  broker      ${urls.join(', ') || 'no listeners'}`);
  const devices = config.devices.filter((d) => d.enabled !== false).map((d) => `${d.id} (${d.driver})`);
  lines.push(`  devices     ${devices.join(', ') || 'none'}`);
  const sims = gateway.simulatorAddresses();
  if (sims.length > 0) lines.push(`  simulators  ${sims.join(', ')}`);
  const firstMapping = mappings[0];
  if (tcp && firstMapping) {
    const root = firstMapping.topic.split('/')[0];
    lines.push(`  watch       mosquitto_sub -h ${tcp.host} -p ${tcp.port} -t '${root}/#' -v`);
    const writable = mappings.flatMap((m) => m.tags).find((t) => t.writable);
    if (writable) {
      const example = writable.type === 'bool' ? 'true' : String(writable.min ?? 1);
      lines.push(
        `  command     mosquitto_pub -h ${tcp.host} -p ${tcp.port} -t '${writable.topic}/set' -m '{"value":${example}}'`,
      );
      lines.push(
        `  results     mosquitto_sub -h ${tcp.host} -p ${tcp.port} -t '${writable.topic}/set/result' -v`,
      );
    }
  }
  lines.push(`  data        ${config.gateway.dataDir}`);
  lines.push('  stop        Ctrl-C');
  return lines.join('\n');
}
