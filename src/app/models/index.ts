// The models feature's use cases, as every front end calls them.
export { deleteModels, loadModels, unloadModels } from './actions';
export type { ModelsDeps } from './deps';
export { modelDetails } from './details';
export { listModels } from './list';
export { pullModels } from './pull';
export { canAct, canGenerateWith, canPullInto, canVerifyModel, parseModelNames, takesApiKey, tokensPerSecond, type ModelAction } from './rules';
export { tryPrompt } from './tryPrompt';
export { acceptModelVersion, verifyModel } from './verify';

import { deleteModels, loadModels, unloadModels } from './actions';
import { modelDetails } from './details';
import { listModels } from './list';
import { pullModels } from './pull';
import { tryPrompt } from './tryPrompt';
import { acceptModelVersion, verifyModel } from './verify';

/** Every models use case: what the CLI and the HTTP API register. */
export const modelsUseCases = [listModels, pullModels, deleteModels, loadModels, unloadModels, tryPrompt, verifyModel, acceptModelVersion, modelDetails] as const;
