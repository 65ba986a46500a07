import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { importsOf, read, sourceFiles } from '../../helpers/source-scan.js';

/**
 * No import cycle between top-level folders: src/<folder>, adapters/<platform> and bots (a
 * file directly in src or adapters, such as src/errors.ts, is a node of its own). The graph is
 * built from the import statements of every source file; an edge A -> B says some file of A
 * imports one of B. (There was no file-level cycle test in test/unit to extend; tsc and
 * biome catch nothing here, since folder cycles are legal TypeScript.)
 *
 * No cycle at all, run-time or `import type`: provision <-> storage (through the bundle codec
 * and the HTTP retry) is broken by src/lib; the type-only group around src/core by moving the
 * adapter contract to adapters/contract.ts, the inbound job's type to src/core, the connection
 * type to src/connections, and giving the metrics' queue gauge the queues it counts.
 */

const ROOT = path.resolve(import.meta.dirname, '../../..');

function folderOf(file: string): string {
  const parts = file.split('/');
  if (parts[0] === 'bots') return 'bots';
  return parts.length === 2 ? file : `${parts[0]}/${parts[1]}`;
}

type Graph = Map<string, Map<string, string>>;

/** Folder graph; each edge remembers one file that makes it (for the message). */
function folderGraph(typeOnlyToo: boolean): Graph {
  const graph: Graph = new Map();
  for (const file of sourceFiles(ROOT)) {
    const from = folderOf(file);
    for (const { specifier, typeOnly } of importsOf(read(ROOT, file))) {
      if (!specifier.startsWith('.') || (typeOnly && !typeOnlyToo)) continue;
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier));
      const to = folderOf(target.replace(/\.js$/, '.ts'));
      if (to === from) continue;
      const edges = graph.get(from) ?? new Map<string, string>();
      if (!edges.has(to)) edges.set(to, file);
      graph.set(from, edges);
    }
  }
  return graph;
}

/** Strongly connected groups of more than one folder (Tarjan). */
function cycles(graph: Graph): string[][] {
  let index = 0;
  const stack: string[] = [];
  const onStack = new Set<string>();
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const groups: string[][] = [];
  const visit = (v: string): void => {
    indices.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)?.keys() ?? []) {
      if (!indices.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, indices.get(w)!));
    }
    if (low.get(v) === indices.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        group.push(w);
      } while (w !== v);
      if (group.length > 1) groups.push(group.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!indices.has(v)) visit(v);
  return groups;
}

/** One concrete cycle through a group, as "a -> b (file) -> a (file)", for the failure message. */
function describeCycle(graph: Graph, group: readonly string[]): string {
  const members = new Set(group);
  const start = group[0]!;
  const seen = new Map<string, string | undefined>([[start, undefined]]);
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of graph.get(v)?.keys() ?? []) {
      if (!members.has(w)) continue;
      if (w === start) {
        const pathBack = [v];
        for (let p = seen.get(v); p !== undefined; p = seen.get(p)) pathBack.unshift(p);
        const hops = [...pathBack, start];
        return hops
          .slice(1)
          .reduce((text, to, i) => `${text} -> ${to} (${graph.get(hops[i]!)!.get(to)})`, start);
      }
      if (!seen.has(w)) {
        seen.set(w, v);
        queue.push(w);
      }
    }
  }
  return group.join(', ');
}

describe('folder import cycles', () => {
  it('has no run-time import cycle between top-level folders', () => {
    const graph = folderGraph(false);
    expect(cycles(graph).map((g) => describeCycle(graph, g))).toEqual([]);
  });

  it('has no import cycle between folders, counting `import type` too', () => {
    const graph = folderGraph(true);
    expect(cycles(graph).map((g) => describeCycle(graph, g))).toEqual([]);
  });

  it('keeps src/lib free of the domain: it imports only src/errors.ts (and src/util)', () => {
    const imports = sourceFiles(ROOT, ['src/lib']).flatMap((file) =>
      importsOf(read(ROOT, file))
        .filter((i) => i.specifier.startsWith('.'))
        .map((i) => ({ file, target: path.posix.normalize(path.posix.join('src/lib', i.specifier)) }))
        .filter(({ target }) => !/^src\/(lib\/|util\/|errors\.js$)/.test(target))
        .map(({ file, target }) => `${file} imports ${target}`),
    );
    expect(imports).toEqual([]);
  });

  it('finds and names a planted cycle', () => {
    const graph: Graph = new Map([
      ['src/provision', new Map([['src/storage', 'src/provision/local/index.ts']])],
      ['src/storage', new Map([['src/provision', 'src/storage/supabase/fetch.ts']])],
      ['src/core', new Map([['src/errors.ts', 'src/core/adapter.ts']])],
    ]);
    const found = cycles(graph);
    expect(found).toEqual([['src/provision', 'src/storage']]);
    expect(describeCycle(graph, found[0]!)).toBe(
      'src/provision -> src/storage (src/provision/local/index.ts) -> src/provision (src/storage/supabase/fetch.ts)',
    );
  });
});
