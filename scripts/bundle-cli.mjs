#!/usr/bin/env node
// Bundles the CLI (src/cli.ts and everything of tagwire it imports) into dist/src/cli.js, over the
// file tsc wrote there (a build step, after tsc), and a few chunks beside it: a start then reads
// and links a handful of files of tagwire's own code instead of ~190 modules (~60 ms of CPU per
// start).
//
// The pure-JavaScript packages a start loads before the gateway is ready (fastify and its plugins,
// mqtt-packet, prom-client: ~300 files) are bundled too, with what they require: a start without
// simulators then takes ~130 ms less CPU (the module loader's resolving, stat-ing and reading of
// each file). Every other package stays in node_modules, loaded as before: native ones, node-opcua
// (loaded in recorded slices, drivers/opcua/load.ts), pino (its transports start workers by file
// path), ajv (the generated validators require its runtime), and any package not named below.
//
// Every module of tagwire's own keeps its `import.meta.url`, the URL tsc gives it in dist/: files
// found beside a module (the generated config validators, the OPC UA simulator's worker, the
// package folder) are found as before, and the rest of dist/ stays what tests, benchmarks and the
// worker thread import.
// Plain JavaScript: it runs on the build output.
import { readdirSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
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

/** Imported by tagwire's start path and bundled, with the packages they require. */
const BUNDLED = new Set(['fastify', '@fastify/static', '@fastify/cookie', 'mqtt-packet', 'prom-client']);
/** Left in node_modules even when a bundled package requires them (see the top of this file). */
const KEPT_OUT = new Set(['pino', 'ajv', 'ajv-formats']);
const BUILTINS = new Set(builtinModules);

function packageName(specifier) {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

const chosenPackages = {
  name: 'tagwire-chosen-packages',
  setup(esbuild) {
    esbuild.onResolve({ filter: /^[^./]/ }, (args) => {
      const name = packageName(args.path);
      if (args.path.startsWith('node:') || BUILTINS.has(name)) return { path: args.path, external: true };
      const fromPackage = args.importer.split(path.sep).includes('node_modules');
      const bundled = fromPackage ? !KEPT_OUT.has(name) : BUNDLED.has(name);
      return bundled ? undefined : { path: args.path, external: true };
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
  plugins: [chosenPackages, ownUrls],
  logLevel: 'warning',
  // The shebang of src/cli.ts is kept by esbuild; the banner says what the file is. The bundled
  // CommonJS packages call `require` (esbuild's shim looks for one in scope): each file gets one,
  // resolving from dist/src as Node would (esbuild renames top-level `require`s of our own).
  banner: {
    js:
      '// Bundled by scripts/bundle-cli.mjs from src/cli.ts and the modules it imports.\n' +
      "import { createRequire as __createRequire } from 'node:module';\n" +
      'const require = __createRequire(import.meta.url);',
  },
});
