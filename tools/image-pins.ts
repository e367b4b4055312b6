/**
 * The Dockerfile's base images, and how firmly each is pinned (docs/deployment.md, "Base image").
 *
 *   node dist/tools/image-pins.js                  list every FROM with its pin; exit 1 if one floats
 *   node dist/tools/image-pins.js --require-digest exit 1 also if one is pinned by version only (a release)
 *   node dist/tools/image-pins.js --write          resolve each version tag's digest with docker (where a
 *                                                  registry answers) and write it into the Dockerfile
 *   (npm run images:check, npm run images:pin)
 *
 * A tag such as `node:24-bookworm-slim` floats: it moves to every new release, so two builds of one commit may
 * differ. An exact version tag (`node:24.21.0-bookworm-slim`) moves only when the publisher rebuilds it (a
 * Debian security update does); a digest (`…@sha256:<64 hex>`) never moves. `--check` refuses floating tags;
 * a digest is what a release should have.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { projectPath } from '@nunchi/config';

export type Pin = 'digest' | 'version' | 'floating' | 'stage';

export interface BaseImage {
  /** 1-based line of the FROM */
  line: number;
  /** the image as written (an ARG reference resolved to its default) */
  image: string;
  pin: Pin;
  /** the ARG whose default names the image, when it is one */
  arg?: string;
}

const DIGEST = /@sha256:[0-9a-f]{64}$/;
/** an exact version, optionally with a variant: 24.21.0, 24.21.0-bookworm-slim, 5.0.2 */
const EXACT_VERSION = /^\d+\.\d+\.\d+(-[A-Za-z0-9][A-Za-z0-9._-]*)?$/;

/** How firmly one image reference is pinned. */
export function pinOf(image: string): Exclude<Pin, 'stage'> {
  if (DIGEST.test(image)) return 'digest';
  const name = image.split('/').at(-1)!;
  const colon = name.indexOf(':');
  if (colon < 0) return 'floating';
  return EXACT_VERSION.test(name.slice(colon + 1)) ? 'version' : 'floating';
}

/** Every FROM of a Dockerfile with its pin; `FROM <stage>` of an earlier stage is a stage, not an image. */
export function baseImages(dockerfile: string): BaseImage[] {
  const args = new Map<string, string>();
  const stages = new Set<string>();
  const out: BaseImage[] = [];
  dockerfile.split('\n').forEach((text, i) => {
    const arg = /^\s*ARG\s+([A-Za-z_][A-Za-z0-9_]*)=(\S+)\s*$/i.exec(text);
    if (arg) args.set(arg[1], arg[2].replace(/^["']|["']$/g, ''));
    const from = /^\s*FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?\s*$/i.exec(text);
    if (!from) return;
    const ref = /^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$/.exec(from[1]);
    const image = ref ? (args.get(ref[1]) ?? from[1]) : from[1];
    const pin = stages.has(image) ? 'stage' : image === 'scratch' ? 'digest' : pinOf(image);
    out.push({ line: i + 1, image, pin, ...(ref ? { arg: ref[1] } : {}) });
    if (from[2]) stages.add(from[2]);
  });
  return out;
}

/** The Dockerfile with `image` replaced by `pinned` wherever it is written (ARG default or FROM). */
export function withPinned(dockerfile: string, image: string, pinned: string): string {
  return dockerfile.split(image).join(pinned);
}

/** The registry's digest of an image, through docker (a daemon and a registry that answer). */
function resolveDigest(image: string): string {
  const json = execFileSync(
    'docker',
    ['buildx', 'imagetools', 'inspect', image, '--format', '{{json .Manifest}}'],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
    },
  );
  const digest = (JSON.parse(json) as { digest?: string }).digest;
  if (!digest || !/^sha256:[0-9a-f]{64}$/.test(digest)) throw new Error(`no digest in ${json.slice(0, 200)}`);
  return digest;
}

function main(argv: string[]): number {
  const path = projectPath('Dockerfile');
  let dockerfile = readFileSync(path, 'utf8');
  if (argv.includes('--write')) {
    for (const b of baseImages(dockerfile).filter((x) => x.pin === 'version')) {
      let digest: string;
      try {
        digest = resolveDigest(b.image);
      } catch (error) {
        console.error(
          `${b.image}: its digest could not be resolved (${(error as Error).message.split('\n')[0]}); run this where docker reaches the registry`,
        );
        return 1;
      }
      dockerfile = withPinned(dockerfile, b.image, `${b.image}@${digest}`);
      console.log(`${b.image} → @${digest}`);
    }
    writeFileSync(path, dockerfile);
  }
  const images = baseImages(dockerfile).filter((b) => b.pin !== 'stage');
  const requireDigest = argv.includes('--require-digest');
  let failed = false;
  for (const b of images) {
    const where = `Dockerfile:${b.line}${b.arg ? ` (ARG ${b.arg})` : ''}`;
    if (b.pin === 'digest') console.log(`base image ${b.image}: pinned by digest  [${where}]`);
    else if (b.pin === 'version') {
      console.log(
        `base image ${b.image}: pinned by version, NOT BY DIGEST — the tag can be rebuilt under us; run \`npm run images:pin\` where a registry answers  [${where}]`,
      );
      failed ||= requireDigest;
    } else {
      console.log(
        `base image ${b.image}: FLOATING — name an exact version (and a digest) instead  [${where}]`,
      );
      failed = true;
    }
  }
  if (!images.length) console.log('no base image found in the Dockerfile');
  return failed || !images.length ? 1 : 0;
}

if (process.argv[1]?.endsWith('image-pins.js')) process.exitCode = main(process.argv.slice(2));
