/** Where things are in the workspace, for suites that run its scripts and apps. */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const workspaceRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const specsDir = join(workspaceRoot, 'specs');
export const serverMain = join(workspaceRoot, 'apps', 'server', 'dist', 'main.js');
export const mockMain = join(workspaceRoot, 'apps', 'mock', 'src', 'main.mjs');
export const redoclyBin = join(specsDir, 'node_modules', '.bin', 'redocly');
