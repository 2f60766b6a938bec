// Editor support for stack files (llmstack.yaml / .json): diagnostics with line and column from
// the extension's own parser (whether or not a YAML extension is installed), hovers that explain
// what each `auto` became on this machine, and Plan / Apply / Down CodeLenses on the `name:` line.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { Disposable, errorMessage, type Logger } from '../../core/lifecycle';
import { isStackFileName, parseStackDocument, stackFormatOf, type StackDocument } from '../../core/stack/document';
import type { HardwareProbe } from '../../core/stack/hardware';
import { resolveStack, stackModelInfo } from '../../core/stack/resolve';
import type { StackFile } from '../../core/stack/schema';
import type { AutoExplanation, StackDiagnostic, StackRange } from '../../core/stack/types';

const STACK_DIAGNOSTIC_SOURCE = 'LLM Stack';

const severities: Record<StackDiagnostic['severity'], vscode.DiagnosticSeverity> = {
  error: vscode.DiagnosticSeverity.Error,
  warning: vscode.DiagnosticSeverity.Warning,
  info: vscode.DiagnosticSeverity.Information,
};

function toRange(r: StackRange): vscode.Range {
  return new vscode.Range(r.start.line, r.start.character, r.end.line, r.end.character);
}

export function isStackDocument(doc: vscode.TextDocument): boolean {
  return (doc.uri.scheme === 'file' || doc.uri.scheme === 'untitled') && isStackFileName(doc.fileName);
}

/** The file resolved on this machine: every `auto` explained (GGUF headers read for llama.cpp models), the contexts chosen. */
async function resolveHere(file: StackFile, stackDir: string, hardware: HardwareProbe): Promise<{ explanations: readonly AutoExplanation[]; contextOf: (service: string) => number | undefined }> {
  const [hw, modelInfo] = await Promise.all([hardware.get(), stackModelInfo(file, stackDir)]);
  const r = resolveStack(file, hw, { modelInfo });
  return { explanations: r.explanations, contextOf: (service) => r.params.get(service)?.contextSize };
}

/** "fits in VRAM with ctx 8192 · about 35 tokens/s here" for a model name, from the service. */
type FitLookup = (name: string, contextSize: number | undefined) => Promise<string | undefined>;

/** Parsed stack documents by URI and version: one parse serves diagnostics, hovers and lenses. */
export class StackDocuments extends Disposable {
  private readonly collection = this.register(vscode.languages.createDiagnosticCollection('llmStack.stack'));
  private readonly parsed = new Map<string, { version: number; doc: StackDocument }>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly onDidParseEmitter = this.register(new vscode.EventEmitter<vscode.Uri>());
  /** A stack document was parsed again (its diagnostics are set). */
  readonly onDidParse = this.onDidParseEmitter.event;

  constructor(private readonly log: Logger) {
    super();
    this.register(vscode.workspace.onDidOpenTextDocument((d) => this.check(d)));
    this.register(vscode.workspace.onDidChangeTextDocument((e) => this.schedule(e.document)));
    this.register(
      vscode.workspace.onDidCloseTextDocument((d) => {
        const key = d.uri.toString();
        this.parsed.delete(key);
        clearTimeout(this.timers.get(key));
        this.timers.delete(key);
        this.collection.delete(d.uri);
      }),
    );
    this.register({ dispose: () => this.timers.forEach((t) => clearTimeout(t)) });
    for (const d of vscode.workspace.textDocuments) this.check(d);
  }

  /** The parse of this version of the document (parsed now when not cached). */
  get(doc: vscode.TextDocument): StackDocument {
    const key = doc.uri.toString();
    const hit = this.parsed.get(key);
    if (hit && hit.version === doc.version) return hit.doc;
    const parsed = parseStackDocument(doc.getText(), stackFormatOf(doc.fileName));
    this.parsed.set(key, { version: doc.version, doc: parsed });
    return parsed;
  }

  /** Parses now and publishes the diagnostics. */
  check(doc: vscode.TextDocument): void {
    if (!isStackDocument(doc)) return;
    try {
      const parsed = this.get(doc);
      this.collection.set(
        doc.uri,
        parsed.diagnostics.map((d) => {
          const diag = new vscode.Diagnostic(toRange(d.range), d.message, severities[d.severity]);
          diag.source = STACK_DIAGNOSTIC_SOURCE;
          diag.code = d.code;
          return diag;
        }),
      );
      this.onDidParseEmitter.fire(doc.uri);
    } catch (e) {
      this.log.error(`Checking ${doc.fileName} failed: ${errorMessage(e)}`);
    }
  }

