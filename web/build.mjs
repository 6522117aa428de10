// Bundles the browser editor: web/src/app.js (with CodeMirror and
// diff-match-patch from node_modules) into OUT/assets/app.js, and copies the
// page. Usage: node build.mjs OUT   (CMake's `web` target runs it).
import { build } from 'esbuild';
import { copyFile, mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = process.argv[2];
if (!out) {
  console.error('usage: node build.mjs OUT_DIR');
  process.exit(2);
}
await mkdir(path.join(out, 'assets'), { recursive: true });
await build({
  entryPoints: [path.join(here, 'src', 'app.js')],
  outfile: path.join(out, 'assets', 'app.js'),
  bundle: true,
  format: 'esm',
  target: 'es2020',
  minify: true,
  sourcemap: true,
  logLevel: 'warning',
});
const statics = path.join(here, 'static');
for (const name of await readdir(statics)) {
  const target = name === 'index.html' ? out : path.join(out, 'assets');
  await copyFile(path.join(statics, name), path.join(target, name));
}
