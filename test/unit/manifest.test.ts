// Unit tests for package.json contributions: commands registered in src/, menu references, categories, engines and trust settings.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describeContainer } from '../../src/core/docker/containerTree';
import { readConfig } from '../../src/service/config';
import { ContainerRecord, ContainerState, PublishedPort } from '../../src/core/docker/containers';

interface CommandContribution {
  command: string;
  title?: string;
  category?: string;
}
interface MenuItem {
  command?: string;
  submenu?: string;
  when?: string;
  group?: string;
}
interface Manifest {
  name: string;
  engines: { vscode: string };
  devDependencies?: Record<string, string>;
  capabilities?: { untrustedWorkspaces?: { restrictedConfigurations?: string[] } };
  contributes: {
    commands: CommandContribution[];
    menus?: Record<string, MenuItem[]>;
    views?: Record<string, { id: string }[]>;
    viewsWelcome?: { view: string; contents: string; when?: string }[];
    configuration?: { properties: Record<string, unknown> };
  };
}

/** The repository root: the nearest folder above this file holding the extension's package.json. */
function findRoot(): string {
  let dir = __dirname;
  for (;;) {
    const candidate = path.join(dir, 'package.json');
    if (fs.existsSync(candidate) && fs.existsSync(path.join(dir, 'src'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${__dirname}`);
    dir = up;
  }
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return /\.tsx?$/.test(e.name) && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** Parses "1.100.0" out of "^1.100.0", ">=1.100.0" or "1.100.x" into comparable numbers. */
function version(range: string): [number, number, number] {
  const m = /(\d+)\.(\d+)\.(\d+|x)/.exec(range);
  assert.ok(m, `cannot read a version from ${JSON.stringify(range)}`);
  return [Number(m[1]), Number(m[2]), m[3] === 'x' ? 0 : Number(m[3])];
}
function compare(a: [number, number, number], b: [number, number, number]): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

const root = findRoot();
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as Manifest;
const contributed = manifest.contributes.commands;
const contributedIds = new Set(contributed.map((c) => c.command));
const viewIds = Object.values(manifest.contributes.views ?? {}).flatMap((list) => list.map((v) => v.id));
/** Commands VS Code creates itself for every view. */
const builtinCommands = new Set(viewIds.flatMap((id) => [`${id}.focus`, `${id}.resetViewLocation`]));

/** Command ids registered in src/: vscode.commands.registerCommand('id', …), or the commands files' reg('id', …) helper. */
function registeredCommandIds(): Set<string> {
  const ids = new Set<string>();
  for (const file of sourceFiles(path.join(root, 'src'))) {
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(/registerCommand\(\s*(['"`])([^'"`]+)\1/g)) ids.add(m[2]);
    for (const m of text.matchAll(/\breg\(\s*(['"`])([^'"`]+)\1/g)) ids.add(m[2]);
  }
  return ids;
}

/**
 * Command ids a host test runs: `vscode.commands.executeCommand('id', …)` inside the suite's host,
 * or `user.runCommand('id', …)`, which runs it from the palette, a context menu or a view button of
 * a user's window (test/host/suite/userWindow.ts). Comments do not count.
 */
function commandsRunByHostTests(): Set<string> {
  const dir = path.join(root, 'test', 'host', 'suite');
  const ids = new Set<string>();
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.test.ts'))) {
    const text = fs
      .readFileSync(path.join(dir, file), 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/^\s*\/\/.*$/gm, '');
    for (const m of text.matchAll(/\b(?:executeCommand|runCommand)(?:<[^>]*>)?\(\s*(['"`])([\w.]+)\1/g)) ids.add(m[2]);
  }
  return ids;
}

function menuItems(): { menu: string; item: MenuItem }[] {
  return Object.entries(manifest.contributes.menus ?? {}).flatMap(([menu, items]) => items.map((item) => ({ menu, item })));
}

/** The regular expression of a `viewItem =~ /…/` clause. */
function viewItemRegex(when: string | undefined): RegExp | undefined {
  const m = /viewItem\s*=~\s*\/((?:\\.|[^/\\])+)\/([a-z]*)/.exec(when ?? '');
  return m ? new RegExp(m[1], m[2]) : undefined;
}

describe('manifest (unit)', () => {
  it('is the LLM Local Stack manifest', () => {
    assert.equal(manifest.name, 'llm-local-stack');
    assert.ok(contributed.length > 0);
  });

  it('contributes each command once', () => {
    assert.equal(contributedIds.size, contributed.length, 'duplicate command ids in contributes.commands');
  });

  it('every contributed command is registered in src/', () => {
    const registered = registeredCommandIds();
    const missing = [...contributedIds].filter((id) => !registered.has(id));
    assert.deepEqual(missing, [], `contributed but never registered: ${missing.join(', ')}`);
  });

  it('every contributed command is run by a host test (test/host/suite/*.test.ts)', () => {
    const run = commandsRunByHostTests();
    const never = [...contributedIds].filter((id) => !run.has(id));
    assert.deepEqual(never, [], `never run in the real host: ${never.join(', ')}; run each with executeCommand('<id>', …) or user.runCommand('<id>', …) in a host test`);
  });

  it('every command in a menu is contributed (or built in)', () => {
    const unknown = menuItems()
      .filter(({ item }) => item.command && !contributedIds.has(item.command) && !builtinCommands.has(item.command))
      .map(({ menu, item }) => `${menu}: ${item.command}`);
    assert.deepEqual(unknown, []);
  });

  it('every command link in viewsWelcome is contributed (or built in)', () => {
    const links = (manifest.contributes.viewsWelcome ?? []).flatMap((w) => [...w.contents.matchAll(/\(command:([\w.-]+)[^)]*\)/g)].map((m) => m[1]));
    assert.ok(links.length > 0, 'expected command links in viewsWelcome');
    const unknown = links.filter((id) => !contributedIds.has(id) && !builtinCommands.has(id));
    assert.deepEqual(unknown, []);
    assert.ok(builtinCommands.has('llmStack.containers.focus'));
  });

  it('viewsWelcome entries belong to contributed views', () => {
    for (const w of manifest.contributes.viewsWelcome ?? []) assert.ok(viewIds.includes(w.view), w.view);
  });

  it('every command with a title has the category "LLM Stack"', () => {
    const wrong = contributed.filter((c) => c.title !== undefined && c.category !== 'LLM Stack').map((c) => c.command);
    assert.deepEqual(wrong, []);
    assert.ok(contributed.every((c) => typeof c.title === 'string' && c.title.length > 0), 'every command needs a title');
  });

  it('engines.vscode is not newer than ^1.100.0, and @types/vscode does not outrun it', () => {
    const engine = version(manifest.engines.vscode);
    assert.ok(compare(engine, [1, 100, 0]) <= 0, `engines.vscode ${manifest.engines.vscode} is newer than ^1.100.0`);
    const types = manifest.devDependencies?.['@types/vscode'];
    if (types) assert.ok(compare(version(types), engine) <= 0, `@types/vscode ${types} is newer than engines.vscode ${manifest.engines.vscode} (vsce refuses that)`);
  });

  it('restricts llmStack.docker.host in untrusted workspaces, and every restricted setting exists', () => {
    const restricted = manifest.capabilities?.untrustedWorkspaces?.restrictedConfigurations ?? [];
    assert.ok(restricted.includes('llmStack.docker.host'));
    const properties = Object.keys(manifest.contributes.configuration?.properties ?? {});
    for (const key of restricted) assert.ok(properties.includes(key), `${key} is restricted but not contributed`);
  });

  it('contributes the generated stack file schema for JSON and YAML, kept in the package, with matching file names', () => {
    const c = manifest.contributes as { jsonValidation?: { fileMatch: string[]; url: string }[]; yamlValidation?: { fileMatch: string[]; url: string }[] };
    const urls = [...(c.jsonValidation ?? []), ...(c.yamlValidation ?? [])].map((v) => v.url);
    assert.equal(urls.length, 2);
    for (const url of urls) {
      const file = path.join(root, url);
      assert.ok(fs.existsSync(file), `${url} is written by the build (scripts/gen-stack-schema.mjs)`);
      const schema = JSON.parse(fs.readFileSync(file, 'utf8')) as { properties?: Record<string, unknown> };
      assert.ok(schema.properties?.runtimes && schema.properties.uis && schema.properties.name);
    }
    const ignore = fs.readFileSync(path.join(root, '.vscodeignore'), 'utf8');
    assert.match(ignore, /^!dist\/schemas\/\*\.json$/m, 'the schema ships in the .vsix');
    const names = [...(c.jsonValidation ?? []), ...(c.yamlValidation ?? [])].flatMap((v) => v.fileMatch);
    for (const n of ['llmstack.json', 'llmstack.yaml', 'llmstack.yml', '*.llmstack.yaml']) assert.ok(names.includes(n), n);
  });

  it("the service's config.json defaults are the editor's setting defaults, for every setting both have", () => {
    const config = readConfig(path.join(root, 'no-such-folder')).config as unknown as Record<string, Record<string, unknown>>;
    const settings = (manifest.contributes as unknown as { configuration: { properties: Record<string, { default?: unknown }> } }).configuration.properties;
    let compared = 0;
    for (const [key, spec] of Object.entries(settings)) {
      const [, section, name] = key.split('.');
      if (!(section in config) || !(name in config[section])) continue;
      assert.deepEqual(config[section][name], spec.default === '' ? '' : spec.default, key);
      compared++;
    }
    assert.ok(compared >= 14, `${compared} settings compared`);
  });

  it('ships the llmstack CLI and the service the extension starts (package.json bin, .vsix)', () => {
    assert.deepEqual((manifest as { bin?: Record<string, string> }).bin, { llmstack: 'dist/cli.js' });
    const ignore = fs.readFileSync(path.join(root, '.vscodeignore'), 'utf8');
    for (const f of ['dist/cli.js', 'dist/service.js', 'dist/sql-wasm.wasm']) assert.match(ignore, new RegExp(`^!${f.replace(/[./]/g, (c) => `\\${c}`)}$`, 'm'), `${f} ships in the .vsix`);
  });

  it('turns stack commands that start or remove containers off in untrusted workspaces', () => {
    const byId = new Map(manifest.contributes.commands.map((x) => [x.command, x as CommandContribution & { enablement?: string }]));
    for (const id of ['llmStack.stack.apply', 'llmStack.stack.down', 'llmStack.stack.swarmDeploy', 'llmStack.stack.swarmRemove', 'llmStack.stack.swarmInit']) {
      assert.equal(byId.get(id)?.enablement, 'isWorkspaceTrusted', id);
    }
  });

  describe('context menu when clauses match the tree’s context values', () => {
    const tcp: PublishedPort = { hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80, protocol: 'tcp' };
    const states: ContainerState[] = ['running', 'exited', 'created', 'dead', 'restarting', 'paused', 'removing', 'unknown'];
    function contextValue(state: ContainerState, ports: PublishedPort[] = []): string {
      const r: ContainerRecord = { id: 'f'.repeat(64), name: 'c', image: 'ollama/ollama', state, health: undefined, statusText: '', ports, labels: {} };
      return describeContainer(r, 'ollama', 0).contextValue;
    }
    function shownFor(command: string, group: string, value: string): boolean {
      const item = (manifest.contributes.menus?.['view/item/context'] ?? []).find((i) => i.command === command && i.group === group);
      assert.ok(item, `no ${command} in group ${group}`);
      const re = viewItemRegex(item.when);
      assert.ok(re, `no viewItem clause in ${item.when}`);
      return re.test(value);
    }

    it('the inline Start button shows for stopped containers only', () => {
      const shown = states.filter((s) => shownFor('llmStack.containers.start', 'inline@1', contextValue(s)));
      assert.deepEqual(shown, ['exited', 'created', 'dead']);
    });

    it('the inline Stop button shows for running, restarting and paused containers only', () => {
      const shown = states.filter((s) => shownFor('llmStack.containers.stop', 'inline@1', contextValue(s)));
      assert.deepEqual(shown, ['running', 'restarting', 'paused']);
    });

    it('Open in Browser shows only when a tcp port is published', () => {
      assert.equal(shownFor('llmStack.containers.openPort', 'inline@3', contextValue('running', [tcp])), true);
      assert.equal(shownFor('llmStack.containers.openPort', 'inline@3', contextValue('running')), false);
      assert.equal(shownFor('llmStack.containers.openPort', 'inline@3', contextValue('running', [{ ...tcp, protocol: 'udp' }])), false);
    });

    it('the lifecycle and view entries show for every container', () => {
      for (const s of states) {
        assert.equal(shownFor('llmStack.containers.logs', '2_view@1', contextValue(s)), true, s);
        assert.equal(shownFor('llmStack.containers.remove', '9_danger@1', contextValue(s)), true, s);
      }
    });
  });
});
