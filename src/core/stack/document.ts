// Parses a stack file's text (YAML, or JSON) into the validated StackFile plus diagnostics located
// at the exact key or value they are about, and answers "what is at this position" for hovers.
// Positions are 0-based lines and UTF-16 columns, as VS Code counts them.
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node as YamlNode, type Pair } from 'yaml';
import { z } from 'zod';
import { stackFileSchema, type StackFile } from './schema';
import type { StackDiagnostic, StackPosition, StackRange } from './types';
import { closestMatch, formatPath, validateStack } from './validate';

export type StackFormat = 'yaml' | 'json';
type Path = (string | number)[];

export interface StackDocument {
  readonly format: StackFormat;
  /** The validated file; undefined when any error-severity diagnostic exists. */
  readonly file: StackFile | undefined;
  readonly diagnostics: readonly StackDiagnostic[];
  /** Range of the value at path (or of its key, with which: 'key'); undefined when absent. */
  rangeOf(path: readonly (string | number)[], which?: 'value' | 'key'): StackRange | undefined;
  /** The innermost scalar/key at a position (for hovers): its path and range. */
  nodeAt(pos: StackPosition): { path: (string | number)[]; range: StackRange; isKey: boolean } | undefined;
}

const EMPTY_MESSAGE = 'The stack file is empty: start from a template (LLM Stack: New Stack from Template…)';

const STACK_FILE_RE = /^(?:.+\.)?llmstack\.(?:ya?ml|json)$/i;

/** llmstack.yaml/.yml/.json and *.llmstack.yaml/.yml/.json, by base name, any case. */
export function isStackFileName(fileName: string): boolean {
  const base = fileName.split(/[\\/]/).pop() ?? '';
  return STACK_FILE_RE.test(base);
}

/** The format a file name implies: .json is JSON, everything else YAML. */
export function stackFormatOf(fileName: string): StackFormat {
  return /\.json$/i.test(fileName) ? 'json' : 'yaml';
}

/** Thrown by loadStackFile; the message lists the first errors as "line:col message" (1-based). */
export class StackFileError extends Error {
  constructor(readonly diagnostics: readonly StackDiagnostic[], source = 'stack file') {
    const errors = diagnostics.filter((d) => d.severity === 'error');
    const shown = errors.slice(0, 5).map((d) => `  ${d.range.start.line + 1}:${d.range.start.character + 1} ${d.message}`);
    if (errors.length > shown.length) shown.push(`  …and ${errors.length - shown.length} more`);
    super(`The ${source} has ${errors.length} error${errors.length === 1 ? '' : 's'}:\n${shown.join('\n')}`);
    this.name = 'StackFileError';
  }
}

/** The validated file, or a StackFileError carrying every diagnostic. Warnings do not throw. */
export function loadStackFile(text: string, format?: StackFormat): StackFile {
  const doc = parseStackDocument(text, format);
  if (!doc.file) throw new StackFileError(doc.diagnostics);
  return doc.file;
}

/**
 * Parses and validates in three steps, each only when the one before found no error: syntax
 * (YAML, or JSON.parse for JSON so its errors read like JSON errors), the zod schema, then the
 * semantic checks of validate.ts. Without `format`, text starting with "{" is taken as JSON.
 */
