// The stack feature's use cases, for the front ends (the editor's glue, the CLI, the HTTP API).
import { stackExport, stackExportRunning, stackList, stackNew, stackTemplatesUseCase } from './export';
import { stackApply, stackDown, stackPlan, stackRead } from './stack';
import { swarmDeploy, swarmInit, swarmRemove, swarmState } from './swarm';

export type { StackDeps } from './deps';
// What a front end tells apart when it reports a failure.
export { ApplyError } from '../../core/stack/apply';
export { StackFileError } from '../../core/stack/document';
export { STACK_NAME } from './export';
export { stackApply, stackDown, stackExport, stackExportRunning, stackList, stackNew, stackPlan, stackRead, stackTemplatesUseCase as stackTemplates, swarmDeploy, swarmInit, swarmRemove, swarmState };

/** Every stack use case, by name: what the CLI and the HTTP API register. */
export const stackUseCases = [stackRead, stackPlan, stackApply, stackDown, stackExport, stackTemplatesUseCase, stackNew, stackList, stackExportRunning, swarmState, swarmInit, swarmDeploy, swarmRemove] as const;
