// Reads the JUnit reports given as arguments and the allow-list of expected skips
// (.ci/expected-skips), prints every skipped test and every unexpected one, and ends with
// `passed failed skipped unexpected` on its last line for .ci/run to read.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const reports = process.argv.slice(2);
const allowListFile = join(dirname(fileURLToPath(import.meta.url)), 'expected-skips');
// One `file > test name` per line, exactly as printed below; `#` starts a comment.
const expected = new Set(
  (existsSync(allowListFile) ? readFileSync(allowListFile, 'utf8') : '')
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter(Boolean),
);

const unescape = (text) => text.replaceAll('&quot;', '"').replaceAll('&apos;', "'").replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&');
let passed = 0;
let failed = 0;
const skipped = [];
for (const report of reports) {
  const xml = readFileSync(report, 'utf8');
  // <testcase classname="..." name="..." time="...">...</testcase>, or self-closing.
  for (const match of xml.matchAll(/<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g)) {
    const attributes = match[1];
    const body = match[3] ?? '';
    const classname = unescape(/classname="([^"]*)"/.exec(attributes)?.[1] ?? '');
    const name = unescape(/\bname="([^"]*)"/.exec(attributes)?.[1] ?? '');
    if (/<(failure|error)\b/.test(body)) failed++;
    else if (/<skipped\b/.test(body)) skipped.push(`${classname} > ${name}`);
    else passed++;
  }
  // Errors outside any test case (a failing global setup, an unhandled rejection).
  const suiteErrors = [...xml.matchAll(/<testsuites\b[^>]*\berrors="(\d+)"/g)].reduce((sum, m) => sum + Number(m[1]), 0);
  const caseErrors = [...xml.matchAll(/<testcase\b[^>]*>\s*<error\b/g)].length;
  if (suiteErrors > caseErrors) failed += suiteErrors - caseErrors;
}
const unexpected = skipped.filter((name) => !expected.has(name));
if (skipped.length) {
  console.log(`skipped tests (${skipped.length}):`);
  for (const name of skipped) console.log(`  ${expected.has(name) ? 'expected  ' : 'UNEXPECTED'} ${name}`);
}
if (unexpected.length) console.log(`${unexpected.length} skipped test(s) are not in .ci/expected-skips: under CI nothing may be skipped that is not expected there.`);
console.log(`${passed} ${failed} ${skipped.length} ${unexpected.length}`);
