// The relations diagram: each collection a box listing its relation fields, an arrow from each
// relation field to the collection it points at. Drawn as plain SVG on a grid (no layout
// library); the same relations are listed in a table beside it for screen readers and search.
// Loaded on demand (a chunk of its own), like the API reference.
import { useEffect, useState } from "preact/hooks";
import { pb, errorsOf } from "../pb.js";

const BOX_W = 250;
// Long names are cut to fit the box (the full text is in a <title> and in the table).
const clip = (text, n) => (text.length > n ? text.slice(0, n - 1) + "…" : text);
const HEAD = 30;
const ROW = 20;
const GAP_X = 90;
const GAP_Y = 50;

/** Boxes placed on a grid of about sqrt(n) columns, row heights from their tallest box. */
export function layout(collections) {
  const cols = Math.max(1, Math.ceil(Math.sqrt(collections.length)));
  const relations = (c) => (c.fields || []).filter((f) => f.type === "relation");
  const heights = collections.map((c) => HEAD + ROW * (relations(c).length + 1) + 8);
  const rowTops = [];
  let top = 10;
  for (let r = 0; r * cols < collections.length; r++) {
    rowTops.push(top);
    top += Math.max(...heights.slice(r * cols, r * cols + cols)) + GAP_Y;
  }
  const boxes = collections.map((c, i) => ({
    collection: c, relations: relations(c), height: heights[i],
    x: 10 + (i % cols) * (BOX_W + GAP_X), y: rowTops[Math.floor(i / cols)],
  }));
  return { boxes, width: 20 + cols * BOX_W + (cols - 1) * GAP_X, height: top - GAP_Y + 10 };
}

function edgePath(from, row, to) {
  const y1 = from.y + HEAD + ROW * row + ROW / 2;
  const y2 = to.y + HEAD / 2;
  if (from === to) {
    // A self-relation: a loop on the right side.
    const x = from.x + BOX_W;
    return `M ${x} ${y1} C ${x + 45} ${y1}, ${x + 45} ${y2}, ${x + 2} ${y2}`;
  }
  const rightward = to.x >= from.x + BOX_W / 2;
  const x1 = rightward ? from.x + BOX_W : from.x;
  const x2 = rightward ? (to.x > from.x ? to.x : to.x + BOX_W) : to.x + BOX_W;
  const bend = Math.max(40, Math.abs(x2 - x1) / 2);
  const c1 = rightward ? x1 + bend : x1 - bend;
  const c2 = x2 === to.x ? x2 - bend : x2 + bend;
  return `M ${x1} ${y1} C ${c1} ${y1}, ${c2} ${y2}, ${x2 + (x2 === to.x ? -2 : 2)} ${y2}`;
}

export function Diagram() {
  const [collections, setCollections] = useState(null);
  const [error, setError] = useState("");
  const [system, setSystem] = useState(false);

  useEffect(() => {
    pb.collections.getFullList({ sort: "name" }).then(setCollections).catch((err) => setError(errorsOf(err).message));
  }, []);

  if (!collections) return error ? <p role="alert" class="error">{error}</p> : <p>Loading…</p>;
  const byId = new Map(collections.map((c) => [c.id, c]));
  // System collections are shown when asked, or when one of the shown ones points at them.
  const pointed = new Set(collections.filter((c) => !c.system).flatMap((c) =>
    (c.fields || []).filter((f) => f.type === "relation").map((f) => f.collectionId)));
  // Yours first, then the system ones.
  const shown = collections.filter((c) => system || !c.system || pointed.has(c.id))
    .sort((a, b) => Number(a.system) - Number(b.system));
  const { boxes, width, height } = layout(shown);
  const boxOf = new Map(boxes.map((b) => [b.collection.id, b]));
  const edges = boxes.flatMap((b) => b.relations.map((f, row) => ({ from: b, row, field: f, to: boxOf.get(f.collectionId) })));

  return (
    <section class="diagram" aria-labelledby="diagram-title">
      <h1 id="diagram-title">Relations diagram</h1>
      <div class="field checkbox">
        <input type="checkbox" id="diagram-system" checked={system} onChange={(e) => setSystem(e.currentTarget.checked)} />
        <label for="diagram-system">Show all system collections</label>
      </div>
      <div class="diagram-wrap">
        <svg width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="group"
          aria-label={`${boxes.length} collections and ${edges.length} relations; listed in the table below`}>
          <defs>
            <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
              <path d="M 0 0 L 10 5 L 0 10 z" class="arrow-head" />
            </marker>
          </defs>
          {boxes.map((b) => (
            <g key={b.collection.id} class="box" data-collection={b.collection.name}>
              <rect x={b.x} y={b.y} width={BOX_W} height={b.height} rx="6" />
              <a href={"#/collections/" + encodeURIComponent(b.collection.name)}>
                <text x={b.x + 10} y={b.y + 20} class="box-title">
                  <title>{b.collection.name}</title>{clip(b.collection.name, 22)}
                </text>
              </a>
              <text x={b.x + BOX_W - 10} y={b.y + 20} class="box-kind" text-anchor="end">{b.collection.type}</text>
              <line x1={b.x} x2={b.x + BOX_W} y1={b.y + HEAD} y2={b.y + HEAD} />
              {b.relations.map((f, i) => (
                <text key={f.name} x={b.x + 10} y={b.y + HEAD + ROW * i + 14}>
                  {clip(`${f.name} → ${byId.get(f.collectionId)?.name || "?"}`, f.maxSelect > 1 ? 25 : 31)}
                  {f.maxSelect > 1 ? " (many)" : ""}
                </text>
              ))}
              <text x={b.x + 10} y={b.y + HEAD + ROW * b.relations.length + 14} class="box-kind">
                {(b.collection.fields || []).length} fields
              </text>
            </g>
          ))}
          {edges.filter((e) => e.to).map((e) => (
            <path key={e.from.collection.id + e.field.name} class="edge" d={edgePath(e.from, e.row, e.to)} marker-end="url(#arrow)"
              data-from={e.from.collection.name + "." + e.field.name} data-to={e.to.collection.name} />
          ))}
        </svg>
      </div>
      <div class="grid-wrap" style="margin-top: 1rem">
        <table class="grid" aria-label="Relations">
          <thead><tr><th>collection</th><th>field</th><th>points at</th><th>how many</th><th>when the pointed record is deleted</th></tr></thead>
          <tbody>
            {edges.map((e) => (
              <tr key={e.from.collection.id + e.field.name}>
                <td>{e.from.collection.name}</td>
                <td><code>{e.field.name}</code></td>
                <td>{byId.get(e.field.collectionId)?.name || e.field.collectionId}</td>
                <td>{e.field.maxSelect > 1 ? `up to ${e.field.maxSelect}` : "one"}</td>
                <td>{e.field.cascadeDelete ? "cascade" : "set empty"}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {!edges.length && <p class="empty">No relation fields yet.</p>}
      </div>
    </section>
  );
}
