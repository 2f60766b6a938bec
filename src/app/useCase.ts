// The application layer's one shape: a use case is a named async function with a zod schema for
// its input and for its output, so every front end (the VS Code glue, the CLI, the HTTP API) calls
// the same code, and the HTTP API can validate requests and document itself from the same schemas.
// Long work takes a progress callback and an AbortSignal. No `vscode` here, nor in anything under
// src/app: a use case is callable from a plain Node script.
import { z } from 'zod';

/** A step of long work, as a front end shows it (a notification, a CLI line, an SSE event). */
const progressSchema = z.object({
  /** What is happening now, in words ("pulling layer 2 of 3"). */
  message: z.string().optional(),
  /** How far along, 0..1, when known. */
  fraction: z.number().min(0).max(1).optional(),
  /** Bytes done and in all, for downloads and file checks, when known. */
  completed: z.number().nonnegative().optional(),
  total: z.number().nonnegative().optional(),
});
export type Progress = z.infer<typeof progressSchema>;

/** What a front end passes along with the input. */
interface RunOptions {
  readonly signal?: AbortSignal;
  readonly progress?: (p: Progress) => void;
}

/** An input the use case refuses (the front end shows `message`; the HTTP API answers 400). */
export class InvalidInput extends Error {
  override readonly name = 'InvalidInput';
  constructor(
    readonly useCase: string,
    readonly issues: readonly string[],
  ) {
    super(`${useCase}: ${issues.join('; ')}`);
  }
}

/** Thrown when the signal aborts the work; front ends say "cancelled", not "failed". */
export class Cancelled extends Error {
  override readonly name = 'Cancelled';
  constructor(what: string) {
    super(`${what} was cancelled`);
  }
}

interface UseCase<D, I extends z.ZodType, O extends z.ZodType> {
  /** Dotted, stable, used as the CLI verb and the HTTP route ("models.pull" → POST /v1/models/pull). */
  readonly name: string;
  /** One sentence for --help and the API's description. */
  readonly summary: string;
  readonly input: I;
  readonly output: O;
  /** Runs with input already validated. Use `call` from a front end. */
  readonly run: (deps: D, input: z.output<I>, options: RunOptions) => Promise<z.input<O>>;
}

/** Any use case that runs on `D`, whatever its schemas: what a router holds in one list. */
export interface AnyUseCase<D> {
  readonly name: string;
  readonly summary: string;
  readonly input: z.ZodType;
  readonly output: z.ZodType;
  readonly run: (deps: D, input: never, options: RunOptions) => Promise<unknown>;
}

/** `call` for a router: the input is whatever arrived (it is validated by the use case's schema). */
export function callAny<D>(u: AnyUseCase<D>, deps: D, input: unknown, options: RunOptions = {}): Promise<unknown> {
  return call(u as unknown as UseCase<D, z.ZodType, z.ZodType>, deps, input, options);
}

export function defineUseCase<D, I extends z.ZodType, O extends z.ZodType>(u: UseCase<D, I, O>): UseCase<D, I, O> {
  return u;
}

function issues(e: z.ZodError): string[] {
  return e.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message));
}

/**
 * Validates `input`, runs the use case and validates what it returns: the one entry point every
 * front end uses. An aborted signal is checked before anything starts.
 */
export async function call<D, I extends z.ZodType, O extends z.ZodType>(u: UseCase<D, I, O>, deps: D, input: z.input<I>, options: RunOptions = {}): Promise<z.output<O>> {
  const parsed = u.input.safeParse(input);
  if (!parsed.success) throw new InvalidInput(u.name, issues(parsed.error));
  if (options.signal?.aborted) throw new Cancelled(u.name);
  const result = await u.run(deps, parsed.data, options);
  return u.output.parse(result);
}

/**
 * How a front end runs the use cases of one feature: in this process or in the
 * service that owns the data (the service client's `remoteRunner`). The glue does not care which.
 */
export type Runner<D> = <I extends z.ZodType, O extends z.ZodType>(u: UseCase<D, I, O>, input: z.input<I>, options?: RunOptions) => Promise<z.output<O>>;
