// Runs npm scripts side by side and fails when any of them fails. `npm test` uses it to type-check
// while the tests run: the suite leaves a core idle about half the time (its tests wait on
// servers and child processes), and the type check is one core's work for about 20 s.
// The first script streams its output; the others print theirs, whole, when they end, so
// the two never interleave line by line.
import { spawn } from 'node:child_process';

const [streamed, ...buffered] = process.argv.slice(2);
if (!streamed) {
  console.error('usage: node scripts/together.mjs <npm script> [<npm script> ...]');
  process.exit(2);
}

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function run(script, stream) {
  const child = spawn(npm, ['run', '--silent', script], {
    stdio: stream ? 'inherit' : ['ignore', 'pipe', 'pipe'],
  });
  const chunks = [];
  child.stdout?.on('data', (c) => chunks.push(c));
  child.stderr?.on('data', (c) => chunks.push(c));
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      const output = Buffer.concat(chunks).toString();
      if (output.trim()) process.stdout.write(`\n── npm run ${script} ──\n${output}`);
      if (code !== 0) console.error(`npm run ${script} failed (${signal ?? `exit ${code}`})`);
      resolve(code === 0);
    });
  });
}

const results = await Promise.all([run(streamed, true), ...buffered.map((s) => run(s, false))]);
process.exit(results.every(Boolean) ? 0 : 1);
