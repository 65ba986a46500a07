import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import path from 'node:path';

/**
 * Writes a benchmark's result, with the machine it ran on and when, to bench/results/<name>.json
 * and prints the headline numbers.
 */
export function writeResult(
  name: string,
  result: Record<string, unknown>,
  headline: Record<string, unknown>,
): void {
  const full = {
    benchmark: name,
    ...result,
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      memoryGb: Math.round(totalmem() / 2 ** 30),
      node: process.version,
    },
    at: new Date().toISOString(),
  };
  const out = path.join(import.meta.dirname, 'results', `${name}.json`);
  writeFileSync(out, `${JSON.stringify(full, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(headline)}\nwrote ${out}\n`);
}