export function parseStackDocument(text: string, format?: StackFormat): StackDocument {
  const fmt: StackFormat = format ?? (/^\uFEFF?\s*\{/.test(text) ? 'json' : 'yaml');
  const lines = new Lines(text);
  const diagnostics: StackDiagnostic[] = [];
  const at = (severity: StackDiagnostic['severity'], code: string, message: string, path: Path, range: StackRange) =>
    diagnostics.push({ severity, code, message, path, range });

  if (/^\uFEFF?\s*$/.test(text)) {
    at('error', 'empty', EMPTY_MESSAGE, [], lines.range(0, 0));
    return new ParsedStack(fmt, undefined, diagnostics, undefined, lines);
  }
  if (fmt === 'json') {
    const error = jsonSyntaxError(text);
    if (error) {
      at('error', 'json', error.message, [], lines.range(error.offset, Math.min(error.offset + 1, text.length)));
      return new ParsedStack(fmt, undefined, diagnostics, undefined, lines);
    }
  }

  const doc = parseDocument(text, { lineCounter: new LineCounter(), prettyErrors: false, uniqueKeys: false });
  const locator = new Locator(doc, lines);
  for (const d of duplicateKeys(doc, lines)) diagnostics.push(d);
  for (const e of doc.errors) at('error', 'yaml', `YAML syntax error: ${e.message}`, [], lines.token(e.pos[0], e.pos[1]));
  for (const w of doc.warnings) at('warning', 'yaml', `YAML: ${w.message}`, [], lines.range(w.pos[0], w.pos[1]));
  if (diagnostics.some((d) => d.severity === 'error')) return new ParsedStack(fmt, undefined, diagnostics, locator, lines);

  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) {
    at('error', 'empty', EMPTY_MESSAGE, [], lines.range(0, 0));
    return new ParsedStack(fmt, undefined, diagnostics, locator, lines);
  }

  let input: unknown;
  try {
    input = doc.toJS({ maxAliasCount: 1000 });
  } catch (err) {
    // An alias to an anchor that does not exist (or an alias bomb): the only way toJS fails.
    const alias = firstBadAlias(doc);
    const range = alias?.range ? lines.range(alias.range[0], alias.range[1]) : lines.range(0, 0);
    at('error', 'yaml', `YAML: ${err instanceof Error ? err.message : String(err)}; define the anchor (&name) before using *name.`, [], range);
    return new ParsedStack(fmt, undefined, diagnostics, locator, lines);
  }

  const result = stackFileSchema.safeParse(input);
  if (!result.success) {
    for (const issue of result.error.issues) {
      for (const d of issueDiagnostics(issue as Issue, [], input, locator)) diagnostics.push(d);
    }
    sortByPosition(diagnostics);
    return new ParsedStack(fmt, undefined, diagnostics, locator, lines);
  }

  for (const f of validateStack(result.data)) {
    at(f.severity, f.code, f.message, f.path, locator.diagnosticRange(f.path));
  }
  sortByPosition(diagnostics);
  const ok = !diagnostics.some((d) => d.severity === 'error');
  return new ParsedStack(fmt, ok ? result.data : undefined, diagnostics, locator, lines);
}

/** Document order, so lists and the StackFileError message read top to bottom (the sort is stable). */
function sortByPosition(diagnostics: StackDiagnostic[]): void {
  diagnostics.sort((a, b) => a.range.start.line - b.range.start.line || a.range.start.character - b.range.start.character);
}

class ParsedStack implements StackDocument {
  constructor(
    readonly format: StackFormat,
    readonly file: StackFile | undefined,
    readonly diagnostics: readonly StackDiagnostic[],
    private readonly locator: Locator | undefined,
    private readonly lines: Lines,
  ) {}

  rangeOf(path: readonly (string | number)[], which: 'value' | 'key' = 'value'): StackRange | undefined {
    return this.locator?.rangeOf(path, which);
  }

  nodeAt(pos: StackPosition): { path: (string | number)[]; range: StackRange; isKey: boolean } | undefined {
    return this.locator?.nodeAt(this.lines.offsetAt(pos));
  }
}

// ---------------------------------------------------------------------------------------------
// Offsets and positions

/** Line starts as VS Code sees them: "\n", "\r\n" and a lone "\r" each end a line. */
class Lines {
  private readonly starts: number[] = [0];

  constructor(private readonly text: string) {
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 13 /* \r */ && text.charCodeAt(i + 1) === 10) i++;
      if (c === 10 || c === 13) this.starts.push(i + 1);
    }
  }

  positionAt(offset: number): StackPosition {
    const o = Math.max(0, Math.min(offset, this.text.length));
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= o) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo, character: o - this.starts[lo] };
  }

  offsetAt(pos: StackPosition): number {
    if (pos.line < 0) return 0;
    if (pos.line >= this.starts.length) return this.text.length;
    const start = this.starts[pos.line];
    const end = pos.line + 1 < this.starts.length ? this.starts[pos.line + 1] : this.text.length;
    return Math.min(start + Math.max(0, pos.character), end);
  }

  /** The range of [start, end), with trailing blanks and line breaks left out. */
  range(start: number, end: number): StackRange {
    let e = Math.max(start, end);
    while (e > start && /\s/.test(this.text[e - 1])) e--;
    return { start: this.positionAt(start), end: this.positionAt(e) };
  }

  /**
   * A syntax error's range. yaml marks an indentation error at the blanks before the token; the
   * token itself (up to the next blank) is what a reader needs to see.
   */
  token(start: number, end: number): StackRange {
    if (!/^[ \t]*$/.test(this.text.slice(start, end))) return this.range(start, end);
    const rest = /^[ \t]*(\S*)/.exec(this.text.slice(start))!;
    const from = start + rest[0].length - rest[1].length;
    return this.range(from, from + rest[1].length);
  }

  /** Like range, but cut at the end of the first line (a block mapping is marked by its first line). */
  firstLine(start: number, end: number): StackRange {
    const nl = this.text.slice(start, end).search(/[\r\n]/);
    return this.range(start, nl >= 0 ? start + nl : end);
  }
}

