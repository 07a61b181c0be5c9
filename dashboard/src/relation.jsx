// A relation input: the ids as text, the picked records shown by their label, and a search of
// the related collection that adds ids.
import { useEffect, useState } from "preact/hooks";
import { pb, collectionById } from "./pb.js";

const SEARCHED = new Set(["text", "email", "url"]);

/** The fields that name a record: the related collection's presentable ones, else its first text field. */
export function labelFields(collection) {
  const shown = collection.fields.filter((f) => !f.hidden);
  const presentable = shown.filter((f) => f.presentable);
  if (presentable.length) return presentable.map((f) => f.name);
  const text = shown.find((f) => SEARCHED.has(f.type) && f.name !== "id");
  return text ? [text.name] : [];
}

/** A short label for a record: its label fields' values, else its id. */
export function labelText(collection, record) {
  const parts = labelFields(collection).map((n) => record[n]).filter((v) => v !== undefined && v !== null && v !== "")
    .map((v) => (typeof v === "object" ? JSON.stringify(v) : String(v)));
  return parts.length ? parts.join(" · ") : record.id;
}

function labelOf(collection, record) {
  const text = labelText(collection, record);
  return text === record.id ? text : `${text} (${record.id})`;
}

export function RelationInput({ field, value, onChange, common, many }) {
  const [related, setRelated] = useState(null);
  const [query, setQuery] = useState("");
  const [found, setFound] = useState([]);

  useEffect(() => {
    collectionById(field.collectionId).then(setRelated).catch(() => setRelated(null));
  }, [field.collectionId]);

  useEffect(() => {
    if (!related || !query.trim()) { setFound([]); return; }
    const names = ["id", ...related.fields.filter((f) => SEARCHED.has(f.type) && !f.hidden && f.name !== "id").map((f) => f.name)];
    const filter = names.map((n) => pb.filter(`${n} ~ {:q}`, { q: query.trim() })).join(" || ");
    const timer = setTimeout(() => {
      pb.collection(related.id).getList(1, 8, { filter, skipTotal: true })
        .then((r) => setFound(r.items)).catch(() => setFound([]));
    }, 200);
    return () => clearTimeout(timer);
  }, [related, query]);

  // The picked records, fetched by id to show their labels (ids that match nothing show as missing).
  const [picked, setPicked] = useState(null); // null while loading
  const ids = value.split(/[\s,]+/).filter(Boolean);
  const idsKey = ids.join(",");
  const wantedIds = new Set(ids.slice(0, 50)); // labels are fetched for the first 50 picks
  useEffect(() => {
    if (!related || ids.length === 0) { setPicked({}); return; }
    setPicked(null);
    const wanted = ids.slice(0, 50);
    const filter = wanted.map((id) => pb.filter("id = {:id}", { id })).join(" || ");
    const timer = setTimeout(() => {
      pb.collection(related.id).getList(1, wanted.length, { filter, skipTotal: true })
        .then((r) => setPicked(Object.fromEntries(r.items.map((item) => [item.id, labelText(related, item)]))))
        .catch(() => setPicked({}));
    }, 150);
    return () => clearTimeout(timer);
  }, [related, idsKey]);

  function remove(id) {
    onChange(ids.filter((x) => x !== id).join(", "));
  }

  function pick(id) {
    const ids = value.split(/[\s,]+/).filter(Boolean);
    onChange(many ? [...new Set([...ids, id])].join(", ") : id);
    setQuery("");
  }

  return (
    <div>
      <input type="text" {...common} placeholder={many ? "record ids, comma separated" : "record id"}
        value={value} onInput={(e) => onChange(e.currentTarget.value)} />
      {related && ids.length > 0 && (
        <ul class="picked" aria-label={`Picked ${related.name} records for ${field.name}`}>
          {ids.map((id) => (
            <li key={id}>
              <span class="chip" title={id}>{picked === null || !wantedIds.has(id) ? id : id in picked ? picked[id] : <em>{id} (not found)</em>}</span>
              <button type="button" class="link" onClick={() => remove(id)}>Remove <span class="sr-only">{picked?.[id] || id}</span></button>
            </li>
          ))}
        </ul>
      )}
      {related && (
        <div class="relation-search">
          <input type="search" aria-label={`Search ${related.name} for ${field.name}`} placeholder={`Search ${related.name}`}
            value={query} onInput={(e) => setQuery(e.currentTarget.value)} />
          {found.length > 0 && (
            <ul aria-label={`Matching ${related.name} records`}>
              {found.map((r) => (
                <li key={r.id}>
                  <button type="button" class="link" onClick={() => pick(r.id)}>{labelOf(related, r)}</button>
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </div>
  );
}
