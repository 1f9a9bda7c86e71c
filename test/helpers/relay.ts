// A TCP relay on loopback that a test can break: drop its connections (the peer stays reachable),
// or cut it (connections dropped and new ones refused) and restore it later on the same port.
// A network blip between two real peers, without touching either.
import net from 'node:net';
import { freePort } from './net.js';

export interface TcpRelay {
  port: number;
  /** Ends every relayed connection; new ones still get through. */
  drop(): void;
  /** Ends every relayed connection and stops listening: new ones are refused. */
  cut(): void;
  /** Listens again, on the same port. */
  restore(): Promise<void>;
  close(): void;
}

export async function tcpRelay(target: number, host = '127.0.0.1'): Promise<TcpRelay> {
  const port = await freePort();
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const listening = net.createServer((inbound) => {
        const outbound = net.connect(target, host);
        for (const s of [inbound, outbound]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => undefined);
        }
        inbound.pipe(outbound).pipe(inbound);
        inbound.on('close', () => outbound.destroy());
        outbound.on('close', () => inbound.destroy());
      });
      listening.once('error', reject);
      listening.listen(port, host, () => resolve());
      server = listening;
    });
  await listen();
  const drop = () => {
    for (const s of sockets) s.destroy();
  };
  const cut = () => {
    server?.close();
    server = undefined;
    drop();
  };
  return { port, drop, cut, restore: listen, close: cut };
}
