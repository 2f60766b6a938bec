// Offsets and positions in a stack file's text, and the paths of the parsed tree to them: where a
// diagnostic is drawn, and what a hover is over. Positions are 0-based lines and UTF-16 columns, as
// VS Code counts them.
import { isAlias, isMap, isScalar, isSeq, type Alias, type Document, type Node as YamlNode, type Pair, type YAMLMap } from 'yaml';
import type { StackPosition, StackRange } from '../types';

export type Path = (string | number)[];


/** Line starts as VS Code sees them: "\n", "\r\n" and a lone "\r" each end a line. */
export class Lines {
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

interface Located {
  readonly node: YamlNode | null | undefined;
  /** The key node, when the value sits in a mapping. */
  readonly key?: YamlNode;
}

/** A scalar key as the plain value's property name (as toJS names it: `8080:` is "8080", `null:` is ""). */
export function keyText(pair: Pair): string | undefined {
  const k = pair.key;
  if (isScalar(k)) return k.value === null ? '' : typeof k.value === 'object' ? JSON.stringify(k.value) : String(k.value);
  return undefined;
}

export class Locator {
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
