/**
 * The handler table's completeness is checked by the compiler. This compiles bot/handlers/index.ts
 * as it is and then mutated in memory (a verb missing, a verb the cards do not define, a handler
 * filed under another verb's key) and expects each mutation to fail on that file. A cast such as
 * `as Record<CardVerb, ActionHandler>` lets the last two through. It also compiles the type-level
 * test file, whose `@ts-expect-error` lines fail the compile when the error they expect is gone.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import ts from 'typescript';

const ROOT = resolve(__dirname, '..', '..');
const INDEX = join(ROOT, 'bot', 'handlers', 'index.ts');
const TYPE_TEST = join(ROOT, 'test', 'types', 'verb-completeness.ts');

const config = ts.readConfigFile(join(ROOT, 'tsconfig.json'), ts.sys.readFile);
const options: ts.CompilerOptions = { ...ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT).options, noEmit: true, types: [] };
let previous: ts.Program | undefined;
/** Parsed once: every compile below shares the unchanged files (the compiler reuses them by identity). */
const parsed = new Map<string, ts.SourceFile | undefined>();

/** The errors of `rootFile` itself (checking only it keeps this fast), with `index.ts` read as `indexText`. */
function diagnostics(rootFile: string, indexText?: string): string[] {
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (f, lang, onError) => {
    if (indexText !== undefined && resolve(f) === INDEX) return ts.createSourceFile(f, indexText, lang);
    if (!parsed.has(f)) parsed.set(f, getSourceFile(f, lang, onError));
    return parsed.get(f);
  };
  const program = ts.createProgram([rootFile], options, host, previous);
  previous = program;
  const file = program.getSourceFile(rootFile)!;
  return [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)]
    .filter((d) => d.file)
    .map((d) => `${resolve(d.file!.fileName)}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
}

function mutated(from: RegExp, to: string): string {
  const original = readFileSync(INDEX, 'utf8');
  const text = original.replace(from, to);
  assert.notEqual(text, original, `the mutation ${from} found nothing to change in ${INDEX}`);
  return text;
}

describe('card verb completeness is a compile-time check', function () {
  this.timeout(120_000);

  it('the handler table and the type-level test compile as they are', () => {
    assert.deepEqual(diagnostics(TYPE_TEST), []);
    assert.deepEqual(diagnostics(INDEX), []);
  });

  const mutations: Array<[string, RegExp, string, RegExp]> = [
    ['a verb left out of the table', /^\s*'menu\.help': menuHelp,\n/m, '', /menu\.help/],
    ['a verb the cards do not define', /^(\s*)'menu\.help': menuHelp,\n/m, "$1'menu.help': menuHelp,\n$1'menu.other': menuHelp,\n", /menu\.other/],
    ['a handler filed under another verb', /'menu\.mine': menuMine,/, "'menu.mine': menuHelp,", /menu\.(mine|help)/],
  ];
  for (const [title, from, to, named] of mutations) {
    it(`${title} is a compile error in bot/handlers/index.ts`, () => {
      const errors = diagnostics(INDEX, mutated(from, to));
      assert.ok(
        errors.some((e) => e.startsWith(INDEX) && named.test(e)),
        `expected an error matching ${named} in ${INDEX}, got: ${errors.join('\n') || 'none'}`,
      );
    });
  }
});
