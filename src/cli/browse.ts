// `tagwire browse URL`: walks an OPC UA server's address space and prints (or writes) a mapping
// skeleton for the user to trim: variables with node ids, types, units, writable where the server allows.
import fs from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { browseSkeleton } from '../../drivers/opcua/browse.js';
import { explainConnectError } from '../../drivers/opcua/errors.js';
import { loadOpcua } from '../../drivers/opcua/load.js';
import { openPki } from '../../drivers/opcua/pki.js';
import { parseCommand } from './options.js';

const USAGE = `usage: tagwire browse opc.tcp://host:port [options]
  --root NODE            where to start (default i=85, the Objects folder)
  --depth N              levels to walk below the root (default 6)
  --out FILE             write the mapping there instead of printing it (an existing file only with --force)
  --force                replace the --out file if it exists
  --device ID            the mapping's device id (default opcua1)
  --topic TOPIC          the mapping's base topic (default site/<device>)
  --include-server       also walk the standard Server object (diagnostics, hundreds of nodes)
  --max-nodes N          stop after N variables (default 5000)
  --security-mode MODE   None (default), Sign or SignAndEncrypt
  --security-policy P    Basic256Sha256 (default), Aes128_Sha256_RsaOaep, Aes256_Sha256_RsaPss
  --username U --password P   log in as a user (anonymous otherwise)
  --pki DIR              PKI folder for secured connections (default data/pki/opcua)
  --timeout MS           connect timeout (default 10000)`;

const MODES = ['None', 'Sign', 'SignAndEncrypt'] as const;
const POLICIES = [
  'Basic256Sha256',
  'Aes128_Sha256_RsaOaep',
  'Aes256_Sha256_RsaPss',
  'Basic256',
  'Basic128Rsa15',
] as const;

function positiveInt(value: string | undefined, fallback: number, option: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`browse: ${option} takes a positive integer, not "${value}"`);
  return n;
}

export async function main(args: readonly string[]): Promise<number> {
  const parsed = parseCommand(args, {
    name: 'browse',
    usage: USAGE,
    options: {
      root: { type: 'string', default: 'i=85' },
      depth: { type: 'string' },
      out: { type: 'string', short: 'o' },
      force: { type: 'boolean', short: 'f' },
      device: { type: 'string', default: 'opcua1' },
      topic: { type: 'string' },
      'include-server': { type: 'boolean', default: false },
      'max-nodes': { type: 'string' },
      'security-mode': { type: 'string', default: 'None' },
      'security-policy': { type: 'string', default: 'Basic256Sha256' },
      username: { type: 'string' },
      password: { type: 'string' },
      pki: { type: 'string', default: path.join('data', 'pki', 'opcua') },
      timeout: { type: 'string' },
    },
    positionals: ([url, ...extra]) =>
      url && extra.length === 0 && /^opc\.tcp:\/\//.test(url)
        ? undefined
        : 'give one endpoint URL (opc.tcp://host:port)',
    misuseExit: 1,
  });
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  const url = positionals[0]!;
  const mode = values['security-mode'];
  const policy = values['security-policy'];
  if (!(MODES as readonly string[]).includes(mode))
    throw new Error(`browse: --security-mode is one of ${MODES.join(', ')}`);
  if (!(POLICIES as readonly string[]).includes(policy))
    throw new Error(`browse: --security-policy is one of ${POLICIES.join(', ')}`);
  if ((values.username === undefined) !== (values.password === undefined))
    throw new Error('browse: give --username and --password together');
  // Checked before connecting: a mapping someone wrote by hand is not replaced by surprise.
  if (values.out !== undefined && existsSync(values.out) && !values.force) {
    process.stderr.write(`tagwire browse: ${values.out} exists; --force replaces it\n`);
    return 1;
  }
  const depth = positiveInt(values.depth, 6, '--depth');
  const maxNodes = positiveInt(values['max-nodes'], 5000, '--max-nodes');
  const timeoutMs = positiveInt(values.timeout, 10_000, '--timeout');

  const opcua = await loadOpcua();
  const pki = await openPki(path.resolve(values.pki), 'tagwire');
  const client = opcua.OPCUAClient.create({
    applicationName: 'tagwire',
    applicationUri: pki.applicationUri,
    clientName: 'tagwire-browse',
    endpointMustExist: false,
    securityMode: opcua.MessageSecurityMode[mode as (typeof MODES)[number]],
    securityPolicy:
      mode === 'None' ? opcua.SecurityPolicy.None : opcua.SecurityPolicy[policy as (typeof POLICIES)[number]],
    certificateFile: pki.paths.certificateFile,
    privateKeyFile: pki.paths.privateKeyFile,
    clientCertificateManager: pki.manager,
    connectionStrategy: { maxRetry: 0 },
    transportTimeout: timeoutMs,
  });
  try {
    try {
      await client.connect(url);
    } catch (err) {
      process.stderr.write(`tagwire browse: ${await explainConnectError(err, url, pki.paths)}\n`);
      return 1;
    }
    const session = await client.createSession(
      values.username !== undefined
        ? { type: opcua.UserTokenType.UserName, userName: values.username, password: values.password ?? '' }
        : { type: opcua.UserTokenType.Anonymous },
    );
    try {
      const { tags, truncated } = await browseSkeleton(opcua, session, {
        root: values.root,
        depth,
        includeServer: values['include-server'],
        maxNodes,
        batchSize: 500,
      });
      const mapping = {
        device: values.device,
        topic: values.topic ?? `site/${values.device}`,
        defaults: { pollMs: 1000, qos: 1, retain: true },
        tags,
      };
      const json = JSON.stringify(mapping, null, 2) + '\n';
      const writable = tags.filter((t) => t.writable).length;
      const note = truncated ? ` (stopped at --max-nodes ${maxNodes})` : '';
      if (values.out) {
        await fs.mkdir(path.dirname(path.resolve(values.out)), { recursive: true });
        await fs.writeFile(values.out, json, { flag: values.force ? 'w' : 'wx' });
        process.stderr.write(
          `tagwire browse: ${tags.length} variables (${writable} writable)${note} -> ${values.out}\n`,
        );
      } else {
        process.stdout.write(json);
        process.stderr.write(`tagwire browse: ${tags.length} variables (${writable} writable)${note}\n`);
      }
      return 0;
    } finally {
      await session.close().catch(() => undefined);
    }
  } finally {
    await client.disconnect().catch(() => undefined);
    await pki.manager.dispose().catch(() => undefined);
  }
}
