// Imported first by main.ts: zod 4 probes `new Function` when its object schemas are built (at
// import of the protocol module), which the panel's CSP refuses and reports as a violation.
// Jitless parsing needs no eval.
import { config } from 'zod';

config({ jitless: true });
