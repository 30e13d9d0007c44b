/**
 * The project's import graph, read from the source: every relative import, `import type`,
 * re-export, `require` and dynamic `import()` of every .ts file under the given folders (parsed by
 * the TypeScript compiler's pre-processor, so comments and strings are not mistaken for imports).
 * Package imports are left out: the graph is between the project's own modules.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

/** Module (repo-relative path, `/`-separated) -> the modules it imports. */
export type ImportGraph = Map<string, Set<string>>;

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...tsFiles(full));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(full);
  }
  return out;
}

const toKey = (root: string, file: string) => relative(root, file).split(sep).join('/');

/** The .ts module a relative import names; `null` for an existing file that is not a module (a JSON template). */
function resolveRelative(fromFile: string, spec: string): string | null | undefined {
  const base = resolve(dirname(fromFile), spec);
  for (const candidate of [`${base}.ts`, join(base, 'index.ts'), base]) {
    try {
      if (statSync(candidate).isFile()) return candidate.endsWith('.ts') ? candidate : null;
    } catch {
      // not this one
    }
  }
  return undefined;
}

export interface GraphReport {
  graph: ImportGraph;
  /** Relative imports that name no file: the parser missed a form of import, or the path is wrong. */
  unresolved: Array<{ from: string; spec: string }>;
}

export function readImportGraph(root: string, folders: readonly string[]): GraphReport {
  const graph: ImportGraph = new Map();
  const unresolved: GraphReport['unresolved'] = [];
  for (const folder of folders) {
    for (const file of tsFiles(join(root, folder))) {
      const from = toKey(root, file);
      const targets = new Set<string>();
      const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
      for (const ref of info.importedFiles) {
        const spec = ref.fileName;
        if (!spec.startsWith('.')) continue;
        const target = resolveRelative(file, spec);
        if (target) targets.add(toKey(root, target));
        else if (target === undefined) unresolved.push({ from, spec });
      }
      graph.set(from, targets);
    }
  }
  return { graph, unresolved };
}

/**
 * Every cycle, one per strongly connected component with more than one module (or a module that
 * imports itself), as a path that starts and ends at the same module: `a.ts -> b.ts -> a.ts`.
 */
export function findCycles(graph: ImportGraph): string[][] {
  let index = 0;
  const indexOf = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (v: string) => {
    indexOf.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!indexOf.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, indexOf.get(w)!));
      }
    }
    if (low.get(v) === indexOf.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || graph.get(v)?.has(v)) components.push(component);
    }
  };
  for (const v of [...graph.keys()].sort()) if (!indexOf.has(v)) visit(v);
  return components.map((c) => cyclePath(graph, new Set(c)));
}

/** A shortest cycle through the component's first module (alphabetically), found breadth-first. */
function cyclePath(graph: ImportGraph, component: Set<string>): string[] {
  const start = [...component].sort()[0]!;
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of [...(graph.get(v) ?? [])].sort()) {
      if (!component.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let at = v; at !== start; at = previous.get(at)!) path.splice(1, 0, at);
        return [...path, start];
      }
      if (!previous.has(w)) {
        previous.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

/** The top-level folder of a module key. */
export const folderOf = (module: string): string => module.split('/')[0]!;

export interface LayerRule {
  /** The folder the rule is about. */
  folder: string;
  /** The folders it may import (itself always allowed). */
  mayImport: readonly string[];
}

export function layerViolations(graph: ImportGraph, rules: readonly LayerRule[]): string[] {
  const out: string[] = [];
  for (const [from, targets] of graph) {
    const rule = rules.find((r) => r.folder === folderOf(from));
    if (!rule) continue;
    for (const to of targets) {
      const folder = folderOf(to);
      if (folder !== rule.folder && !rule.mayImport.includes(folder)) out.push(`${from} -> ${to} (${rule.folder}/ may import ${[rule.folder, ...rule.mayImport].join(', ')} only)`);
    }
  }
  return out.sort();
}
