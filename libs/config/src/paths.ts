import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';

/** The repository (or installed package) root: dist/libs/config/src/paths.js is four levels below it. */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

export const projectPath = (...parts: string[]) => resolve(PROJECT_ROOT, ...parts);
