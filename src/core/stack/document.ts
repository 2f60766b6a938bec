// Parses a stack file's text (YAML, or JSON) into the validated StackFile plus diagnostics located
// at the exact key or value they are about, and answers "what is at this position" for hovers.
// Positions are 0-based lines and UTF-16 columns, as VS Code counts them.
import { isAlias, isMap, isScalar, isSeq, parseDocument, stringify, type Alias, type Document, type Node as YamlNode, type Pair, type YAMLMap } from 'yaml';
import { z } from 'zod';
import { stackFileSchema, type StackFile } from './schema';
import type { StackDiagnostic, StackPosition, StackRange } from './types';
import { checkStack, closestMatch, formatPath, MAX_PROBLEMS, Problems, shorten, type ProblemSink, type StackFinding } from './validate';

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

/**
 * The offset of the first "[" or "{" nested more than four times MAX_STACK_DEPTH deep, outside quotes
 * and comments, or undefined: nesting the tree pass would refuse anyway, caught before the yaml
 * library spends time on it. One pass over the text; brackets inside plain scalars count too, which
 * can only refuse a file holding hundreds of unmatched brackets.
 */
export function flowTooDeepAt(text: string): number | undefined {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > 4 * MAX_STACK_DEPTH) return i;
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
      if (depth > 0) depth--;
    } else if (c === 0x22 /* " */) {
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c /* \ */) i++;
    } else if (c === 0x27 /* ' */) {
      // '' inside single quotes is an escaped quote: it ends the string and opens the next one.
      for (i++; i < text.length && text.charCodeAt(i) !== 0x27; i++);
    } else if (c === 0x23 /* # */ && (i === 0 || /\s/.test(text[i - 1]))) {
      while (i < text.length && text.charCodeAt(i) !== 0x0a) i++;
    }
  }
  return undefined;
}

/**
 * Larger files get one diagnostic instead of a parse. A stack file is a few KB; parsing is linear,
 * but the yaml library alone takes over a second per MB on a 2-core machine (its CST parser ~0.6 s),
 * on every open and every pause in typing, in the extension host. 64 KiB (thirty times the largest
 * template) keeps the worst file within the editor's 200 ms budget (bench/hardening.ts).
 */
export const MAX_STACK_FILE_BYTES = 64 * 1024;
/** Deeper nesting is refused before anything recurses into it: a stack file's deepest value is 5 levels down. */
export const MAX_STACK_DEPTH = 64;
const TOO_DEEP_MESSAGE = `Nested more than ${MAX_STACK_DEPTH} levels deep here; a stack file's values sit at most 5 levels down (runtimes.<name>.healthcheck.test). Flatten this value.`;
/**
 * Values that aliases (*name) may add on top of the file's own nodes. Aliases share one value, but
 * the checks walk every use: nine levels of nine aliases ("billion laughs") would be 387 million.
 */
const MAX_ALIAS_VALUES = 10_000;
/** The code of the last diagnostic when some were left out. */
export const MORE_PROBLEMS_CODE = 'more-problems';

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
    const notShown = diagnostics.find((d) => d.code === MORE_PROBLEMS_CODE);
    if (notShown) shown.push(`  ${notShown.message}`);
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

const kb = (bytes: number) => `${Math.ceil(bytes / 1024).toLocaleString('en-US')} KB`;

/**
 * Parses and validates in three steps, each only when the one before found no error: syntax
 * (YAML, or JSON.parse for JSON so its errors read like JSON errors), the zod schema, then the
 * semantic checks of validate.ts. Without `format`, text starting with "{" is taken as JSON.
 * Bounded for hostile files: a file over MAX_STACK_FILE_BYTES is not parsed, nesting past
 * MAX_STACK_DEPTH and alias bombs are refused, every step is linear, and at most MAX_PROBLEMS
 * diagnostics are listed (a last one counts the rest).
 */