// ---------------------------------------------------------------------------------------------
// Paths to nodes

interface Located {
  readonly node: YamlNode | null | undefined;
  /** The key node, when the value sits in a mapping. */
  readonly key?: YamlNode;
}

function keyText(pair: Pair): string | undefined {
  const k = pair.key;
  if (isScalar(k)) return String(k.value);
  return undefined;
}

class Locator {
  constructor(
    private readonly doc: Document,
    private readonly lines: Lines,
  ) {}

  /** The node at path (with its key in a mapping), or undefined when the path does not exist. */
  find(path: readonly (string | number)[]): Located | undefined {
    let here: Located = { node: this.doc.contents as YamlNode | null };
    for (const seg of path) {
      const node = isAlias(here.node) ? (here.node.resolve(this.doc) as YamlNode | undefined) : here.node;
      if (isMap(node)) {
        // Later keys win, as in toJS; keys compare as text (toJS turns `8080:` into "8080").
        const pair = [...node.items].reverse().find((p) => keyText(p) === String(seg));
        if (!pair) return undefined;
        here = { node: pair.value as YamlNode | null, key: pair.key as YamlNode };
      } else if (isSeq(node) && typeof seg === 'number') {
        if (seg < 0 || seg >= node.items.length) return undefined;
        here = { node: node.items[seg] as YamlNode | null };
      } else {
        return undefined;
      }
    }
    return here;
  }

  rangeOf(path: readonly (string | number)[], which: 'value' | 'key'): StackRange | undefined {
    const hit = this.find(path);
    if (!hit) return undefined;
    const n = which === 'key' ? hit.key : hit.node;
    return n?.range ? this.lines.range(n.range[0], n.range[1]) : undefined;
  }

  /**
   * Where to draw a diagnostic about path: a scalar's own text; for a mapping or list its key
   * (or its first line, for a list item); for a path that does not exist, the nearest ancestor.
   */
  diagnosticRange(path: readonly (string | number)[]): StackRange {
    for (let n = path.length; n >= 0; n--) {
      const hit = this.find(path.slice(0, n));
      if (!hit) continue;
      const { node, key } = hit;
      const range = node?.range;
      const isLeaf = isScalar(node) || isAlias(node);
      if (isLeaf && range && range[1] > range[0]) return this.lines.range(range[0], range[1]);
      if (key?.range) return this.lines.range(key.range[0], key.range[1]);
      if (range) return this.lines.firstLine(range[0], range[1]);
    }
    return this.lines.range(0, 0);
  }

  nodeAt(offset: number): { path: (string | number)[]; range: StackRange; isKey: boolean } | undefined {
    const inside = (n: unknown): n is YamlNode => {
      const r = (n as YamlNode | null)?.range;
      return !!r && r[0] <= offset && offset <= r[1];
    };
    const leaf = (n: YamlNode, path: Path, isKey: boolean) => ({ path, range: this.lines.range(n.range![0], n.range![1]), isKey });
    const walk = (node: unknown, path: Path): ReturnType<Locator['nodeAt']> => {
      if (isMap(node)) {
        for (const pair of node.items) {
          const k = keyText(pair);
          if (k === undefined) continue;
          if (inside(pair.key)) return leaf(pair.key as YamlNode, [...path, k], true);
          if (inside(pair.value)) return walk(pair.value, [...path, k]);
        }
        return undefined;
      }
      if (isSeq(node)) {
        for (let i = 0; i < node.items.length; i++) if (inside(node.items[i])) return walk(node.items[i], [...path, i]);
        return undefined;
      }
      if ((isScalar(node) || isAlias(node)) && inside(node)) return leaf(node, path, false);
      return undefined;
    };
    return walk(this.doc.contents, []);
  }
}

// ---------------------------------------------------------------------------------------------
// Syntax

