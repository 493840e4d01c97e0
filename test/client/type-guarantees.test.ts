/** The type-level guarantees (type-guarantees.ts) fail for the reason they name: with every
 * `@ts-expect-error` taken out, each guarded line has a compiler error that mentions the
 * member it is about. tsc alone would accept an error of any kind on those lines. */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const file = join(here, 'type-guarantees.ts');
const DIRECTIVE = /\/\/ @ts-expect-error: (\S+)/;

describe('the client\'s type-level guarantees', () => {
  it('when their @ts-expect-error directives are removed, then every guarded line fails to compile, naming the member it guards', () => {
    const source = readFileSync(file, 'utf8');
    const lines = source.split('\n');
    const expected = lines.flatMap((line, i) => {
      const match = DIRECTIVE.exec(line);
      return match ? [{ line: i + 1, word: match[1]!, code: lines[i + 1]!.trim() }] : [];
    });
    expect(expected.length).toBeGreaterThanOrEqual(15);

    const config = ts.getParsedCommandLineOfConfigFile(join(here, '..', 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined })!;
    const host = ts.createCompilerHost(config.options);
    const stripped = source.replaceAll('// @ts-expect-error:', '// (expect error):');
    const readFile = host.readFile.bind(host);
    host.readFile = (name) => (name === file ? stripped : readFile(name));
    const getSourceFile = host.getSourceFile.bind(host);
    host.getSourceFile = (name, language, ...rest) =>
      name === file ? ts.createSourceFile(name, stripped, language, true) : getSourceFile(name, language, ...rest);
    const program = ts.createProgram({ rootNames: [file], options: { ...config.options, noEmit: true }, host });
    const diagnostics = ts.getPreEmitDiagnostics(program, program.getSourceFile(file));

    // Per line: what each error says (with where the expected type comes from) and what it points at.
    const byLine = new Map<number, { message: string; at: string }[]>();
    for (const d of diagnostics) {
      if (d.file?.fileName !== file || d.start === undefined) continue;
      const { line } = d.file.getLineAndCharacterOfPosition(d.start);
      const message = [d.messageText, ...(d.relatedInformation ?? []).map((r) => r.messageText)].map((m) => ts.flattenDiagnosticMessageText(m, ' ')).join(' | ');
      byLine.set(line, [...(byLine.get(line) ?? []), { message, at: d.file.text.slice(d.start, d.start + (d.length ?? 0)) }]);
    }
    // The word must be quoted in the message ('id', "sleeping") or be exactly the member the error points at.
    const about = ({ message, at }: { message: string; at: string }, word: string) => message.includes(`'${word}'`) || message.includes(`"${word}"`) || at === word;
    const unexplained = expected.filter(({ line, word }) => !(byLine.get(line) ?? []).some((error) => about(error, word)));
    expect(unexplained.map(({ line, code, word }) => ({ code, word, errors: byLine.get(line) ?? [] }))).toEqual([]);
    // And nothing else in the file fails.
    const guarded = new Set(expected.map((e) => e.line));
    expect([...byLine.entries()].filter(([line]) => !guarded.has(line))).toEqual([]);
  });
});
