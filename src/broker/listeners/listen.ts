// Opens the configured listeners: TCP, TLS, WebSocket and secure WebSocket, each on its own host
// and port, each with its anonymous policy (secure by default: anonymous only on loopback).
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import type { WebSocketServer } from 'ws';
import type { BrokerConfig, ListenerConfig, ListenerProtocol, ListenerTls } from '../config.js';
import type { ListenerPolicy } from '../connection.js';
import { SocketTransport } from './socket-transport.js';
import type { Transport } from './transport.js';
import { WebSocketTransport } from './ws-transport.js';

export type AcceptTransport = (transport: Transport, policy: ListenerPolicy) => void;

export interface OpenListener {
  protocol: ListenerProtocol;
  host: string;
  port: number;
  close(): Promise<void>;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (net.isIPv4(host) && host.startsWith('127.'));
}

export function listenerPolicy(listener: ListenerConfig, broker: BrokerConfig): ListenerPolicy {
  return {
    protocol: listener.protocol,
    allowAnonymous: listener.allowAnonymous ?? (broker.allowAnonymous && isLoopback(listener.host)),
    certCnAsUsername: listener.tls?.certCnAsUsername === true,
  };
}

function describe(listener: ListenerConfig): string {
  return `listener ${listener.protocol}://${listener.host}:${listener.port}`;
}

function tlsOptions(listener: ListenerConfig, files: ListenerTls): tls.TlsOptions {
  const read = (what: 'cert' | 'key' | 'ca', file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new Error(`${describe(listener)}: cannot read tls.${what} ${file}: ${(err as Error).message}`);
    }
  };
  return {
    cert: read('cert', files.cert),
    key: read('key', files.key),
    ...(files.ca !== undefined && { ca: read('ca', files.ca) }),
    // Ask for a certificate whenever there is a CA to check it against; insist only when required.
    requestCert: files.ca !== undefined || files.requireClientCert,
    rejectUnauthorized: files.requireClientCert,
  };
}

/** Errors after the listener opened (accept failing for want of file descriptors...) go to `onError`. */
function listen(
  server: net.Server,
  listener: ListenerConfig,
  onError: (err: Error) => void,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const onStartError = (err: NodeJS.ErrnoException): void =>
      reject(
        new Error(
          err.code === 'EADDRINUSE'
            ? `${describe(listener)}: port ${listener.port} is already in use on ${listener.host} (EADDRINUSE: another gateway or MQTT broker?)`
            : `${describe(listener)}: ${err.message}`,
          { cause: err },
        ),
      );
    server.once('error', onStartError);
    server.listen(listener.port, listener.host, () => {
      server.off('error', onStartError);
      server.on('error', onError);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

export async function openListener(
  listener: ListenerConfig,
  broker: BrokerConfig,
  accept: AcceptTransport,
  onError: (err: Error) => void = () => undefined,
): Promise<OpenListener> {
  const policy = listenerPolicy(listener, broker);
  const maxPayload = broker.limits.maxPacketSize + 8;
  let server: net.Server;
  let wsServer: WebSocketServer | undefined;

  switch (listener.protocol) {
    case 'mqtt':
      server = net.createServer((socket) => accept(new SocketTransport(socket), policy));
      break;
    case 'mqtts':
      server = tls.createServer(tlsOptions(listener, listener.tls), (socket) =>
        accept(new SocketTransport(socket), policy),
      );
      // Failed handshakes (bad client certificate, plain TCP on a TLS port) only end that socket.
      server.on('tlsClientError', () => undefined);
      break;
    case 'ws':
    case 'wss': {
      const refuse = (_req: http.IncomingMessage, res: http.ServerResponse): void => {
        res
          .writeHead(426, { 'content-type': 'text/plain' })
          .end(`MQTT over WebSocket lives at ${listener.path}\n`);
      };
      const httpServer =
        listener.protocol === 'wss'
          ? https.createServer(tlsOptions(listener, listener.tls), refuse)
          : http.createServer(refuse);
      httpServer.on('tlsClientError', () => undefined);
      // Loaded on demand: a broker without WebSocket listeners does not carry ws in memory.
      const { WebSocketServer } = await import('ws');
      wsServer = new WebSocketServer({
        server: httpServer,
        path: listener.path,
        maxPayload,
        perMessageDeflate: false,
        handleProtocols: (offered) =>
          offered.has('mqtt') ? 'mqtt' : offered.has('mqttv3.1') ? 'mqttv3.1' : false,
      });
      wsServer.on('connection', (ws, req) => {
        const socket = req.socket as tls.TLSSocket;
        const address = socket.remoteAddress ?? 'unknown';
        let cn: string | undefined;
        if (listener.protocol === 'wss' && socket.authorized) {
          const subject = socket.getPeerCertificate().subject as { CN?: string | string[] } | undefined;
          cn = Array.isArray(subject?.CN) ? subject.CN[0] : subject?.CN;
        }
        accept(new WebSocketTransport(ws, address, cn), policy);
      });
      // ws re-emits the HTTP server's errors here; that server's own handler reports them.
      wsServer.on('error', () => undefined);
      server = httpServer;
      break;
    }
  }

  const port = await listen(server, listener, onError);
  return {
    protocol: listener.protocol,
    host: listener.host,
    port,
    close: async () => {
      if (wsServer) {
        for (const client of wsServer.clients) client.terminate();
        await new Promise<void>((resolve) => wsServer.close(() => resolve()));
      }
      await closeServer(server);
    },
  };
}
