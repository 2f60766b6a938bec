// The JSON Schema of the stack file, generated from the zod schema so the editor's completion and
// validation (VS Code's JSON service, the Red Hat YAML extension) agree with the extension's own.
// scripts/gen-stack-schema.mjs writes it to dist/schemas/llmstack.schema.json at build time.
import { z } from 'zod';
import { stackFileSchema } from './schema';

export const STACK_SCHEMA_ID = 'urn:llm-local-stack:schema:llmstack';
const STACK_SCHEMA_TITLE = 'LLM Local Stack stack file (llmstack.yaml)';

/** The message a string schema's `.regex(…, message)` carries, if any (zod v4 keeps it as a function). */
function patternMessage(schema: unknown): string | undefined {
  const checks = (schema as { _zod?: { def?: { checks?: { _zod: { def: { check: string; format?: string; error?: unknown } } }[] } } })._zod?.def?.checks ?? [];
  for (const c of checks) {
    const def = c._zod.def;
    if (def.check !== 'string_format' || def.format !== 'regex' || typeof def.error !== 'function') continue;
    const said: unknown = (def.error as (issue: object) => unknown)({});
    if (typeof said === 'string') return said;
  }
  return undefined;
}

/**
 * Draft-07, which both JSON services read. Strict objects keep `additionalProperties: false`, each
 * `auto` union is an `anyOf` with `const: "auto"`, and patterns carry `patternErrorMessage` (a
 * VS Code extension to JSON Schema) so the editor shows "a port such as …" instead of a regex.
 */
export function stackJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(stackFileSchema, {
    target: 'draft-07',
    io: 'input',
    unrepresentable: 'throw',
    override: ({ zodSchema, jsonSchema }) => {
      if (typeof jsonSchema.pattern === 'string') {
        const message = patternMessage(zodSchema);
        if (message) (jsonSchema as Record<string, unknown>).patternErrorMessage = message.startsWith('use ') ? `Invalid name: ${message}` : `Expected ${message}`;
      }
    },
  }) as Record<string, unknown>;
  const { $schema, ...rest } = generated;
  // Key order as a reader expects it at the top of the file.
  return { $schema, $id: STACK_SCHEMA_ID, title: STACK_SCHEMA_TITLE, ...rest };
}
