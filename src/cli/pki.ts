// `tagwire pki`: the OPC UA PKI folder of the gateway. Lists our certificate and the trusted and
// rejected server certificates, trusts (rejected -> trusted) and rejects (trusted -> rejected) them.
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pkiPaths, resolvePkiDir, openPki, type PkiPaths } from '../../drivers/opcua/pki.js';
import { loadConfig } from '../config/load.js';
import { reportConfigError } from './config-errors.js';
import { configPath, CONFIG_OPTION, parseCommand } from './options.js';

const USAGE = `usage: tagwire pki [-c FILE] [--dir PKI_DIR] <command>
  list                 our certificate, then trusted and rejected server certificates
  trust NAME           move a rejected certificate to trusted/certs (NAME: file name or thumbprint prefix),
                       or copy a certificate file from elsewhere (a path) into trusted/certs
  reject NAME          move a trusted certificate to rejected/
  init                 create our application certificate now (it is otherwise made on first start)
The PKI folder is the OPC UA devices' pkiDir below the config's dataDir (default data/pki/opcua),
or --dir.`;

interface CertInfo {
  file: string;
  thumbprint: string;
  subject: string;
  validTo: string;
}

async function describe(file: string): Promise<CertInfo | undefined> {
  try {
    const cert = new X509Certificate(await fs.readFile(file));
    return {
      file,
      thumbprint: cert.fingerprint.replace(/:/g, '').toLowerCase(),
      subject: cert.subject.replace(/\n/g, ', '),
      validTo: new Date(cert.validTo).toISOString().slice(0, 10),
    };
  } catch {
    return undefined;
  }
}

async function certsIn(dir: string): Promise<CertInfo[]> {
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  const out: CertInfo[] = [];
  for (const name of names.sort()) {
    if (!/\.(pem|der|crt|cer)$/i.test(name)) continue;
    const info = await describe(path.join(dir, name));
    if (info) out.push(info);
  }
  return out;
}

/** The one certificate in `dir` that NAME (file name or thumbprint prefix) designates. */
async function find(dir: string, name: string): Promise<CertInfo | string> {
  const certs = await certsIn(dir);
  const lower = name.toLowerCase();
  const hits = certs.filter(
    (c) => path.basename(c.file) === name || (lower.length >= 6 && c.thumbprint.startsWith(lower)),
  );
  if (hits.length === 1) return hits[0]!;
  if (hits.length === 0) return `no certificate "${name}" in ${dir}`;
  return `"${name}" matches ${hits.length} certificates in ${dir}: give more of the thumbprint`;
}

async function pkiDirFrom(configFile: string): Promise<string> {
  const loaded = await loadConfig(configFile);
  const dirs = new Set(
    loaded.config.devices
      .filter((d) => d.driver === 'opcua')
      .map((d) => resolvePkiDir(loaded.config.gateway.dataDir, String(d.pkiDir))),
  );
  if (dirs.size > 1)
    throw new Error(
      `the OPC UA devices use ${dirs.size} PKI folders (${[...dirs].join(', ')}): choose one with --dir`,
    );
  return [...dirs][0] ?? resolvePkiDir(loaded.config.gateway.dataDir, 'pki/opcua');
}

function line(c: CertInfo): string {
  return `  ${path.basename(c.file)}\n      ${c.subject}  sha1 ${c.thumbprint}  valid to ${c.validTo}`;
}

async function list(paths: PkiPaths, out: (s: string) => void): Promise<number> {
  out(`PKI folder ${paths.root}`);
  const own = await describe(paths.certificateFile);
  out(
    own
      ? `our certificate (give it to servers that must trust us):\n${line(own)}\n  file ${own.file}`
      : `our certificate: not created yet (made on first start, or by \`tagwire pki init\`)`,
  );
  const trusted = await certsIn(paths.trusted);
  out(`trusted (${paths.trusted}):`);
  out(trusted.length ? trusted.map(line).join('\n') : '  (none)');
  const rejected = await certsIn(paths.rejected);
  out(`rejected (${paths.rejected}):`);
  out(rejected.length ? rejected.map(line).join('\n') : '  (none)');
  return 0;
}

async function move(
  from: string,
  to: string,
  name: string,
  out: (s: string) => void,
  err: (s: string) => void,
): Promise<number> {
  const hit = await find(from, name);
  if (typeof hit === 'string') {
    err(`tagwire pki: ${hit}`);
    return 1;
  }
  await fs.mkdir(to, { recursive: true });
  const target = path.join(to, path.basename(hit.file));
  await fs.rename(hit.file, target);
  out(`${path.basename(hit.file)} (${hit.subject}, sha1 ${hit.thumbprint}) -> ${target}`);
  return 0;
}

async function trustFile(
  paths: PkiPaths,
  file: string,
  out: (s: string) => void,
  err: (s: string) => void,
): Promise<number> {
  const info = await describe(file);
  if (!info) {
    err(`tagwire pki: ${file} is not a readable X.509 certificate (PEM or DER)`);
    return 1;
  }
  await fs.mkdir(paths.trusted, { recursive: true });
  const target = path.join(paths.trusted, path.basename(file));
  await fs.copyFile(file, target);
  out(`${file} (${info.subject}, sha1 ${info.thumbprint}) -> ${target}`);
  return 0;
}

export async function main(args: readonly string[]): Promise<number> {
  const out = (s: string) => process.stdout.write(s + '\n');
  const err = (s: string) => process.stderr.write(s + '\n');
  const parsed = parseCommand(args, {
    name: 'pki',
    usage: USAGE,
    options: {
      ...CONFIG_OPTION,
      dir: { type: 'string' },
    },
    positionals: (given) =>
      given.length > 2 ? `unexpected arguments ${given.slice(2).join(' ')}` : undefined,
    misuseExit: 1,
  });
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  const [command = 'list', name] = positionals;
  let root: string;
  try {
    root = values.dir ? path.resolve(values.dir) : await pkiDirFrom(configPath(values.config));
  } catch (e) {
    reportConfigError(e, undefined, err);
    return 1;
  }
  const paths = pkiPaths(root);
  switch (command) {
    case 'list':
      return list(paths, out);
    case 'trust':
    case 'reject': {
      if (!name) {
        err(
          `tagwire pki ${command}: which certificate? (a file name or thumbprint prefix from \`tagwire pki list\`)`,
        );
        return 1;
      }
      if (command === 'trust' && (name.includes('/') || name.includes(path.sep)) && (await describe(name))) {
        return trustFile(paths, name, out, err);
      }
      return command === 'trust'
        ? move(paths.rejected, paths.trusted, name, out, err)
        : move(paths.trusted, paths.rejected, name, out, err);
    }
    case 'init': {
      const pki = await openPki(root, 'tagwire');
      await pki.manager.dispose();
      const own = await describe(paths.certificateFile);
      out(
        own
          ? `our certificate:\n${line(own)}\n  file ${own.file}`
          : `no certificate at ${paths.certificateFile}`,
      );
      return own ? 0 : 1;
    }
    default:
      err(`tagwire pki: unknown command "${command}"\n${USAGE}`);
      return 1;
  }
}
