// The wording of a stack file's errors: the fixed messages, the schema's issues told in the
// file's own terms (what the place expects, read back from the zod schema), the list as shown and
// the error loadStackFile throws.
import { z } from 'zod';
import { stackFileSchema } from '../schema';
import type { StackDiagnostic, StackRange } from '../types';
import { closestMatch, formatPath, MAX_PROBLEMS, shorten, type ProblemSink, type Problems } from '../validate';
import { MAX_STACK_DEPTH, MAX_STACK_FILE_BYTES } from './parse';
import type { Lines, Locator, Path } from './positions';

export const TOO_DEEP_MESSAGE = `Nested more than ${MAX_STACK_DEPTH} levels deep here; a stack file's values sit at most 5 levels down (runtimes.<name>.healthcheck.test). Flatten this value.`;
/** The code of the last diagnostic when some were left out. */
export const MORE_PROBLEMS_CODE = 'more-problems';

export const EMPTY_MESSAGE = 'The stack file is empty: start from a template (LLM Stack: New Stack from Template…)';

const kb = (bytes: number) => `${Math.ceil(bytes / 1024).toLocaleString('en-US')} KB`;

export function tooLargeMessage(bytes: number): string {
  return `This stack file is ${kb(bytes)}, larger than the ${kb(MAX_STACK_FILE_BYTES)} the editor checks, so it is not parsed and cannot be planned or applied. A stack file needs a few KB: split it into smaller stacks or remove what it does not need.`;
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

/**
 * The diagnostics to list, in document order (so lists and the StackFileError message read top to
 * bottom; the sort is stable), and a last one counting those left out.
 */
export function finish(problems: Problems<StackDiagnostic>, lines: Lines): StackDiagnostic[] {
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

/** The parts of a zod v4 issue this module reads (zod's own types differ per code). */
export interface Issue {
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
export function reportIssue(issue: Issue, prefix: Path, input: unknown, locator: Locator, sink: ProblemSink<StackDiagnostic>): void {
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