  private schedule(doc: vscode.TextDocument): void {
    if (!isStackDocument(doc)) return;
    const key = doc.uri.toString();
    clearTimeout(this.timers.get(key));
    // Typing: one parse after a short pause, not one per keystroke.
    this.timers.set(
      key,
      setTimeout(() => {
        this.timers.delete(key);
        this.check(doc);
      }, 250),
    );
  }
}

/**
 * Hover over an `auto`: what it becomes on this machine, and why. Over a model a runtime names:
 * whether it fits here at the context the stack gives it, and how fast it will run.
 */
class StackHoverProvider implements vscode.HoverProvider {
  constructor(
    private readonly documents: StackDocuments,
    private readonly hardware: HardwareProbe,
    private readonly fit?: FitLookup,
  ) {}

  async provideHover(doc: vscode.TextDocument, position: vscode.Position): Promise<vscode.Hover | undefined> {
    if (!isStackDocument(doc)) return undefined;
    const parsed = this.documents.get(doc);
    const node = parsed.nodeAt({ line: position.line, character: position.character });
    if (!node || node.isKey || !parsed.file) return undefined;
    const { explanations, contextOf } = await resolveHere(parsed.file, path.dirname(doc.fileName), this.hardware);
    const [section, service, list, index, field] = node.path;
    if (this.fit && section === 'runtimes' && list === 'models' && typeof service === 'string' && typeof index === 'number' && (field === undefined || field === 'name')) {
      const entry = parsed.file.runtimes?.[service]?.models?.[index];
      const name = typeof entry === 'string' ? entry : entry?.name;
      const line = name ? await this.fit(name, contextOf(service)) : undefined;
      if (!line) return undefined;
      const md = new vscode.MarkdownString();
      md.appendMarkdown(`**${name}** on this machine: ${line}`);
      return new vscode.Hover(md, toRange(node.range));
    }
    const hit = explanations.find((x) => samePath(x.path, node.path));
    if (!hit) return undefined;
    const md = new vscode.MarkdownString();
    md.appendMarkdown(`**auto** → ${hit.text}\n\n`);
    md.appendMarkdown(`_Worked out from this machine's cores, memory and GPUs when the stack is planned or applied._`);
    return new vscode.Hover(md, toRange(node.range));
  }
}

function samePath(a: readonly (string | number)[], b: readonly (string | number)[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Plan, Apply, Down (and Export) above the `name:` line of a stack file. */
class StackCodeLensProvider implements vscode.CodeLensProvider {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;
  private readonly parsed: vscode.Disposable;

  constructor(private readonly documents: StackDocuments) {
    this.parsed = documents.onDidParse(() => this.changed.fire());
  }

  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    if (!isStackDocument(doc)) return [];
    const parsed = this.documents.get(doc);
    const at = parsed.rangeOf(['name'], 'key');
    const range = at ? toRange(at) : new vscode.Range(0, 0, 0, 0);
    const args = [doc.uri];
    if (!parsed.file) {
      return [new vscode.CodeLens(range, { title: '$(error) Fix the errors to plan or apply', command: 'workbench.actions.view.problems' })];
    }
    return [
      new vscode.CodeLens(range, { title: '$(checklist) Plan', command: 'llmStack.stack.plan', arguments: args, tooltip: 'Show what applying would change' }),
      new vscode.CodeLens(range, { title: '$(play) Apply', command: 'llmStack.stack.apply', arguments: args, tooltip: 'Create or update the containers' }),
      new vscode.CodeLens(range, { title: '$(debug-stop) Down', command: 'llmStack.stack.down', arguments: args, tooltip: "Remove the stack's containers" }),
      new vscode.CodeLens(range, { title: '$(export) Export…', command: 'llmStack.stack.export', arguments: args, tooltip: 'Docker Compose, Kubernetes or Docker Swarm' }),
    ];
  }

  dispose(): void {
    this.parsed.dispose();
    this.changed.dispose();
  }
}

const STACK_SELECTOR: vscode.DocumentSelector = [
  { scheme: 'file', pattern: '**/{llmstack,*.llmstack}.{yaml,yml,json}' },
  { scheme: 'untitled', pattern: '**/{llmstack,*.llmstack}.{yaml,yml,json}' },
];

export function registerStackEditor(log: Logger, hardware: HardwareProbe, fit?: FitLookup): { documents: StackDocuments; disposables: vscode.Disposable[] } {
  const documents = new StackDocuments(log);
  const lenses = new StackCodeLensProvider(documents);
  return {
    documents,
    disposables: [
      documents,
      lenses,
      vscode.languages.registerCodeLensProvider(STACK_SELECTOR, lenses),
      vscode.languages.registerHoverProvider(STACK_SELECTOR, new StackHoverProvider(documents, hardware, fit)),
    ],
  };
}