export function parseStackDocument(text: string, format?: StackFormat): StackDocument {
  const fmt: StackFormat = format ?? (/^\uFEFF?\s*\{/.test(text) ? 'json' : 'yaml');
  // Characters never outnumber UTF-8 bytes: a long text is over the bound without counting bytes.
  const bytes = text.length > MAX_STACK_FILE_BYTES ? text.length : Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_STACK_FILE_BYTES) {
    // Only the first line is needed to place the one diagnostic.
    const head = new Lines(text.slice(0, 4096));
    const message = `This stack file is ${kb(bytes)}, larger than the ${kb(MAX_STACK_FILE_BYTES)} the editor checks, so it is not parsed and cannot be planned or applied. A stack file needs a few KB: split it into smaller stacks or remove what it does not need.`;
    const range = head.firstLine(0, text.length);
    return new ParsedStack(fmt, undefined, [{ severity: 'error', code: 'too-large', message, path: [], range }], undefined, head);
  }

  const lines = new Lines(text);
  const problems = new Problems<StackDiagnostic>();
  const report = (severity: StackDiagnostic['severity'], code: string, path: Path, message: () => string, range: () => StackRange) =>
    problems.add(severity, () => ({ severity, code, message: message(), path, range: range() }));
  const done = (file: StackFile | undefined, locator: Locator | undefined) => new ParsedStack(fmt, problems.hasError ? undefined : file, finish(problems, lines), locator, lines);

  if (/^\uFEFF?\s*$/.test(text)) {
    report('error', 'empty', [], () => EMPTY_MESSAGE, () => lines.range(0, 0));
    return done(undefined, undefined);
  }
  if (fmt === 'json') {
    const error = jsonSyntaxError(text);
    if (error) {
      report('error', 'json', [], () => error.message, () => lines.range(error.offset, Math.min(error.offset + 1, text.length)));
      return done(undefined, undefined);
    }
  }

  // Deep flow nesting costs the yaml library itself dearly (50,000 brackets: a quarter of a second),
  // so it is refused from the text before yaml sees it.
  const deepAt = flowTooDeepAt(text);
  if (deepAt !== undefined) {
    report('error', 'too-deep', [], () => TOO_DEEP_MESSAGE, () => lines.token(deepAt, deepAt + 1));
    return done(undefined, undefined);
  }

  const doc = parseYaml(text);
  const tree = scanTree(doc, lines, problems);
  const locator = new Locator(doc, lines, tree.aliases);
  for (const e of doc.errors) report('error', 'yaml', [], () => `YAML syntax error: ${e.message}`, () => lines.token(e.pos[0], e.pos[1]));
  for (const w of doc.warnings) report('warning', 'yaml', [], () => `YAML: ${w.message}`, () => lines.range(w.pos[0], w.pos[1]));
  if (tree.tooDeep) {
    const node = tree.tooDeep;
    report(
      'error',
      'too-deep',
      [],
      () => TOO_DEEP_MESSAGE,
      () => (node.range ? lines.firstLine(node.range[0], node.range[1]) : lines.range(0, 0)),
    );
  }
  if (problems.hasError) return done(undefined, locator);

  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) {
    report('error', 'empty', [], () => EMPTY_MESSAGE, () => lines.range(0, 0));
    return done(undefined, locator);
  }

  let input: unknown;
  try {
    input = new PlainValues(doc, tree).of(doc.contents);
  } catch (err) {
    if (!(err instanceof AliasError)) throw err;
    const range = err.at.range;
    report('error', 'yaml', [], () => `YAML: ${err.message}`, () => (range ? lines.range(range[0], range[1]) : lines.range(0, 0)));
    return done(undefined, locator);
  }

  const result = stackFileSchema.safeParse(input);
  if (!result.success) {
    for (const issue of result.error.issues) reportIssue(issue as Issue, [], input, locator, problems);
    return done(undefined, locator);
  }

  // Findings become diagnostics (their range looked up) only when they will be listed.
  const findings: ProblemSink<StackFinding> = {
    add: (severity, make) =>
      problems.add(severity, () => {
        const f = make();
        return { severity: f.severity, code: f.code, message: f.message, path: f.path, range: locator.diagnosticRange(f.path) };
      }),
  };
  checkStack(result.data, findings);
  return done(result.data, locator);
}

