// A stand-in for one vitest worker: takes `count` ports through freePort() and prints them as JSON.
// Holds none of them (as a test file between freePort() and its server's listen).
import { freePort } from './net.js';

const count = Number(process.argv[2] ?? 20);
const ports: number[] = [];
for (let i = 0; i < count; i++) ports.push(await freePort());
process.stdout.write(JSON.stringify(ports));
