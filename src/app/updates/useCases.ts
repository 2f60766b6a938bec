// Which images of the running containers have a newer image under their tag: each image's tag is
// asked of its registry once (a bounded pool of parallel checks), and the digest it points to is
// compared with the digests the engine recorded for the local image (RepoDigests). Runtime
// containers only unless asked for all. Registry errors (401, 429, unreachable) are reported per
// image, not retried here.
import type Docker from 'dockerode';
import { z } from 'zod';
import type { Classifier, ContainerRecord } from '../../core/docker/containers';
import { errorMessage } from '../../core/lifecycle';
import { hasDigest, RegistryClient, RegistryError } from '../../core/registries/client';
import { parseReference, repoName } from '../../core/registries/reference';
import { defineUseCase } from '../useCase';

interface UpdatesDeps {
  readonly containers: { list(): readonly ContainerRecord[] };
  readonly engine: { readonly docker: Docker | undefined };
  readonly classifier: () => Classifier;
  readonly registry: RegistryClient;
}

const POOL = 8;

const imageStatus = z.object({
  image: z.string(),
  containers: z.array(z.string()),
  status: z.enum(['up-to-date', 'update', 'pinned', 'local', 'error']),
  localDigests: z.array(z.string()),
  remoteDigest: z.string().optional(),
  message: z.string().optional(),
  retryAfterS: z.number().optional(),
});

export const checkImageUpdates = defineUseCase({
  name: 'updates.images',
  summary: "Whether the images of the running containers (runtimes only unless `all`) have a newer image under their tag in their registry: the tag's digest there against the local image's recorded digests. One request per image and check (more where the registry asks for a token).",
  input: z.object({ all: z.boolean().default(false) }),
  output: z.object({ images: z.array(imageStatus), requests: z.number() }),
  run: async (deps: UpdatesDeps, input, o) => {
    const docker = deps.engine.docker;
    if (!docker) throw new Error('The engine is not connected; updates are checked for the images it runs.');
    const classifier = deps.classifier();
    const running = deps.containers.list().filter((c) => c.state === 'running' && (input.all || classifier.classify(c)));
    const byImage = new Map<string, string[]>();
    for (const c of running) byImage.set(c.image, [...(byImage.get(c.image) ?? []), c.name]);
    const queue = [...byImage.keys()].sort();
    const out: z.infer<typeof imageStatus>[] = [];
    let requests = 0;
    const one = async (image: string) => {
      const containers = byImage.get(image)!;
      let localDigests: string[] = [];
      try {
        localDigests = ((await docker.getImage(image).inspect()) as { RepoDigests?: string[] }).RepoDigests ?? [];
      } catch {
        // A container whose image was removed or retagged since: no local digests to compare.
      }
      try {
        const ref = parseReference(image);
        if (ref.digest) return out.push({ image, containers, status: 'pinned', localDigests, message: 'pinned by digest: no tag to follow' });
        if (!localDigests.length) return out.push({ image, containers, status: 'local', localDigests, message: 'built here or loaded from a file: no registry digest to compare with' });
        const remote = await deps.registry.resolve(ref, o.signal);
        requests += remote.requests;
        const fresh = hasDigest(localDigests, repoName(ref), remote.digest);
        out.push({ image, containers, status: fresh ? 'up-to-date' : 'update', localDigests, remoteDigest: remote.digest, ...(fresh ? {} : { message: `${ref.registry} has a newer image for ${ref.tag}` }) });
      } catch (e) {
        out.push({ image, containers, status: 'error', localDigests, message: errorMessage(e), ...(e instanceof RegistryError && e.retryAfterS ? { retryAfterS: e.retryAfterS } : {}) });
      }
    };
    await Promise.all(
      Array.from({ length: Math.min(POOL, queue.length) }, async () => {
        for (let image = queue.shift(); image !== undefined; image = queue.shift()) await one(image);
      }),
    );
    return { images: out.sort((a, b) => a.image.localeCompare(b.image)), requests };
  },
});
