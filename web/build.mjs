// Builds the dashboard into dist/ (or --outdir=<dir>): app-<hash>.js, app-<hash>.css, index.html and favicon.svg,
// checks that nothing refers to another host, and prints the gzip sizes against the budget.
import { build, transform } from 'esbuild';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile, copyFile, readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, parse, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const src = join(here, 'src');
// --outdir=<dir> (the CMake build passes its own); default web/dist.
const outArg = process.argv.slice(2).find((a) => a.startsWith('--outdir='));
const dist = outArg ? resolve(outArg.slice('--outdir='.length)) : join(here, 'dist');
if (dist === parse(dist).root || here.startsWith(dist + sep) || dist === here) {
  throw new Error(`--outdir=${dist}: refusing to empty that directory`);
}
const BUDGET = 150 * 1000; // first load, gzip bytes (dashboard.md §3)

const hashName = (prefix, ext, data) =>
  `${prefix}-${createHash('sha256').update(data).digest('hex').slice(0, 8)}.${ext}`;

// JavaScript: one minified IIFE bundle.
const js = await build({
  entryPoints: [join(src, 'main.ts')],
  bundle: true,
  minify: true,
  format: 'iife',
  target: 'es2020',
  platform: 'browser',
  legalComments: 'eof',
  charset: 'utf8',
  write: false,
  logLevel: 'warning',
});
const jsCode = js.outputFiles[0].contents;

// CSS: uPlot's stylesheet first, ours after it (so ours wins).
const require = createRequire(import.meta.url);
const uplotCss = await readFile(join(dirname(require.resolve('uplot/package.json')), 'dist', 'uPlot.min.css'), 'utf8');
const ownCss = await readFile(join(src, 'style.css'), 'utf8');
const css = await transform(uplotCss + '\n' + ownCss, { loader: 'css', minify: true, target: ['chrome90', 'firefox90', 'safari14'], charset: 'utf8' });

const jsName = hashName('app', 'js', jsCode);
const cssName = hashName('app', 'css', css.code);
const template = await readFile(join(src, 'index.html'), 'utf8');
if (!template.includes('%APP_JS%') || !template.includes('%APP_CSS%')) throw new Error('index.html: placeholders missing');
const html = template.replace('%APP_JS%', jsName).replace('%APP_CSS%', cssName);

await rm(dist, { recursive: true, force: true });
await mkdir(dist, { recursive: true });
await writeFile(join(dist, jsName), jsCode);
await writeFile(join(dist, cssName), css.code);
await writeFile(join(dist, 'index.html'), html);
await copyFile(join(src, 'favicon.svg'), join(dist, 'favicon.svg'));

// No other host: no URL with a scheme or a protocol-relative "//host" anywhere in the output
// (an SVG file's own XML namespace declaration is not a reference and is allowed).
const NAMESPACE = 'xmlns="http://www.w3.org/2000/svg"';
const problems = [];
const files = (await readdir(dist)).sort();
for (const f of files) {
  const text = (await readFile(join(dist, f), 'utf8')).split(NAMESPACE).join('');
  for (const m of text.matchAll(/(?:https?|wss?|ftp):\/\/[^\s"'`)<>]*|url\(\s*["']?\/\/[^)]*\)|(?:src|href)\s*=\s*["']\/\/[^"']*/gi)) {
    problems.push(`${f}: ${m[0].slice(0, 80)}`);
  }
}
if (problems.length) {
  console.error('The output refers to other hosts:\n  ' + problems.join('\n  '));
  process.exit(1);
}

// Sizes: everything in dist/ is fetched on the first load.
let raw = 0;
let gz = 0;
const rows = [];
for (const f of files) {
  const data = await readFile(join(dist, f));
  const z = gzipSync(data, { level: 9 }).length;
  raw += data.length;
  gz += z;
  rows.push(`  ${f.padEnd(24)} ${String(data.length).padStart(8)} B  ${String(z).padStart(7)} B gzip`);
}
console.log('dist/:\n' + rows.join('\n'));
console.log(`gzip total: ${gz} B (${(gz / 1000).toFixed(1)} kB) of ${BUDGET / 1000} kB budget; raw ${raw} B`);
if (gz > BUDGET) {
  console.error(`First load ${gz} B gzip exceeds the ${BUDGET} B budget.`);
  process.exit(1);
}
