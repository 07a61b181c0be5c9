// Builds the dashboard into keelbase/dashboard/dist/: one hashed JS file, one hashed CSS
// file and an index.html naming them. Hashed names let the server cache assets for a year.
// The API reference (src/apidocs.jsx) is a second entry with its own JS and CSS and its own
// page, api-docs/index.html (/_/api-docs/): the dashboard's first load never fetches it.
// Code splitting is on: a page imported with import() (the relations diagram) is a chunk of its
// own, fetched when first opened; code both entries share goes to a shared chunk.
import * as esbuild from "esbuild";
import { mkdirSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "keelbase", "dashboard", "dist");
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const result = await esbuild.build({
  absWorkingDir: here,
  entryPoints: ["src/main.jsx", "src/apidocs.jsx"],
  bundle: true,
  minify: true,
  format: "esm",
  target: ["es2020"],
  outdir: join(out, "assets"),
  splitting: true,
  entryNames: "[name]-[hash]",
  chunkNames: "chunk-[hash]",
  assetNames: "[name]-[hash]",
  jsx: "automatic",
  jsxImportSource: "preact",
  metafile: true,
  logLevel: "warning",
});

const outputs = Object.entries(result.metafile.outputs);
const [jsPath, js] = outputs.find(([, o]) => o.entryPoint === "src/main.jsx");
const css = js.cssBundle;
// The chunks an entry imports statically are preloaded with it, so they load in parallel.
const withPreloads = (html, entry, prefix) => {
  const links = entry.imports.filter((i) => i.kind === "import-statement")
    .map((i) => `<link rel="modulepreload" href="${prefix}${basename(i.path)}">\n`).join("");
  return html.replace('<script type="module"', links + '<script type="module"');
};
const page = withPreloads(readFileSync(join(here, "src", "index.html"), "utf8"), js, "./assets/")
  .replace("%CSS%", `./assets/${basename(css)}`)
  .replace("%JS%", `./assets/${basename(jsPath)}`);
writeFileSync(join(out, "index.html"), page);

const [docsPath, docs] = outputs.find(([, o]) => o.entryPoint === "src/apidocs.jsx");
mkdirSync(join(out, "api-docs"), { recursive: true });
const docsPage = withPreloads(readFileSync(join(here, "src", "apidocs.html"), "utf8"), docs, "../assets/")
  .replace("%CSS%", `../assets/${basename(docs.cssBundle)}`)
  .replace("%JS%", `../assets/${basename(docsPath)}`);
writeFileSync(join(out, "api-docs", "index.html"), docsPage);

const gz = (p) => gzipSync(readFileSync(join(here, p))).length;
// What a first load fetches: the entry and everything it imports statically, recursively.
function initial(path, seen = new Set()) {
  if (seen.has(path)) return 0;
  seen.add(path);
  const deps = result.metafile.outputs[path].imports.filter((i) => i.kind === "import-statement");
  return gz(path) + deps.reduce((sum, i) => sum + initial(i.path, seen), 0);
}
const kb = (n) => (n / 1024).toFixed(1) + " KB gz";
const loaded = new Set();
const first = initial(jsPath, loaded);
const docsLoaded = new Set();
const docsFirst = initial(docsPath, docsLoaded);
const later = outputs.filter(([p]) => p.endsWith(".js") && !loaded.has(p) && !docsLoaded.has(p))
  .reduce((sum, [p]) => sum + gz(p), 0);
console.log(
  `dashboard built: initial JS ${kb(first)} (${basename(jsPath)} and its imports), ` +
    `${basename(css)} ${kb(gz(css))}; lazily loaded pages ${kb(later)}; ` +
    `api reference ${basename(docsPath)} and its imports ${kb(docsFirst)}`,
);