/** JSON.parse's complaint with its offset ("… in JSON at position 42" in Node's messages). */
function jsonSyntaxError(text: string): { message: string; offset: number } | undefined {
  try {
    // A byte order mark is not JSON, but editors keep it; a blank keeps every offset in place.
    JSON.parse(text.replace(/^\uFEFF/, ' '));
    return undefined;
  } catch (err) {
    const raw = err instanceof Error ? err.message : String(err);
    const m = /at position (\d+)/.exec(raw);
    const offset = m ? Number(m[1]) : /end of JSON input/.test(raw) ? text.length : 0;
    const reason = raw.replace(/\s*(?:in|after) JSON at position \d+.*$/s, '').replace(/^JSON\.parse: /, '');
    return { message: `JSON syntax error: ${reason}. Check for a missing comma, quote or bracket here (comments and trailing commas are not JSON; use llmstack.yaml for those).`, offset };
  }
}

/** Every repeated key of every mapping, at the repeat, naming the line of the first. */
function duplicateKeys(doc: Document, lines: Lines): StackDiagnostic[] {
  const out: StackDiagnostic[] = [];
  visit(doc, {
    Map(_key, map, path) {
      const first = new Map<string, Pair>();
      for (const pair of map.items) {
        const k = keyText(pair);
        if (k === undefined) continue;
        const earlier = first.get(k);
        if (!earlier) {
          first.set(k, pair);
          continue;
        }
        const keyRange = (pair.key as YamlNode).range!;
        const firstLine = lines.positionAt((earlier.key as YamlNode).range![0]).line + 1;
        out.push({
          severity: 'error',
          code: 'yaml',
          message: `Duplicate key "${k}": it is already set on line ${firstLine}. Keep one of the two (a mapping holds each key once).`,
          // The map itself is not in its own ancestry: without it a map inside a list loses its index.
          path: [...pathOf([...path, map]), k],
          range: lines.range(keyRange[0], keyRange[1]),
        });
      }
    },
  });
  return out;
}

/** The document path of a node from yaml's visitor ancestry. */
function pathOf(ancestry: readonly unknown[]): Path {
  const out: Path = [];
  for (let i = 0; i < ancestry.length; i++) {
    const a = ancestry[i];
    const next = ancestry[i + 1];
    if (isPair(a)) {
      const k = keyText(a);
      if (k !== undefined) out.push(k);
    } else if (isSeq(a) && next !== undefined) {
      out.push(a.items.indexOf(next as never));
    }
  }
  return out;
}

function firstBadAlias(doc: Document): YamlNode | undefined {
  let bad: YamlNode | undefined;
  visit(doc, {
    Alias(_key, alias) {
      if (!bad && alias.resolve(doc) === undefined) bad = alias;
    },
  });
  return bad;
}

// ---------------------------------------------------------------------------------------------
// Schema issues

/** The parts of a zod v4 issue this module reads (zod's own types differ per code). */
interface Issue {
  readonly code: string;
  readonly path: readonly PropertyKey[];
  readonly message: string;
  readonly keys?: readonly string[];
  readonly errors?: readonly (readonly Issue[])[];
  readonly issues?: readonly Issue[];
  readonly values?: readonly unknown[];
  readonly origin?: string;
  readonly minimum?: number | bigint;
  readonly maximum?: number | bigint;
}

function valueAt(root: unknown, path: readonly (string | number)[]): unknown {
  let v = root;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[seg];
  }
  return v;
}

function hasKey(root: unknown, path: readonly (string | number)[]): boolean {
  const parent = valueAt(root, path.slice(0, -1));
  return parent !== null && typeof parent === 'object' && Object.prototype.hasOwnProperty.call(parent, path[path.length - 1]);
}

