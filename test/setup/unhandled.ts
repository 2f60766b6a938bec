// Mocha root hooks: fail the run when any promise rejection went unhandled during the tests.
const unhandled: unknown[] = [];
process.on('unhandledRejection', (reason) => {
  unhandled.push(reason);
  console.error('[unhandledRejection]', reason);
});

export const mochaHooks = {
  afterAll(): void {
    if (unhandled.length) {
      throw new Error(`${unhandled.length} unhandled promise rejection(s): ${unhandled.map(String).join('; ')}`);
    }
  },
};
