// Image references as the engine reads them ("ollama/ollama:0.5.7", "ghcr.io/org/img@sha256:…",
// "127.0.0.1:5000/team/model"): the registry host, the repository and the tag or digest. Docker
// Hub's short names get its registry host and the "library/" namespace, as distribution's
// reference package (docker/distribution reference/normalize.go) normalises them.

export interface ImageReference {
  /** The registry's host (and port): registry-1.docker.io for Docker Hub. */
  readonly registry: string;
  /** The repository path in that registry: "library/ubuntu", "org/img". */
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
}

const DOCKER_HUB = 'registry-1.docker.io';
const COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

class ImageReferenceError extends Error {
  override readonly name = 'ImageReferenceError';
}

export function parseReference(ref: string): ImageReference {
  const text = ref.trim();
  if (!text || text.length > 512) throw new ImageReferenceError(`"${ref.slice(0, 80)}" is not an image reference.`);
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw new ImageReferenceError(`"${ref}" has a digest that is not sha256:<64 hex digits>.`);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw new ImageReferenceError(`"${ref}" has a tag that is not valid: "${tag}".`);
  }
  const parts = rest.split('/');
  // The first part is a registry host when it has a dot or a port, or is localhost.
  let registry = DOCKER_HUB;
  if (parts.length > 1 && (/[.:]/.test(parts[0]) || parts[0] === 'localhost')) registry = parts.shift()!;
  if (registry === 'docker.io' || registry === 'index.docker.io') registry = DOCKER_HUB;
  if (registry === DOCKER_HUB && parts.length === 1) parts.unshift('library');
  if (!parts.length || !parts.every((p) => COMPONENT.test(p))) throw new ImageReferenceError(`"${ref}" is not a valid repository name (lower-case letters, digits and separators).`);
  return { registry, repository: parts.join('/'), tag: tag ?? (digest ? undefined : 'latest'), digest };
}

/** How the engine writes a reference in RepoDigests: "<name>@sha256:…", with the Hub's short form. */
export function repoName(r: ImageReference): string {
  if (r.registry === DOCKER_HUB) return r.repository.startsWith('library/') ? r.repository.slice('library/'.length) : r.repository;
  return `${r.registry}/${r.repository}`;
}