/** How a value reads in a message: strings quoted, collections by kind. */
function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'an empty value';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 37)}...` : v);
  return String(v);
}

function where(path: readonly (string | number)[]): string {
  return path.length === 0 ? 'The top level' : formatPath(path);
}

/** One zod issue as diagnostics (an unknown-keys issue gives one per key). */
function issueDiagnostics(issue: Issue, prefix: Path, input: unknown, locator: Locator): StackDiagnostic[] {
  const path: Path = [...prefix, ...issue.path.map((p) => (typeof p === 'number' ? p : String(p)))];
  const value = valueAt(input, path);
  const got = describeValue(value);
  const expected = () => describeSchema(schemaAt(path)) ?? issue.message;
  const error = (message: string, at: Path = path, range = locator.diagnosticRange(at)): StackDiagnostic => ({
    severity: 'error',
    code: 'schema',
    message,
    path: at,
    range,
  });

  // A required key that is not there reads the same whatever check failed on `undefined`.
  if (value === undefined && path.length > 0 && issue.code !== 'unrecognized_keys' && issue.code !== 'invalid_key' && !hasKey(input, path)) {
    const key = path[path.length - 1];
    const parent = path.slice(0, -1);
    return [error(`Missing required key "${key}" ${parent.length === 0 ? 'at the top level' : `in ${formatPath(parent)}`}. Add it, with ${expected()}.`)];
  }

  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = objectKeys(schemaAt(path));
      return (issue.keys ?? []).map((key) => {
        const guess = closestMatch(key, known);
        const hint = guess ? ` Did you mean "${guess}"?` : known.length > 0 ? ` Allowed keys: ${known.join(', ')}.` : '';
        const keyPath = [...path, key];
        return error(`Unknown key "${key}" ${path.length === 0 ? 'at the top level' : `in ${formatPath(path)}`}.${hint}`, keyPath, locator.rangeOf(keyPath, 'key') ?? locator.diagnosticRange(path));
      });
    }
    case 'invalid_union': {
      // A branch that got past the value's own type (its issues lie deeper, or are unknown keys)
      // is the one the author meant: report its issues rather than every alternative.
      const meant = (issue.errors ?? [])
        .filter((b) => b.length > 0 && b.every((i) => i.path.length > 0 || i.code === 'unrecognized_keys'))
        .sort((a, b) => a.length - b.length)[0];
      if (meant) return meant.flatMap((i) => issueDiagnostics(i, path, input, locator));
      return [error(`${where(path)}: expected ${expected()}, got ${got}.`)];
    }
    case 'invalid_type':
      return [error(`${where(path)}: expected ${expected()}, got ${got}.`)];
    case 'invalid_value': {
      const options = (issue.values ?? []).filter((o): o is string => typeof o === 'string');
      const guess = typeof value === 'string' ? closestMatch(value, options) : undefined;
      return [error(`${where(path)}: expected ${expected()}, got ${got}.${guess ? ` Did you mean "${guess}"?` : ''}`)];
    }
    case 'invalid_format':
      // Our patterns carry their own wording: "a port such as …", or "use 1–63 lower-case …".
      return [error(/^an? /.test(issue.message) ? `${where(path)}: expected ${issue.message}, got ${got}.` : `${where(path)}: ${got} is not valid: ${issue.message}.`)];
    case 'invalid_key': {
      const key = path[path.length - 1];
      const parent = path.slice(0, -1);
      const why = (issue.issues ?? []).map((i) => i.message).join('; ') || issue.message;
      const suggestion = String(key).toLowerCase().replace(/[^a-z0-9_.-]+/g, '-').replace(/^[^a-z0-9]+/, '').slice(0, 63);
      const instead = suggestion && suggestion !== key ? ` For example "${suggestion}".` : '';
      return [error(`Invalid name "${String(key)}" in ${where(parent)}: ${why}.${instead}`, path, locator.rangeOf(path, 'key') ?? locator.diagnosticRange(path))];
    }
    case 'too_small':
    case 'too_big':
      if ((issue.origin === 'array' || issue.origin === 'string') && issue.code === 'too_small' && Number(issue.minimum) === 1) {
        return [error(`${where(path)}: must not be empty; ${issue.origin === 'array' ? 'add an entry or remove the key' : 'write a value or remove the key'}.`)];
      }
      return [error(`${where(path)}: expected ${expected()}, got ${got}.`)];
    default:
      return [error(`${where(path)}: ${issue.message}.`)];
  }
}

// ---------------------------------------------------------------------------------------------
// Reading the zod schema back, to say what a place expects

/** The slice of zod v4's definition objects read here. */
interface Def {
  readonly type: string;
  readonly checks?: readonly { readonly _zod: { readonly def: CheckDef } }[];
}
interface CheckDef {
  readonly check: string;
  readonly value?: number;
  readonly inclusive?: boolean;
  readonly minimum?: number;
  readonly format?: string;
  readonly pattern?: RegExp;
  readonly error?: unknown;
}

function defOf(s: z.ZodType): Def {
  return (s as unknown as { _zod: { def: Def } })._zod.def;
}

function unwrap(s: z.ZodType): z.ZodType {
  let t = s;
  while (t instanceof z.ZodOptional || t instanceof z.ZodNullable || t instanceof z.ZodDefault) t = t.unwrap() as z.ZodType;
  return t;
}

/** The schema that governs the value at path; unions are entered through the option that has the next step. */
function schemaAt(path: readonly (string | number)[]): z.ZodType | undefined {
  let s: z.ZodType | undefined = stackFileSchema;
  for (const seg of path) {
    s = s && step(unwrap(s), seg);
    if (!s) return undefined;
  }
  return s && unwrap(s);
}

function step(s: z.ZodType, seg: string | number): z.ZodType | undefined {
  if (s instanceof z.ZodObject) return (s.shape as Record<string, z.ZodType>)[String(seg)];
  if (s instanceof z.ZodRecord) return s.valueType as z.ZodType;
  if (s instanceof z.ZodArray) return typeof seg === 'number' ? (s.element as z.ZodType) : undefined;
  if (s instanceof z.ZodUnion) {
    for (const o of s.options as readonly z.ZodType[]) {
      const next = step(unwrap(o), seg);
      if (next) return next;
    }
  }
  return undefined;
}

function objectKeys(s: z.ZodType | undefined): string[] {
  if (s instanceof z.ZodObject) return Object.keys(s.shape);
  if (s instanceof z.ZodUnion) return (s.options as readonly z.ZodType[]).flatMap((o) => objectKeys(unwrap(o)));
  return [];
}

function joinOr(parts: readonly string[]): string {
  if (parts.length <= 1) return parts[0] ?? '';
  return `${parts.slice(0, -1).join(', ')} or ${parts[parts.length - 1]}`;
}

/** What a schema accepts, in words: "a port such as …", `"auto" or a positive whole number`. */
function describeSchema(schema: z.ZodType | undefined): string | undefined {
  if (!schema) return undefined;
  const s = unwrap(schema);
  const checks = (defOf(s).checks ?? []).map((c) => c._zod.def);
  if (s instanceof z.ZodUnion) {
    const parts = [...new Set((s.options as readonly z.ZodType[]).map((o) => describeSchema(o)).filter((p): p is string => !!p))];
    // Alternatives that are lists themselves ("a port such as "8080", "8080:80" or …") need a firmer break.
    return parts.some((p) => p.includes(', ')) ? parts.join(', or ') : joinOr(parts);
  }
  if (s instanceof z.ZodLiteral) return joinOr([...s.values].map((v) => JSON.stringify(v)));
  if (s instanceof z.ZodEnum) return `one of ${joinOr(s.options.map((o) => JSON.stringify(o)))}`;
  if (s instanceof z.ZodBoolean) return 'true/false';
  if (s instanceof z.ZodString) {
    const regex = checks.find((c) => c.check === 'string_format' && c.format === 'regex');
    if (regex) {
      const said = typeof regex.error === 'function' ? (regex.error as (i: object) => unknown)({}) : undefined;
      if (typeof said === 'string') return /^an? /.test(said) ? said : `a name (${said})`;
      return `text matching ${String(regex.pattern)}`;
    }
    return checks.some((c) => c.check === 'min_length' && (c.minimum ?? 0) > 0) ? 'a non-empty string' : 'a string';
  }
  if (s instanceof z.ZodNumber) {
    const whole = s.isInt;
    const noun = whole ? 'whole number' : 'number';
    const lower = checks.find((c) => c.check === 'greater_than');
    const upper = checks.find((c) => c.check === 'less_than');
    if (lower && upper) return `a ${noun} from ${lower.inclusive ? lower.value : `above ${lower.value}`} to ${upper.value}`;
    if (lower?.value === 0) return lower.inclusive ? `a ${noun} (0 or more)` : `a positive ${noun}`;
    if (lower) return `a ${noun} of at least ${lower.value}`;
    return `a ${noun}`;
  }
  if (s instanceof z.ZodArray) {
    const item = describeSchema(s.element as z.ZodType);
    return item && item.length <= 40 ? `a list (each item ${item})` : 'a list';
  }
  if (s instanceof z.ZodObject) return `a mapping (${Object.keys(s.shape).join(', ')})`;
  if (s instanceof z.ZodRecord) return 'a mapping';
  return undefined;
}