/** yaml's parse, with the stack traces of its error objects switched off: a file of syntax errors makes one per line. */
function parseYaml(text: string): Document {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return parseDocument(text, { prettyErrors: false, uniqueKeys: false });
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/**
 * The diagnostics to list, in document order (so lists and the StackFileError message read top to
 * bottom; the sort is stable), and a last one counting those left out.
 */
function finish(problems: Problems<StackDiagnostic>, lines: Lines): StackDiagnostic[] {
  const { items, notShown } = problems.shown();
  items.sort((a, b) => a.range.start.line - b.range.start.line || a.range.start.character - b.range.start.character);
  if (notShown > 0) {
    items.push({
      severity: 'info',
      code: MORE_PROBLEMS_CODE,
      message: `…and ${notShown.toLocaleString('en-US')} more problem${notShown === 1 ? '' : 's'} not shown (the editor lists ${MAX_PROBLEMS} per stack file, errors first). Fix these first.`,
      path: [],
      range: lines.range(0, 0),
    });
  }
  return items;
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
    // Sticky expressions read from `start` without copying the rest of the text, once per error.
    const blanks = /[ \t]*/y;
    blanks.lastIndex = start;
    blanks.exec(this.text);
    if (blanks.lastIndex < end) return this.range(start, end);
    const token = /\S{0,200}/y;
    token.lastIndex = blanks.lastIndex;
    const from = blanks.lastIndex;
    return this.range(from, from + token.exec(this.text)![0].length);
  }

  /** Like range, but cut at the end of the first line (a block mapping is marked by its first line). */
  firstLine(start: number, end: number): StackRange {
    const line = this.positionAt(start).line;
    const next = line + 1 < this.starts.length ? this.starts[line + 1] : this.text.length;
    return this.range(start, Math.min(end, next));
  }
}

// ---------------------------------------------------------------------------------------------
// Paths to nodes

interface Located {
  readonly node: YamlNode | null | undefined;
  /** The key node, when the value sits in a mapping. */
  readonly key?: YamlNode;
}

/** A scalar key as the plain value's property name (as toJS names it: `8080:` is "8080", `null:` is ""). */
function keyText(pair: Pair): string | undefined {
  const k = pair.key;
  if (isScalar(k)) return k.value === null ? '' : typeof k.value === 'object' ? JSON.stringify(k.value) : String(k.value);
  return undefined;
}

class Locator {
  /** Each mapping's keys, indexed when a lookup first passes through it; later keys win, as in the plain value. */
  private readonly keys = new WeakMap<YAMLMap, Map<string, Pair>>();

  constructor(
    private readonly doc: Document,
    private readonly lines: Lines,
    private readonly aliases: ReadonlyMap<Alias, YamlNode | undefined>,
  ) {}

  private pair(map: YAMLMap, key: string): Pair | undefined {
    let index = this.keys.get(map);
    if (!index) {
      index = new Map();
      for (const p of map.items) {
        const k = keyText(p);
        if (k !== undefined) index.set(k, p);
      }
      this.keys.set(map, index);
    }
    return index.get(key);
  }

  /** The nodes along path, from the root, as far as the path exists (one per step taken, the root first). */
  private trail(path: readonly (string | number)[]): Located[] {
    let here: Located = { node: this.doc.contents as YamlNode | null };
    const out = [here];
    for (const seg of path) {
      const node = isAlias(here.node) ? this.aliases.get(here.node) : here.node;
      if (isMap(node)) {
        const pair = this.pair(node, String(seg));
        if (!pair) break;
        here = { node: pair.value as YamlNode | null, key: pair.key as YamlNode };
      } else if (isSeq(node) && typeof seg === 'number' && seg >= 0 && seg < node.items.length) {
        here = { node: node.items[seg] as YamlNode | null };
      } else {
        break;
      }
      out.push(here);
    }
    return out;
  }

  /** The node at path (with its key in a mapping), or undefined when the path does not exist. */
  find(path: readonly (string | number)[]): Located | undefined {
    const trail = this.trail(path);
    return trail.length === path.length + 1 ? trail[path.length] : undefined;
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
    const trail = this.trail(path);
    for (let n = trail.length - 1; n >= 0; n--) {
      const { node, key } = trail[n];
      const range = node?.range;
      const isLeaf = isScalar(node) || isAlias(node);
      if (isLeaf && range && range[1] > range[0]) return this.lines.range(range[0], range[1]);
      if (key?.range) return this.lines.range(key.range[0], key.range[1]);
      if (range) return this.lines.firstLine(range[0], range[1]);
    }
    return this.lines.range(0, 0);
  }

