// The models feature's use cases, as every front end calls them.
export { deleteModels, loadModels, unloadModels } from './actions';
export type { ModelsDeps } from './deps';
export { modelDetails } from './details';
export { listModels } from './list';
export { pullModels } from './pull';
export { canAct, canGenerateWith, canPullInto, canVerifyModel, parseModelNames, takesApiKey, tokensPerSecond, type ModelAction } from './rules';
export { tryPrompt } from './tryPrompt';
export { acceptModelVersion, verifyModel } from './verify';
