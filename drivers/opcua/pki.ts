// The gateway's OPC UA PKI folder: our application certificate (made on first start), and the trust
// lists. Server certificates are trusted explicitly: an unknown one lands in rejected/ until the user
// moves it to trusted/certs/ (or runs `tagwire pki trust`).
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { OPCUACertificateManager } from 'node-opcua';
import { loadOpcuaClient } from './load.js';

export interface PkiPaths {
  root: string;
  certificateFile: string;
  privateKeyFile: string;
  trusted: string;
  rejected: string;
}

export function pkiPaths(root: string): PkiPaths {
  return {
    root,
    certificateFile: path.join(root, 'own', 'certs', 'tagwire_certificate.pem'),
    privateKeyFile: path.join(root, 'own', 'private', 'private_key.pem'),
    trusted: path.join(root, 'trusted', 'certs'),
    rejected: path.join(root, 'rejected'),
  };
}

/** The PKI folder of a device: `pkiDir` below the data directory unless absolute. */
export function resolvePkiDir(dataDir: string, pkiDir: string): string {
  return path.resolve(dataDir, pkiDir);
}

export function applicationUri(applicationName: string): string {
  return `urn:${os.hostname()}:${applicationName}`;
}

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}

export interface OpenPki {
  paths: PkiPaths;
  manager: OPCUACertificateManager;
  applicationUri: string;
}

// Several devices of one gateway share a PKI: create its certificate once per folder.
const preparing = new Map<string, Promise<void>>();

/** Opens (and on first use creates) the PKI folder and our application certificate. */
export async function openPki(root: string, applicationName: string): Promise<OpenPki> {
  const opcua = await loadOpcuaClient();
  const paths = pkiPaths(root);
  const manager = new opcua.OPCUACertificateManager({
    rootFolder: root,
    automaticallyAcceptUnknownCertificate: false,
  });
  await manager.initialize();
  const uri = applicationUri(applicationName);
  let ready = preparing.get(root);
  if (!ready) {
    ready = (async () => {
      if (await exists(paths.certificateFile)) return;
      await manager.createSelfSignedCertificate({
        applicationUri: uri,
        subject: `/CN=${applicationName}@${os.hostname()}/O=tagwire`,
        dns: [os.hostname(), 'localhost'],
        startDate: new Date(Date.now() - 24 * 3600_000),
        validity: 3650,
        outputFile: paths.certificateFile,
      });
    })();
    preparing.set(root, ready);
    ready.catch(() => preparing.delete(root));
  }
  await ready;
  // The URI in the certificate wins (it may have been made on another host or with another name):
  // servers check that the session's application URI matches it.
  const cert = new X509Certificate(await fs.readFile(paths.certificateFile));
  const inCert = /URI:([^,\s]+)/.exec(cert.subjectAltName ?? '')?.[1];
  return { paths, manager, applicationUri: inCert ?? uri };
}

/** The newest file in rejected/ (what the last refused server left), to name in error messages. */
export async function newestRejected(paths: PkiPaths): Promise<string | undefined> {
  const names = await fs.readdir(paths.rejected).catch(() => [] as string[]);
  let best: { file: string; mtime: number } | undefined;
  for (const name of names) {
    const file = path.join(paths.rejected, name);
    const st = await fs.stat(file).catch(() => undefined);
    if (st?.isFile() && (!best || st.mtimeMs > best.mtime)) best = { file, mtime: st.mtimeMs };
  }
  return best?.file;
}