  /** Descends to the key or scalar under offset (a loop: nesting depth costs no stack). */
  nodeAt(offset: number): { path: (string | number)[]; range: StackRange; isKey: boolean } | undefined {
    const inside = (n: unknown): n is YamlNode => {
      const r = (n as YamlNode | null)?.range;
      return !!r && r[0] <= offset && offset <= r[1];
    };
    const leaf = (n: YamlNode, path: Path, isKey: boolean) => ({ path, range: this.lines.range(n.range![0], n.range![1]), isKey });
    const path: Path = [];
    let node: unknown = this.doc.contents;
    for (;;) {
      if (isMap(node)) {
        let next: unknown;
        for (const pair of node.items) {
          const k = keyText(pair);
          if (k === undefined) continue;
          if (inside(pair.key)) return leaf(pair.key, [...path, k], true);
          if (inside(pair.value)) {
            path.push(k);
            next = pair.value;
            break;
          }
        }
        if (next === undefined) return undefined;
        node = next;
      } else if (isSeq(node)) {
        const i = node.items.findIndex(inside);
        if (i < 0) return undefined;
        path.push(i);
        node = node.items[i];
      } else {
        return (isScalar(node) || isAlias(node)) && inside(node) ? leaf(node, path, false) : undefined;
      }
    }
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

/** What one pass over the parsed tree learns (scanTree). */
interface Tree {
  /** Nodes in the document (aliases count as one). */
  readonly nodes: number;
  /** Each alias's node: the last node before it in document order with that anchor (as yaml resolves it), or undefined. */
  readonly aliases: ReadonlyMap<Alias, YamlNode | undefined>;
  /** The first collection nested MAX_STACK_DEPTH deep; the pass stops there. */
  readonly tooDeep?: YamlNode;
}

interface Frame {
  readonly node: unknown;
  readonly parent: Frame | undefined;
  /** The step from the parent: a key, a list index, or none (a mapping's key node). */
  readonly step: string | number | undefined;
  readonly depth: number;
}

function pathOf(frame: Frame | undefined): Path {
  const out: Path = [];
  for (let f = frame; f; f = f.parent) if (f.step !== undefined) out.push(f.step);
  return out.reverse();
}

/**
 * One pass in document order (keys before values, as yaml's visit), with its own stack rather than
 * recursion: counts nodes, resolves aliases through a table of anchors (yaml's own resolve walks
 * the whole document per alias), stops at nesting past MAX_STACK_DEPTH, and reports every
 * repeated key of every mapping at the repeat, naming the line of the first.
 */
function scanTree(doc: Document, lines: Lines, problems: ProblemSink<StackDiagnostic>): Tree {
  const aliases = new Map<Alias, YamlNode | undefined>();
  const anchors = new Map<string, YamlNode>();
  let nodes = 0;
  const stack: Frame[] = [{ node: doc.contents, parent: undefined, step: undefined, depth: 0 }];
  while (stack.length) {
    const frame = stack.pop()!;
    const node = frame.node;
    if (isAlias(node)) {
      nodes++;
      aliases.set(node, anchors.get(node.source));
      continue;
    }
    if (!isScalar(node) && !isMap(node) && !isSeq(node)) continue;
    nodes++;
    if (node.anchor) anchors.set(node.anchor, node);
    if (isScalar(node)) continue;
    if (frame.depth >= MAX_STACK_DEPTH) return { nodes, aliases, tooDeep: node };
    const children: Frame[] = [];
    const depth = frame.depth + 1;
    if (isSeq(node)) {
      node.items.forEach((item, i) => children.push({ node: item, parent: frame, step: i, depth }));
    } else {
      const first = new Map<string, Pair>();
      for (const pair of node.items) {
        const k = keyText(pair);
        children.push({ node: pair.key, parent: frame, step: undefined, depth }, { node: pair.value, parent: frame, step: k, depth });
        if (k === undefined) continue;
        const earlier = first.get(k);
        if (!earlier) {
          first.set(k, pair);
          continue;
        }
        problems.add('error', () => {
          const keyRange = (pair.key as YamlNode).range!;
          const firstLine = lines.positionAt((earlier.key as YamlNode).range![0]).line + 1;
          return {
            severity: 'error',
            code: 'yaml',
            message: `Duplicate key "${shorten(k)}": it is already set on line ${firstLine}. Keep one of the two (a mapping holds each key once).`,
            path: [...pathOf(frame), k],
            range: lines.range(keyRange[0], keyRange[1]),
          };
        });
      }
    }
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]);
  }
  return { nodes, aliases };
}

/** An alias that cannot be turned into a value: no anchor before it, inside its own anchor, or too many. */
class AliasError extends Error {
  constructor(
    /** Where to report it: the alias, or the merge value. */
    readonly at: YamlNode,
    message: string,
  ) {
    super(message);
  }
}

const MERGE_TAG = 'tag:yaml.org,2002:merge';

