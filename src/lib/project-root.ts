/**
 * Where the project's files are, whether this code runs from its sources (tsx: src/lib) or compiled
 * (node: dist/src/lib). Views, static files and node_modules are never copied into dist/.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/** True when running the output of `npm run build`. */
export const COMPILED = path.basename(path.resolve(here, '../..')) === 'dist';

/** The folder with package.json, views/ and static/. */
export const PROJECT_ROOT = path.resolve(here, COMPILED ? '../../..' : '../..');
