// `tagwire backup FILE [-c CONFIG]`: config, mappings, TLS and PKI files and the SQLite state in one
// archive; safe while the gateway runs (each database is copied in one read transaction).
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../config/load.js';
import { reportConfigError } from './config-errors.js';
import {
  archived,
  BACKUP_FORMAT,
  copyDataFolder,
  filesOf,
  MANIFEST,
  tarCreate,
  type Manifest,
} from '../ops/backup.js';
import { RELEASE } from '../version.js';
import { configPath, CONFIG_OPTION, parseCommand } from './options.js';

const USAGE = `usage: tagwire backup FILE [-c CONFIG] [--force]
  Saves the config, its mapping and TLS files, the data folder (OPC UA PKI, state) and each SQLite
  database as a consistent copy into FILE (a .tar.gz), while the gateway runs or not.
  --force  overwrite FILE if it exists`;

export async function main(args: readonly string[]): Promise<number> {
  const parsed = parseCommand(args, {
    name: 'backup',
    usage: USAGE,
    options: {
      ...CONFIG_OPTION,
      force: { type: 'boolean' },
    },
    positionals: (given) => (given.length === 1 ? undefined : 'give one FILE to write'),
  });
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  const out = path.resolve(positionals[0]!);
  if (existsSync(out) && !values.force) {
    process.stderr.write(`tagwire backup: ${out} exists: nothing written (--force overwrites)\n`);
    return 1;
  }
  let loaded;
  try {
    loaded = await loadConfig(configPath(values.config));
  } catch (err) {
    reportConfigError(err, 'tagwire backup: the config has problems; nothing written');
    return 1;
  }
  const stage = await mkdtemp(path.join(tmpdir(), 'tagwire-backup-'));
  try {
    const files = filesOf(loaded);
    for (const file of [loaded.file, ...files]) {
      const to = path.join(stage, archived(file));
      await mkdir(path.dirname(to), { recursive: true });
      await copyFile(file, to);
    }
    const dataDir = loaded.config.gateway.dataDir;
    const schema = existsSync(dataDir) ? await copyDataFolder(dataDir, path.join(stage, 'data')) : {};
    const manifest: Manifest = {
      format: BACKUP_FORMAT,
      release: RELEASE,
      createdAt: new Date().toISOString(),
      gatewayId: loaded.config.gateway.id,
      config: loaded.file,
      files,
      dataDir,
      schema,
    };
    await writeFile(path.join(stage, MANIFEST), JSON.stringify(manifest, null, 2) + '\n');
    const partial = `${out}.partial`;
    await tarCreate(partial, stage);
    await rm(out, { force: true });
    await rename(partial, out);
    process.stdout.write(
      `${out}: gateway ${manifest.gatewayId}, config and ${files.length} file(s), data folder ${dataDir}${existsSync(dataDir) ? '' : ' (absent: none saved)'}\n`,
    );
    return 0;
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}