/**
 * The plain value of the parsed tree, as yaml's toJS gives it, in time linear in the file: aliases
 * resolve through scanTree's table and share the value of their anchor (converted once), and the
 * values they add are counted against MAX_ALIAS_VALUES plus the file's own node count. Merge keys
 * (`<<`) are honoured where the document's schema has them (YAML 1.1), as toJS does. Recursion is
 * safe: scanTree has refused nesting past MAX_STACK_DEPTH.
 */
class PlainValues {
  private readonly anchored = new Map<YamlNode, { value: unknown; size: number }>();
  private readonly open = new Set<YamlNode>();
  private readonly limit: number;
  private readonly merges: boolean;
  private count = 0;

  constructor(
    doc: Document,
    private readonly tree: Tree,
  ) {
    this.limit = tree.nodes + MAX_ALIAS_VALUES;
    this.merges = doc.schema.tags.some((t) => t.tag === MERGE_TAG && !!t.default);
  }

  of(node: unknown): unknown {
    if (isAlias(node)) return this.alias(node);
    if (!isScalar(node) && !isMap(node) && !isSeq(node)) return null;
    if (!node.anchor) return this.build(node);
    const before = this.count;
    this.open.add(node);
    const value = this.build(node);
    this.open.delete(node);
    this.anchored.set(node, { value, size: this.count - before });
    return value;
  }

  private alias(alias: Alias): unknown {
    const target = this.tree.aliases.get(alias);
    if (!target) throw new AliasError(alias, `Unresolved alias (the anchor must be set before the alias): ${shorten(alias.source)}; define the anchor (&name) before using *name.`);
    if (this.open.has(target)) throw new AliasError(alias, `the alias *${shorten(alias.source)} is inside the value it names, which would make it endless; write the value out instead.`);
    const done = this.anchored.get(target);
    if (!done) throw new AliasError(alias, `Unresolved alias (the anchor must be set before the alias): ${shorten(alias.source)}; define the anchor (&name) before using *name.`);
    this.count += done.size;
    if (this.count > this.limit) {
      throw new AliasError(
        alias,
        `the aliases (*name) of this file expand to more than ${this.limit.toLocaleString('en-US')} values, far more than a stack file holds (an alias bomb?); write the values out or use fewer aliases.`,
      );
    }
    return done.value;
  }

  private build(node: YamlNode): unknown {
    this.count++;
    if (isScalar(node)) return typeof node.value === 'bigint' ? Number(node.value) : node.value;
    if (isSeq(node)) return node.items.map((item) => this.of(item));
    const out: Record<string, unknown> = {};
    for (const pair of (node as YAMLMap).items) {
      if (this.merges && isScalar(pair.key) && isMergeKey(pair.key)) {
        this.merge(out, pair.value, pair.key);
        continue;
      }
      const key = this.keyOf(pair.key);
      const value = this.of(pair.value);
      // Own property even for "__proto__", as toJS does: a key never reaches the prototype.
      if (key in out) Object.defineProperty(out, key, { value, writable: true, enumerable: true, configurable: true });
      else out[key] = value;
    }
    return out;
  }

  /** A key as toJS names it: scalars as text, collections as flow YAML ("[ a, b ]"). */
  private keyOf(key: unknown): string {
    const value = this.of(key);
    if (value === null) return '';
    if (typeof value !== 'object') return String(value);
    return isScalar(key) || isAlias(key) ? JSON.stringify(value) : stringify(key, { collectionStyle: 'flow' }).trim();
  }

  /** `<<: *base` or `<<: [*a, *b]`: keys of the named mappings that this one does not set yet (earlier sources win). */
  private merge(out: Record<string, unknown>, value: unknown, key: YamlNode): void {
    const sources = isSeq(value) ? value.items : [value];
    for (const source of sources) {
      const node = isAlias(source) ? this.tree.aliases.get(source) : source;
      if (!isMap(node)) throw new AliasError(isAlias(source) || isScalar(source) || isSeq(source) ? source : key, 'merge sources (<<) must be mappings or aliases of mappings.');
      const plain = this.of(source) as Record<string, unknown>;
      for (const [k, v] of Object.entries(plain)) {
        if (!Object.prototype.hasOwnProperty.call(out, k)) Object.defineProperty(out, k, { value: v, writable: true, enumerable: true, configurable: true });
      }
    }
  }
}

