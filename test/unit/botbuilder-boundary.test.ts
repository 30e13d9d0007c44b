/**
 * botbuilder is the product's Teams SDK, but only bot/teams/ may import it (issue 12, item 7): a
 * later port to the Teams SDK or the Microsoft 365 Agents SDK is then a change to that folder only
 * (docs/ARCHITECTURE.md, "Porting off botbuilder"). Tests and the bench may use botbuilder (the
 * TestAdapter, the echo bot). This scans every source file of the repository for an import of
 * botbuilder* or botframework-* and names each file that has one outside the allowed places.
 */
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');
const ADAPTER_FOLDER = 'bot/teams/';
const ALLOWED = [ADAPTER_FOLDER, 'test/', 'bench/'];
const SKIPPED_DIRS = new Set(['node_modules', '.git', 'cdk.out', 'dist', 'build', 'coverage', '.sandbox-data', 'test-artifacts', 'devTools']);
const SOURCE = /\.(?:[cm]?[jt]s|tsx|jsx)$/;

/** `import … from 'x'`, `import 'x'`, `export … from 'x'`, `require('x')`, `import('x')` of a Bot Framework SDK package. */
const SDK_IMPORT = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)['"`]((?:botbuilder|botframework-)[^'"`]*)['"`]/g;

function sdkImports(text: string): string[] {
  return [...text.matchAll(SDK_IMPORT)].map((m) => m[1]!);
}

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRS.has(entry.name)) sourceFiles(join(dir, entry.name), out);
    } else if (SOURCE.test(entry.name)) out.push(join(dir, entry.name));
  }
  return out;
}

const rel = (file: string) => relative(ROOT, file).split(sep).join('/');

describe('botbuilder is imported from one folder of bot/ only', () => {
  it('recognises every import form (and ignores packages that merely start alike in prose)', () => {
    const sample = [
      "import { CloudAdapter } from 'botbuilder';",
      'import type { TurnContext } from "botbuilder-core";',
      "export { ConnectorClient } from 'botframework-connector';",
      "import 'botframework-schema';",
      "const b = require('botbuilder');",
      "const c = await import('botframework-connector/lib/auth');",
      '// botbuilder is mentioned here in a comment only',
      "import { x } from './botbuilder-notes';",
    ].join('\n');
    assert.deepEqual(sdkImports(sample), ['botbuilder', 'botbuilder-core', 'botframework-connector', 'botframework-schema', 'botbuilder', 'botframework-connector/lib/auth']);
  });

  it('no file outside bot/teams/, test/ and bench/ imports botbuilder* or botframework-*', () => {
    const files = sourceFiles(ROOT).map((f) => ({ path: rel(f), imports: sdkImports(readFileSync(f, 'utf8')) }));
    assert.ok(files.some((f) => f.path.startsWith('bot/')) && files.some((f) => f.path.startsWith('core/')), 'the scan reached the source folders');
    const offenders = files.filter((f) => f.imports.length > 0 && !ALLOWED.some((a) => f.path.startsWith(a))).map((f) => `${f.path} imports ${[...new Set(f.imports)].join(', ')}`);
    assert.deepEqual(offenders, [], `botbuilder belongs in ${ADAPTER_FOLDER} only:\n${offenders.join('\n')}`);
  });

  it('the adapter folder is where botbuilder is used (the boundary is not vacuous)', () => {
    const adapter = sourceFiles(join(ROOT, ADAPTER_FOLDER)).filter((f) => sdkImports(readFileSync(f, 'utf8')).length > 0);
    assert.ok(adapter.length > 0, `${ADAPTER_FOLDER} imports no botbuilder package`);
  });
});
