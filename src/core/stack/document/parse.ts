// The syntax steps of a stack file's parse, bounded for hostile files: the JSON check, the nesting
// refused from the text, yaml's parse, one pass over its tree (nodes, aliases, repeated keys) and the
// plain value that the schema then checks.
import { isAlias, isMap, isScalar, isSeq, parseDocument, stringify, type Alias, type Document, type Node as YamlNode, type Pair, type YAMLMap } from 'yaml';
import type { StackDiagnostic } from '../types';
import { shorten, type ProblemSink } from '../validate';
import { keyText, type Lines, type Path } from './positions';

/**
 * Larger files get one diagnostic instead of a parse. A stack file is a few KB; parsing is linear,
 * but the yaml library alone takes over a second per MB on a 2-core machine (its CST parser ~0.6 s),
 * on every open and every pause in typing, in the extension host. 64 KiB (thirty times the largest
 * template) keeps the worst file within the editor's 200 ms budget (bench/hardening.ts).
 */
export const MAX_STACK_FILE_BYTES = 64 * 1024;
/** Deeper nesting is refused before anything recurses into it: a stack file's deepest value is 5 levels down. */
export const MAX_STACK_DEPTH = 64;
/**
 * Values that aliases (*name) may add on top of the file's own nodes. Aliases share one value, but
 * the checks walk every use: nine levels of nine aliases ("billion laughs") would be 387 million.
 */
const MAX_ALIAS_VALUES = 10_000;

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

/** yaml's parse, with the stack traces of its error objects switched off: a file of syntax errors makes one per line. */
export function parseYaml(text: string): Document {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return parseDocument(text, { prettyErrors: false, uniqueKeys: false });
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** JSON.parse's complaint with its offset ("… in JSON at position 42" in Node's messages). */
export function jsonSyntaxError(text: string): { message: string; offset: number } | undefined {
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
export function scanTree(doc: Document, lines: Lines, problems: ProblemSink<StackDiagnostic>): Tree {
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
export class AliasError extends Error {
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
export class PlainValues {
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
