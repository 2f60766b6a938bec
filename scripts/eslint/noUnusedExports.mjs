// ESLint rule: an export that no other file imports is dead weight (or a missing caller). It reads
// every file's imports once per lint run (syntax only, so the src and webview-ui projects are seen
// together: the panel imports the webview's page module).
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const ROOTS = ['src', 'test', 'bench', 'webview-ui'];
const EXT = ['.ts', '.mts', '/index.ts', ''];

/** cwd -> (file -> names other files import from it; '*' for a namespace import, export *, import()). */
const indexes = new Map();

function resolve(from, spec) {
  if (!spec.startsWith('.')) return undefined;
  const base = path.resolve(path.dirname(from), spec);
  for (const e of EXT) if (fs.existsSync(base + e) && fs.statSync(base + e).isFile()) return base + e;
  return undefined;
}

/** Reads every file's imports syntactically (relative specifiers only): fast, and across the src and webview projects. */
function buildIndex(cwd) {
  const used = new Map();
  const use = (file, name) => {
    if (!file) return;
    if (!used.has(file)) used.set(file, new Set());
    used.get(file).add(name);
  };
  const files = ROOTS.flatMap((r) => (fs.existsSync(path.join(cwd, r)) ? fs.readdirSync(path.join(cwd, r), { recursive: true }).map((f) => path.join(cwd, r, f)) : []))
    .filter((f) => /\.m?ts$/.test(f) && !f.endsWith('.d.ts') && !f.includes(`${path.sep}node_modules${path.sep}`));
  for (const f of files) {
    const sf = ts.createSourceFile(f, fs.readFileSync(f, 'utf8'), ts.ScriptTarget.Latest, true);
    const visit = (node) => {
      if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
        const file = resolve(f, node.moduleSpecifier.text);
        const clause = node.importClause;
        if (!clause) use(file, '*');
        else {
          if (clause.name) use(file, 'default');
          const b = clause.namedBindings;
          if (b && ts.isNamespaceImport(b)) use(file, '*');
          else if (b) for (const e of b.elements) use(file, (e.propertyName ?? e.name).text);
        }
      } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
        const file = resolve(f, node.moduleSpecifier.text);
        if (!node.exportClause || ts.isNamespaceExport(node.exportClause)) use(file, '*');
        else for (const e of node.exportClause.elements) use(file, (e.propertyName ?? e.name).text);
      } else if (ts.isCallExpression(node) && (node.expression.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(node.expression) && node.expression.text === 'require')) && node.arguments[0] && ts.isStringLiteral(node.arguments[0])) {
        use(resolve(f, node.arguments[0].text), '*');
      } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
        use(resolve(f, node.argument.literal.text), node.qualifier && ts.isIdentifier(node.qualifier) ? node.qualifier.text : '*');
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return used;
}

export default {
  meta: {
    type: 'problem',
    docs: { description: 'Report exports that no other file in the program imports' },
    messages: { unused: '`{{name}}` is exported but no other file imports it: drop the export, or the code.' },
    schema: [],
  },
  create(context) {
    if (!indexes.has(context.cwd)) indexes.set(context.cwd, buildIndex(context.cwd));
    const used = indexes.get(context.cwd).get(context.filename) ?? new Set();
    if (used.has('*')) return {};
    const report = (node, name) => {
      if (!used.has(name)) context.report({ node, messageId: 'unused', data: { name } });
    };
    return {
      ExportNamedDeclaration(node) {
        if (node.source) return;
        const d = node.declaration;
        if (!d) {
          for (const s of node.specifiers) report(s, s.exported.name ?? s.exported.value);
          return;
        }
        if (d.type === 'VariableDeclaration') {
          for (const v of d.declarations) if (v.id.type === 'Identifier') report(v.id, v.id.name);
        } else if (d.id) report(d.id, d.id.name);
      },
      ExportDefaultDeclaration(node) {
        report(node, 'default');
      },
    };
  },
};
