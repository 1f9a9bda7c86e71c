#!/usr/bin/env node
// Bundles the CLI (src/cli.ts and everything of tagwire it imports) into dist/src/cli.js, over the
// file tsc wrote there (a build step, after tsc), and a few chunks beside it: a start then reads
// and links a handful of files of tagwire's own code instead of ~190 modules (~60 ms of CPU per
// start).
//
// Packages stay in node_modules, loaded as before. Every module of the bundle keeps its own
// `import.meta.url`, the URL tsc gives it in dist/: files found beside a module (the generated
// config validators, the OPC UA simulator's worker, the package folder) are found as before, and
// the rest of dist/ stays what tests, benchmarks and the worker thread import.
// Plain JavaScript: it runs on the build output.
import { readdirSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outfile = path.join(root, 'dist/src/cli.js');
const CHUNK_PREFIX = 'cli-chunk-';

/** `import.meta.url` of each bundled module: where tsc puts it, relative to the bundle. */
const ownUrls = {
  name: 'tagwire-own-urls',
  setup(esbuild) {
    esbuild.onLoad({ filter: /\.ts$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const relative = path.relative(root, args.path);
      if (relative.startsWith('..') || relative.startsWith('node_modules')) return undefined;
      const compiled = path.join(root, 'dist', relative.replace(/\.ts$/, '.js'));
      let fromBundle = path.relative(path.dirname(outfile), compiled).split(path.sep).join('/');
      if (!fromBundle.startsWith('.')) fromBundle = `./${fromBundle}`;
      const url = `new URL(${JSON.stringify(fromBundle)}, import.meta.url).href`;
      return { contents: source.replaceAll('import.meta.url', url), loader: 'ts' };
    });
  },
};

// Code splitting: each command (and what only it imports, packages included: an import of a
// package is hoisted to the top of the file holding it) is a chunk loaded when the command runs,
// so a config slip or `--version` loads neither fastify nor SQLite. The chunks sit beside cli.js,
// so the URLs above are relative to the same folder; the last build's are removed first.
for (const name of readdirSync(path.dirname(outfile)))
  if (name.startsWith(CHUNK_PREFIX)) rmSync(path.join(path.dirname(outfile), name));
// tsc's source map of cli.js describes the file this build replaces: a stack trace through it
// would point at the wrong lines.
rmSync(`${outfile}.map`, { force: true });

await build({
  entryPoints: { cli: path.join(root, 'src/cli.ts') },
  outdir: path.dirname(outfile),
  entryNames: '[name]',
  chunkNames: `${CHUNK_PREFIX}[hash]`,
  splitting: true,
  allowOverwrite: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20.19',
  packages: 'external',
  plugins: [ownUrls],
  logLevel: 'warning',
  // The shebang of src/cli.ts is kept by esbuild; the banner says what the file is.
  banner: { js: '// Bundled by scripts/bundle-cli.mjs from src/cli.ts and the modules it imports.' },
});
