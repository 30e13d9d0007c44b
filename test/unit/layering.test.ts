/**
 * The layering of docs/ARCHITECTURE.md ("Contracts"), checked on the real import graph: every
 * relative import (type-only ones included) of every .ts file in the product folders. Folder
 * rules follow the Layout table of the design; the module graph has no cycles.
 */
import { strict as assert } from 'node:assert';
import { resolve } from 'node:path';
import { findCycles, type ImportGraph, layerViolations, type LayerRule, readImportGraph } from '../support/import-graph';

const ROOT = resolve(__dirname, '../..');
const PRODUCT_FOLDERS = ['core', 'contract', 'runtime', 'cards', 'bot', 'lambdas', 'infra', 'sandbox'] as const;

/** Who may import whom. sandbox/ (the local stand-ins and their wiring) may import everything. */
const RULES: readonly LayerRule[] = [
  { folder: 'core', mayImport: [] },
  { folder: 'contract', mayImport: ['core'] },
  // The process-level pieces every runtime shares (the real clock, the atomic JSON writer).
  { folder: 'runtime', mayImport: ['core'] },
  { folder: 'cards', mayImport: ['core', 'contract'] },
  { folder: 'bot', mayImport: ['core', 'contract', 'runtime', 'cards'] },
  { folder: 'lambdas', mayImport: ['core', 'contract', 'runtime', 'cards'] },
  { folder: 'infra', mayImport: ['core', 'contract', 'lambdas'] },
];

/**
 * Cycles known and being removed elsewhere; each must still exist (so that the entry is deleted
 * with the fix) and no other cycle may appear. None today: the composition root
 * (lambdas/composition.ts) replaced the wiring/aws-deps pair.
 */
const KNOWN_CYCLES: ReadonlyArray<readonly string[]> = [];

const graphOf = (edges: Record<string, string[]>): ImportGraph => new Map(Object.entries(edges).map(([k, v]) => [k, new Set(v)]));

describe('layering: the import graph of the product folders', () => {
  const { graph, unresolved } = readImportGraph(ROOT, PRODUCT_FOLDERS);

  it('reads every module, and every relative import names a file', () => {
    for (const folder of PRODUCT_FOLDERS) assert.ok([...graph.keys()].some((m) => m.startsWith(`${folder}/`)), `no modules read under ${folder}/`);
    assert.deepEqual(unresolved, []);
    // The reader sees type-only imports and re-exports too (bot-notifier's import of the signature, core's re-exports).
    assert.ok(graph.get('lambdas/adapters/bot-notifier.ts')?.has('contract/notify-signature.ts'));
    assert.ok(graph.get('core/index.ts')?.has('core/api.ts'));
  });

  it('has no import cycles among the modules (but the known ones, listed with their issue)', () => {
    const found = findCycles(graph).map((c) => c.join(' -> '));
    const known = KNOWN_CYCLES.map((c) => c.join(' -> '));
    assert.deepEqual(
      found.filter((c) => !known.includes(c)),
      [],
      `import cycles:\n${found.join('\n')}`,
    );
    for (const k of known) assert.ok(found.includes(k), `the known cycle ${k} is gone: delete it from KNOWN_CYCLES`);
  });

  it('core/ imports nothing outside core; contract/ and runtime/ only core; cards/ only core and contract', () => {
    const rules = RULES.filter((r) => ['core', 'contract', 'runtime', 'cards'].includes(r.folder));
    assert.deepEqual(layerViolations(graph, rules), []);
  });

  it('bot/ and lambdas/ never import each other; they build on core, contract and cards', () => {
    const rules = RULES.filter((r) => ['bot', 'lambdas'].includes(r.folder));
    assert.deepEqual(layerViolations(graph, rules), []);
  });

  it('infra/ builds on lambdas, contract and core, never on the bot or the sandbox', () => {
    assert.deepEqual(layerViolations(graph, RULES.filter((r) => r.folder === 'infra')), []);
  });

  describe('the checks themselves', () => {
    it('a cycle is reported as a path that returns to its start, shortest first', () => {
      const g = graphOf({ 'a.ts': ['b.ts'], 'b.ts': ['c.ts', 'a.ts'], 'c.ts': ['a.ts'], 'd.ts': ['a.ts'], 'e.ts': ['e.ts'] });
      assert.deepEqual(findCycles(g), [['a.ts', 'b.ts', 'a.ts'], ['e.ts', 'e.ts']]);
      assert.deepEqual(findCycles(graphOf({ 'a.ts': ['b.ts'], 'b.ts': [] })), []);
    });

    it('an import across a forbidden layer is named with the rule it breaks', () => {
      const g = graphOf({ 'lambdas/x.ts': ['bot/y.ts', 'core/z.ts'], 'bot/y.ts': ['lambdas/x.ts'], 'core/z.ts': [] });
      assert.deepEqual(layerViolations(g, RULES), [
        'bot/y.ts -> lambdas/x.ts (bot/ may import bot, core, contract, runtime, cards only)',
        'lambdas/x.ts -> bot/y.ts (lambdas/ may import lambdas, core, contract, runtime, cards only)',
      ]);
    });
  });
});
