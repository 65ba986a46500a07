import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AppCgroup,
  type CgroupSupport,
  createAppCgroup,
  detectCgroups,
  removeCgroup,
} from '../../../src/provision/local/cgroups.js';
import { DEFAULT_APP_LIMITS } from '../../../src/provision/local/limits.js';

const support = await detectCgroups(`spawnai-cgtest-${randomBytes(4).toString('hex')}`);

/**
 * A group still counts a process for a moment after the kernel stopped listing it (it is
 * exiting), and refuses removal meanwhile (EBUSY). A group holding a group of its own refuses
 * removal the same way, for as long as the test decides: it stands in for that moment.
 */
describe.skipIf(!support)('removing an app’s control groups', () => {
  const cgroups = support as CgroupSupport;
  const made: AppCgroup[] = [];
  beforeAll(() => {
    expect(cgroups.parents.memory).toBeDefined();
  });
  afterAll(async () => {
    for (const cgroup of made) {
      for (const dir of new Set(Object.values(cgroup.dirs))) {
        await rmdir(path.join(dir, 'held')).catch(() => {});
        await rmdir(dir).catch(() => {});
      }
    }
    for (const parent of new Set(Object.values(cgroups.parents))) await rmdir(parent).catch(() => {});
  });

  async function busyGroup(): Promise<{ cgroup: AppCgroup; held: string[] }> {
    const cgroup = await createAppCgroup(
      cgroups,
      `app-${randomBytes(4).toString('hex')}`,
      DEFAULT_APP_LIMITS,
    );
    made.push(cgroup);
    const held = [...new Set(Object.values(cgroup.dirs))].map((dir) => path.join(dir, 'held'));
    for (const dir of held) await mkdir(dir);
    return { cgroup, held };
  }

  it('waits out a group that is busy for a moment, and removes it', async () => {
    const { cgroup, held } = await busyGroup();
    setTimeout(() => {
      for (const dir of held) void rmdir(dir);
    }, 300);
    expect(await removeCgroup(cgroup)).toBe(true);
    for (const dir of Object.values(cgroup.dirs)) expect(existsSync(dir), dir).toBe(false);
  });

  it('says so when a group stays busy past the wait', async () => {
    const { cgroup } = await busyGroup();
    expect(await removeCgroup(cgroup, 200)).toBe(false);
    for (const dir of Object.values(cgroup.dirs)) expect(existsSync(dir), dir).toBe(true);
  });
});
