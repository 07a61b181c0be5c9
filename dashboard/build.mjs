// Builds the dashboard into keelbase/dashboard/dist/: one hashed JS file, one hashed CSS
// file and an index.html naming them. Hashed names let the server cache assets for a year.
// The API reference (src/apidocs.jsx) is a second entry with its own JS and CSS and its own
// page, api-docs/index.html (/_/api-docs/): the dashboard's first load never fetches it.
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
  entryNames: "[name]-[hash]",
  assetNames: "[name]-[hash]",
  jsx: "automatic",
  jsxImportSource: "preact",
  metafile: true,
  logLevel: "warning",
});

const outputs = Object.entries(result.metafile.outputs);
const [jsPath, js] = outputs.find(([, o]) => o.entryPoint === "src/main.jsx");
const css = js.cssBundle;
const page = readFileSync(join(here, "src", "index.html"), "utf8")
  .replace("%CSS%", `./assets/${basename(css)}`)
  .replace("%JS%", `./assets/${basename(jsPath)}`);
writeFileSync(join(out, "index.html"), page);

const [docsPath, docs] = outputs.find(([, o]) => o.entryPoint === "src/apidocs.jsx");
mkdirSync(join(out, "api-docs"), { recursive: true });
const docsPage = readFileSync(join(here, "src", "apidocs.html"), "utf8")
  .replace("%CSS%", `../assets/${basename(docs.cssBundle)}`)
  .replace("%JS%", `../assets/${basename(docsPath)}`);
writeFileSync(join(out, "api-docs", "index.html"), docsPage);

const gz = (p) => gzipSync(readFileSync(join(here, p))).length;
console.log(
  `dashboard built: ${basename(jsPath)} ${(gz(jsPath) / 1024).toFixed(1)} KB gz, ` +
    `${basename(css)} ${(gz(css) / 1024).toFixed(1)} KB gz; ` +
    `api reference ${basename(docsPath)} ${(gz(docsPath) / 1024).toFixed(1)} KB gz`,
);
