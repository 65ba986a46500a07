import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..', '..', '..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

/** CI must run exactly the README's test command; this keeps the two from drifting apart. */
describe('the README and CI', () => {
  const ci = read('.ci/run');
  const command = /^TEST_COMMAND='([^']+)'$/m.exec(ci)?.[1];

  it('.ci/run names one test command and runs it on two Node versions', () => {
    expect(command).toBeTruthy();
    expect(ci.match(/bash -c "\$TEST_COMMAND"/g)).toHaveLength(2);
  });

  it("the README's Quick start gives that command as the way to run the tests", () => {
    const readme = read('README.md');
    const quickStart = readme.slice(
      readme.indexOf('## Quick start'),
      readme.indexOf('\n## ', readme.indexOf('## Quick start') + 1),
    );
    const blocks = [...quickStart.matchAll(/```sh\n([^`]+)```/g)].map((m) => m[1]?.trim());
    expect(blocks).toContain(command);
  });

  it('installs strictly: an unsupported Node or a dependency that refuses ours fails the install', () => {
    expect(read('.npmrc')).toMatch(/^engine-strict=true$/m);
    const engines = (JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node;
    expect(engines).toBe('^20.19.0 || >=22.12.0');
  });
});
