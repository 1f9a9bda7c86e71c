#!/usr/bin/env node
// Generates the config validators of the built-in drivers at build time (after tsc), beside the
// built src/config/schema.js (and the defaults appliers' validators, beside drivers/json-schema.js): a start loads them instead of compiling the composed schemas with
// Ajv (~0.4 s of CPU). The file carries a digest of the schemas it was made from; a start whose
// schemas differ (another driver list, an edited schema without a rebuild) compiles at run time.
// Plain JavaScript: it runs on the build output.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { builtinDrivers } = await import(path.join(root, 'dist/drivers/index.js'));
const { validatorsSource } = await import(path.join(root, 'dist/src/config/schema.js'));
const out = path.join(root, 'dist/src/config/validators.generated.cjs');
writeFileSync(out, validatorsSource(builtinDrivers));

// The defaults appliers (drivers/json-schema.ts), beside the built json-schema.js: each is made
// when its module loads (the drivers' above, with their registry), generated here.
await import(path.join(root, 'dist/src/broker/config.js'));
await import(path.join(root, 'dist/src/bridge/config.js'));
const { defaultsValidatorsSource } = await import(path.join(root, 'dist/drivers/json-schema.js'));
writeFileSync(path.join(root, 'dist/drivers/defaults.generated.cjs'), defaultsValidatorsSource());