function isMergeKey(key: { readonly value: unknown; readonly type?: string }): boolean {
  const v = key.value;
  return (v === '<<' && (!key.type || key.type === 'PLAIN')) || (typeof v === 'symbol' && v.description === '<<');
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

/**
 * One zod issue as diagnostics (an unknown-keys issue gives one per key), into `sink`: each message
 * and range is worked out only for the diagnostics that will be listed.
 */
function reportIssue(issue: Issue, prefix: Path, input: unknown, locator: Locator, sink: ProblemSink<StackDiagnostic>): void {
  const path: Path = [...prefix, ...issue.path.map((p) => (typeof p === 'number' ? p : String(p)))];
  const value = valueAt(input, path);
  const got = () => describeValue(value);
  const expected = () => describeSchema(schemaAt(path)) ?? issue.message;
  const error = (message: () => string, at: Path = path, range: () => StackRange = () => locator.diagnosticRange(at)) =>
    sink.add('error', () => ({ severity: 'error', code: 'schema', message: message(), path: at, range: range() }));
  const atKey = (keyPath: Path, fallback: Path) => () => locator.rangeOf(keyPath, 'key') ?? locator.diagnosticRange(fallback);

  // A required key that is not there reads the same whatever check failed on `undefined`.
  if (value === undefined && path.length > 0 && issue.code !== 'unrecognized_keys' && issue.code !== 'invalid_key' && !hasKey(input, path)) {
    const key = path[path.length - 1];
    const parent = path.slice(0, -1);
    return error(() => `Missing required key "${key}" ${parent.length === 0 ? 'at the top level' : `in ${formatPath(parent)}`}. Add it, with ${expected()}.`);
  }

  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = objectKeys(schemaAt(path));
      for (const key of issue.keys ?? []) {
        const keyPath = [...path, key];
        error(
          () => {
            const guess = closestMatch(key, known);
            const hint = guess ? ` Did you mean "${guess}"?` : known.length > 0 ? ` Allowed keys: ${known.join(', ')}.` : '';
            return `Unknown key "${shorten(key)}" ${path.length === 0 ? 'at the top level' : `in ${formatPath(path)}`}.${hint}`;
          },
          keyPath,
          atKey(keyPath, path),
        );
      }
      return;
    }
    case 'invalid_union': {
      // A branch that got past the value's own type (its issues lie deeper, or are unknown keys)
      // is the one the author meant: report its issues rather than every alternative.
      const meant = (issue.errors ?? [])
        .filter((b) => b.length > 0 && b.every((i) => i.path.length > 0 || i.code === 'unrecognized_keys'))
        .sort((a, b) => a.length - b.length)[0];
      if (meant) {
        for (const i of meant) reportIssue(i, path, input, locator, sink);
        return;
      }
      return error(() => `${where(path)}: expected ${expected()}, got ${got()}.`);
    }
    case 'invalid_type':
      return error(() => `${where(path)}: expected ${expected()}, got ${got()}.`);
    case 'invalid_value':
      return error(() => {
        const options = (issue.values ?? []).filter((o): o is string => typeof o === 'string');
        const guess = typeof value === 'string' ? closestMatch(value, options) : undefined;
        return `${where(path)}: expected ${expected()}, got ${got()}.${guess ? ` Did you mean "${guess}"?` : ''}`;
      });
    case 'invalid_format':
      // Our patterns carry their own wording: "a port such as …", or "use 1–63 lower-case …".
      return error(() => (/^an? /.test(issue.message) ? `${where(path)}: expected ${issue.message}, got ${got()}.` : `${where(path)}: ${got()} is not valid: ${issue.message}.`));
    case 'invalid_key':
      return error(
        () => {
          const key = String(path[path.length - 1]);
          const why = (issue.issues ?? []).map((i) => i.message).join('; ') || issue.message;
          const suggestion = key.slice(0, 200).toLowerCase().replace(/[^a-z0-9_.-]+/g, '-').replace(/^[^a-z0-9]+/, '').slice(0, 63);
          const instead = suggestion && suggestion !== key ? ` For example "${suggestion}".` : '';
          return `Invalid name "${shorten(key)}" in ${where(path.slice(0, -1))}: ${why}.${instead}`;
        },
        path,
        atKey(path, path),
      );
    case 'too_small':
    case 'too_big':
      if ((issue.origin === 'array' || issue.origin === 'string') && issue.code === 'too_small' && Number(issue.minimum) === 1) {
        return error(() => `${where(path)}: must not be empty; ${issue.origin === 'array' ? 'add an entry or remove the key' : 'write a value or remove the key'}.`);
      }
      return error(() => `${where(path)}: expected ${expected()}, got ${got()}.`);
    default:
      return error(() => `${where(path)}: ${issue.message}.`);
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
