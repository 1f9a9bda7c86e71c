// `npm run bench:compare -- old.json new.json [--min 5]`: what changed between two runs' figures
// (bench/results.ts), each with its relative change; --min hides changes smaller than that percent.
import { compare, formatChanges, readResults } from './results.js';

function main(argv: string[]): number {
  const files: string[] = [];
  let minPct = 0;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--min') {
      minPct = Number(argv[++i]);
      if (!Number.isFinite(minPct) || minPct < 0) {
        console.error(`--min wants a percentage, got ${argv[i] ?? 'nothing'}`);
        return 2;
      }
    } else files.push(arg);
  }
  if (files.length !== 2) {
    console.error('usage: npm run bench:compare -- OLD.json NEW.json [--min PERCENT]');
    return 2;
  }
  try {
    const [before, after] = files.map(readResults) as [
      ReturnType<typeof readResults>,
      ReturnType<typeof readResults>,
    ];
    for (const [name, entry] of Object.entries(after.benches)) {
      const old = before.benches[name];
      if (old) console.log(`${name}: ${old.at} (load ${old.load}) -> ${entry.at} (load ${entry.load})`);
    }
    console.log(formatChanges(compare(before, after, minPct / 100)));
    return 0;
  } catch (err) {
    console.error((err as Error).message);
    return 2;
  }
}

process.exitCode = main(process.argv.slice(2));
