// Prints what the first load of the built app costs: the JS and CSS that dist/index.html loads
// (entry, preloaded chunks, stylesheets), raw and gzipped, against the budgets (120 KB, 30 KB).
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const dist = new URL("../dist/", import.meta.url).pathname;
const html = readFileSync(join(dist, "index.html"), "utf8");
const refs = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+)"/g)].map((m) => m[1]);
const first = {
  js: new Set(refs.filter((r) => r.endsWith(".js"))),
  css: new Set(refs.filter((r) => r.endsWith(".css"))),
};

const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
function measure(paths) {
  let raw = 0;
  let gz = 0;
  for (const p of paths) {
    const data = readFileSync(join(dist, p));
    raw += data.length;
    gz += gzipSync(data, { level: 9 }).length;
  }
  return { raw, gz };
}

const js = measure(first.js);
const css = measure(first.css);
const all = readdirSync(join(dist, "assets"));
const lazy = measure(
  all
    .filter(
      (f) => /\.(js|css)$/.test(f) && !first.js.has(`assets/${f}`) && !first.css.has(`assets/${f}`),
    )
    .map((f) => `assets/${f}`),
);
console.log(
  `first load JS:  ${kb(js.raw)} raw, ${kb(js.gz)} gzipped (budget 120 KB) in ${first.js.size} file(s)`,
);
console.log(
  `first load CSS: ${kb(css.raw)} raw, ${kb(css.gz)} gzipped (budget 30 KB) in ${first.css.size} file(s)`,
);
console.log(`loaded later (other screens): ${kb(lazy.raw)} raw, ${kb(lazy.gz)} gzipped`);
if (js.gz > 120 * 1024 || css.gz > 30 * 1024) {
  console.error("over budget");
  process.exit(1);
}
