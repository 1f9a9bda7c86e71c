// A stand-in for one vitest worker: takes `count` ports through freePort(), prints them as JSON and
// keeps its slice until its stdin closes (as a test file does while it runs). Holds none of the
// ports themselves (as a test file between freePort() and its server's listen).
import { freePort } from './net.js';

const count = Number(process.argv[2] ?? 20);
const ports: number[] = [];
for (let i = 0; i < count; i++) ports.push(await freePort());
process.stdout.write(`${JSON.stringify(ports)}\n`);
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
