import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { projectPath } from '@nunchi/config';
import { baseImages, pinOf, withPinned } from './image-pins.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

describe('base images of the Dockerfile (tools/image-pins.ts)', () => {
  it('tells a digest, an exact version and a floating tag apart', () => {
    assert.equal(pinOf(`node:24.21.0-bookworm-slim@${DIGEST}`), 'digest');
    assert.equal(pinOf(`node@${DIGEST}`), 'digest');
    assert.equal(pinOf('node:24.21.0-bookworm-slim'), 'version');
    assert.equal(pinOf('registry.example/team/cassandra:5.0.2'), 'version');
    for (const floating of ['node', 'node:latest', 'node:24-bookworm-slim', 'node:lts', 'nats:2.10-alpine'])
      assert.equal(pinOf(floating), 'floating', floating);
  });

  it('reads FROM lines through ARG defaults, and knows a stage from an image', () => {
    const text = [
      'ARG NODE_IMAGE=node:24-bookworm-slim',
      'FROM ${NODE_IMAGE} AS build',
      'FROM --platform=linux/amd64 cassandra:5.0.2 AS tools',
      'FROM build AS runtime',
      'FROM scratch',
    ].join('\n');
    assert.deepEqual(baseImages(text), [
      { line: 2, image: 'node:24-bookworm-slim', pin: 'floating', arg: 'NODE_IMAGE' },
      { line: 3, image: 'cassandra:5.0.2', pin: 'version' },
      { line: 4, image: 'build', pin: 'stage' },
      { line: 5, image: 'scratch', pin: 'digest' },
    ]);
    const pinned = withPinned(text, 'node:24-bookworm-slim', `node:24-bookworm-slim@${DIGEST}`);
    assert.equal(baseImages(pinned)[0].pin, 'digest');
  });

  const images = baseImages(readFileSync(projectPath('Dockerfile'), 'utf8')).filter((b) => b.pin !== 'stage');

  it("names the project's base images by an exact version at least: no floating tag", () => {
    assert.ok(images.length > 0, 'the Dockerfile has a base image');
    for (const b of images) assert.notEqual(b.pin, 'floating', `Dockerfile:${b.line} ${b.image}`);
  });

  // Not yet: no registry answers on the machines this is developed and tested on, so no digest could be
  // resolved. A todo, so that the run says so every time instead of passing quietly (docs/deployment.md).
  const undigested = images.filter((b) => b.pin !== 'digest');
  it(
    "names the project's base images by digest",
    undigested.length
      ? {
          todo: `${[...new Set(undigested.map((b) => b.image))].join(', ')}: run \`npm run images:pin\` where a registry answers`,
        }
      : {},
    () => {
      for (const b of images) assert.equal(b.pin, 'digest', `Dockerfile:${b.line} ${b.image}`);
    },
  );
});
