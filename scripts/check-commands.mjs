// Fails when a command contributed in package.json is never registered in src/, or when a menu
// or welcome link points at a command that does not exist.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const manifest = JSON.parse(readFileSync('package.json', 'utf8'));
const contributed = new Set(manifest.contributes.commands.map((c) => c.command));
const files = readdirSync('src', { recursive: true }).filter((f) => f.endsWith('.ts')).map((f) => readFileSync(join('src', f), 'utf8'));
const source = files.join('\n');
const problems = [];
for (const id of contributed) {
  const quoted = new RegExp(`(registerCommand|reg)\\(\\s*'${id.replace(/\./g, '\\.')}'`);
  if (!quoted.test(source)) problems.push(`${id} is contributed but never registered`);
}
const builtIn = (id) => /\.focus$/.test(id) || id.startsWith('workbench.');
for (const [menu, items] of Object.entries(manifest.contributes.menus)) {
  for (const item of items) if (!contributed.has(item.command) && !builtIn(item.command)) problems.push(`menu ${menu} uses unknown command ${item.command}`);
}
for (const w of manifest.contributes.viewsWelcome) {
  for (const m of w.contents.matchAll(/\(command:([\w.]+)\)/g)) if (!contributed.has(m[1]) && !builtIn(m[1])) problems.push(`welcome of ${w.view} links unknown command ${m[1]}`);
}
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(`${contributed.size} contributed commands, all registered; menus and welcome links resolve.`);
