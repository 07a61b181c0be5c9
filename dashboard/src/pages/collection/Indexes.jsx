// The indexes of a collection as SQL, and a builder: pick columns, unique or not, see the SQL, add it.
import { useState } from "preact/hooks";
import { Problem, invalid } from "./controls.jsx";

const quote = (name) => "`" + name.replace(/`/g, "") + "`";

export function indexSQL(table, columns, unique) {
  const name = "idx_" + (table || "new").replace(/\W/g, "") + "_" + columns.map((c) => c.replace(/\W/g, "")).join("_");
  return `CREATE ${unique ? "UNIQUE " : ""}INDEX ${quote(name)} ON ${quote(table || "")} (${columns.map(quote).join(", ")})`;
}

export function Indexes({ table, columns, indexes, errors, onChange }) {
  const [picked, setPicked] = useState([]);
  const [unique, setUnique] = useState(false);
  const list = indexes || [];
  const sql = picked.length ? indexSQL(table, picked, unique) : "";
  const toggle = (name, on) => setPicked((p) => (on ? [...p, name] : p.filter((x) => x !== name)));
  return (
    <fieldset class="field">
      <legend>Indexes</legend>
      {list.length === 0 && <p class="muted">No index.</p>}
      {list.map((text, i) => {
        const id = `index-${i}`;
        return (
          <div key={i} class="field index-row">
            <label for={id}>Index {i + 1} (SQL)</label>
            <div class="rule">
              <input type="text" class="mono" {...invalid(id, errors[`indexes.${i}`])} value={text}
                onInput={(e) => onChange(list.map((x, j) => (j === i ? e.currentTarget.value : x)))} />
              <button type="button" class="danger secondary" onClick={() => onChange(list.filter((_, j) => j !== i))}>
                Remove index <span class="sr-only">{i + 1}</span>
              </button>
            </div>
            <Problem id={id + "-error"} message={errors[`indexes.${i}`]} />
          </div>
        );
      })}
      <Problem id="collection-indexes-error" message={errors.indexes} />
      <fieldset class="index-builder">
        <legend>New index</legend>
        <div class="columns-pick" role="group" aria-label="Index columns">
          {columns.filter(Boolean).map((name) => (
            <label key={name} class="inline">
              <input type="checkbox" checked={picked.includes(name)} onChange={(e) => toggle(name, e.currentTarget.checked)} />
              {name}
            </label>
          ))}
        </div>
        <label class="inline">
          <input type="checkbox" checked={unique} onChange={(e) => setUnique(e.currentTarget.checked)} /> Unique
        </label>
        <p class="mono" aria-live="polite">{sql ? <output aria-label="SQL of the new index">{sql}</output> : "Pick one or more columns (in order)."}</p>
        <button type="button" class="secondary" disabled={!sql}
          onClick={() => { onChange([...list, sql]); setPicked([]); setUnique(false); }}>Add index</button>
      </fieldset>
    </fieldset>
  );
}
