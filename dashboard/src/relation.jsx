// A relation input: the ids as text, and a search of the related collection that adds ids.
import { useEffect, useState } from "preact/hooks";
import { pb } from "./pb.js";

const SEARCHED = new Set(["text", "email", "url"]);

/** A short label for a record: its first non-empty text-like field, else its id. */
function labelOf(collection, record) {
  for (const f of collection.fields) {
    if (SEARCHED.has(f.type) && !f.hidden && f.name !== "id" && record[f.name]) return `${record[f.name]} (${record.id})`;
  }
  return record.id;
}

export function RelationInput({ field, value, onChange, common, many }) {
  const [related, setRelated] = useState(null);
  const [query, setQuery] = useState("");
  const [found, setFound] = useState([]);

  useEffect(() => {
    pb.collections.getOne(field.collectionId).then(setRelated).catch(() => setRelated(null));
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

  function pick(id) {
    const ids = value.split(/[\s,]+/).filter(Boolean);
    onChange(many ? [...new Set([...ids, id])].join(", ") : id);
    setQuery("");
  }

  return (
    <div>
      <input type="text" {...common} placeholder={many ? "record ids, comma separated" : "record id"}
        value={value} onInput={(e) => onChange(e.currentTarget.value)} />
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
