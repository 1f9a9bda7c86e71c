// OPC UA browsing for the console's mapping editor: one client session per device, opened on the
// first browse with the device's own endpoint, security, login and PKI, reused while the user
// clicks through the tree and closed after a minute without use (and when the server stops).
import type { ClientSession, OPCUAClient } from 'node-opcua';
import { browseChildren, type BrowseChild } from '../../drivers/opcua/browse.js';
import { createClient, identityOf } from '../../drivers/opcua/client.js';
import type { OpcuaDeviceConfig } from '../../drivers/opcua/config.js';
import { explainConnectError } from '../../drivers/opcua/errors.js';
import { loadOpcua } from '../../drivers/opcua/load.js';
import { openPki, resolvePkiDir, type OpenPki } from '../../drivers/opcua/pki.js';

const IDLE_MS = 60_000;

interface Open {
  /** The device config the session was opened with: a changed config opens a new one. */
  key: string;
  client: OPCUAClient;
  session: ClientSession;
  pki: OpenPki;
  idle?: NodeJS.Timeout;
}

export class OpcuaBrowser {
  private open = new Map<string, Promise<Open>>();

  /** The objects and variables below `node` (default: the Objects folder) of the device. */
  async children(device: OpcuaDeviceConfig, dataDir: string, node?: string): Promise<BrowseChild[]> {
    const opcua = await loadOpcua();
    const entry = await this.session(device, dataDir);
    clearTimeout(entry.idle);
    try {
      return await browseChildren(opcua, entry.session, node);
    } catch (err) {
      // A broken session is not kept: the next browse connects again.
      if (/BadSession|BadSecureChannel|closed|disconnect/i.test(String(err))) await this.close(device.id);
      throw err;
    } finally {
      entry.idle = setTimeout(() => void this.close(device.id), IDLE_MS);
      entry.idle.unref();
    }
  }

  private async session(device: OpcuaDeviceConfig, dataDir: string): Promise<Open> {
    const key = JSON.stringify(device);
    const existing = this.open.get(device.id);
    if (existing) {
      const entry = await existing.catch(() => undefined);
      if (entry?.key === key) return entry;
      await this.close(device.id);
    }
    const opening = this.connect(device, dataDir, key);
    this.open.set(device.id, opening);
    opening.catch(() => this.open.delete(device.id));
    return opening;
  }

  private async connect(device: OpcuaDeviceConfig, dataDir: string, key: string): Promise<Open> {
    const opcua = await loadOpcua();
    const pki = await openPki(resolvePkiDir(dataDir, device.pkiDir), device.applicationName);
    const client = createClient(opcua, device, pki);
    try {
      await client.connect(device.endpointUrl);
    } catch (err) {
      await client.disconnect().catch(() => undefined);
      await pki.manager.dispose().catch(() => undefined);
      throw new Error(await explainConnectError(err, device.endpointUrl, pki.paths));
    }
    try {
      const session = await client.createSession(await identityOf(opcua, device.user));
      return { key, client, session, pki };
    } catch (err) {
      await client.disconnect().catch(() => undefined);
      await pki.manager.dispose().catch(() => undefined);
      throw new Error(await explainConnectError(err, device.endpointUrl, pki.paths));
    }
  }

  private async close(id: string): Promise<void> {
    const opening = this.open.get(id);
    this.open.delete(id);
    const entry = await opening?.catch(() => undefined);
    if (!entry) return;
    clearTimeout(entry.idle);
    await entry.session.close().catch(() => undefined);
    await entry.client.disconnect().catch(() => undefined);
    await entry.pki.manager.dispose().catch(() => undefined);
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.open.keys()].map((id) => this.close(id)));
  }
}
