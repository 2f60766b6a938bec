// Parses a stack file's text (YAML, or JSON) into the validated StackFile plus diagnostics located
// at the exact key or value they are about, and answers "what is at this position" for hovers.
// Positions are 0-based lines and UTF-16 columns, as VS Code counts them.
// The steps live in document/: parse.ts (syntax and the tree), positions.ts (offsets, ranges, paths)
// and messages.ts (the wording of the errors); this module runs them in order.
import { isScalar } from 'yaml';
import { stackFileSchema, type StackFile } from './schema';
import type { StackDiagnostic, StackPosition, StackRange } from './types';
import { checkStack, Problems, type ProblemSink, type StackFinding } from './validate';
import { EMPTY_MESSAGE, finish, reportIssue, StackFileError, TOO_DEEP_MESSAGE, tooLargeMessage, type Issue } from './document/messages';
import { AliasError, flowTooDeepAt, jsonSyntaxError, MAX_STACK_FILE_BYTES, parseYaml, PlainValues, scanTree } from './document/parse';
import { Lines, Locator, type Path } from './document/positions';

export { MORE_PROBLEMS_CODE, StackFileError } from './document/messages';
export { flowTooDeepAt, MAX_STACK_DEPTH, MAX_STACK_FILE_BYTES } from './document/parse';

export type StackFormat = 'yaml' | 'json';

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
    const message = tooLargeMessage(bytes);
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
