// Create or edit a collection: name, type, fields with their main options, API rules, view query.
// The API validates; its errors (fields.2.name, listRule, ...) are shown next to their inputs.
import { useEffect, useState } from "preact/hooks";
import { pb, errorsOf } from "../pb.js";

const FIELD_TYPES = ["text", "number", "bool", "email", "url", "editor", "date", "autodate",
  "select", "json", "file", "relation", "geoPoint"];
const RULES = [["listRule", "List/Search rule"], ["viewRule", "View rule"], ["createRule", "Create rule"],
  ["updateRule", "Update rule"], ["deleteRule", "Delete rule"]];
// New collections get created/updated dates, as PocketBase's own dashboard adds them.
const DEFAULT_FIELDS = [
  { name: "created", type: "autodate", onCreate: true, onUpdate: false },
  { name: "updated", type: "autodate", onCreate: true, onUpdate: true },
];

function Problem({ id, message }) {
  return message ? <p class="field-error" id={id} role="alert">{message}</p> : null;
}

function invalid(id, message) {
  return { id, "aria-invalid": message ? "true" : undefined, "aria-describedby": message ? id + "-error" : undefined };
}

export function CollectionPanel({ collection, collections, onClose }) {
  const isNew = !collection;
  const [draft, setDraft] = useState(() => collection
    ? structuredClone(collection)
    : { name: "", type: "base", fields: structuredClone(DEFAULT_FIELDS), viewQuery: "",
        listRule: null, viewRule: null, createRule: null, updateRule: null, deleteRule: null });
  const [errors, setErrors] = useState({});
  const [message, setMessage] = useState("");
  const [busy, setBusy] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [scaffolds, setScaffolds] = useState(null);

  // A new collection starts from the API's scaffold of its type, system fields included, so the
  // indexes in the API's errors (fields.2.name) are the indexes of the list shown here.
  useEffect(() => {
    if (isNew) pb.collections.getScaffolds().then((all) => { setScaffolds(all); retype("base", all); });
  }, []);

  function retype(type, all = scaffolds) {
    setDraft((d) => {
      const scaffold = structuredClone(all[type]);
      const own = d.fields.filter((f) => !f.system);
      return { ...scaffold, name: d.name, viewQuery: d.viewQuery || "", fields: [...(scaffold.fields || []), ...own] };
    });
  }

  const set = (key, value) => setDraft((d) => ({ ...d, [key]: value }));
  const setField = (i, patch) => setDraft((d) => ({ ...d, fields: d.fields.map((f, j) => (j === i ? { ...f, ...patch } : f)) }));
  const addField = () => setDraft((d) => ({ ...d, fields: [...d.fields, { name: "", type: "text", required: false }] }));
  const removeField = (i) => setDraft((d) => ({ ...d, fields: d.fields.filter((_, j) => j !== i) }));

  async function save(e) {
    e.preventDefault();
    setBusy(true);
    setErrors({});
    setMessage("");
    const body = { ...draft };
    if (body.type === "view") delete body.fields;
    else delete body.viewQuery;
    try {
      const saved = isNew ? await pb.collections.create(body) : await pb.collections.update(collection.id, body);
      onClose(saved);
    } catch (err) {
      const { message: text, fields } = errorsOf(err);
      setErrors(fields);
      setMessage(text);
      setBusy(false);
    }
  }

  async function remove() {
    setBusy(true);
    try {
      await pb.collections.delete(collection.id);
      onClose({ deleted: true });
    } catch (err) {
      setMessage(errorsOf(err).message);
      setBusy(false);
    }
  }

  const others = collections.filter((c) => c.id !== collection?.id);
  return (
    <div class="overlay" onClick={(e) => { if (e.target === e.currentTarget) onClose(null); }}>
      <div class="panel wide-panel" role="dialog" aria-modal="true" aria-labelledby="collection-title">
        <form onSubmit={save} noValidate>
          <h2 id="collection-title">{isNew ? "New collection" : `Edit collection ${collection.name}`}</h2>
          <div class="field">
            <label for="collection-name">Name</label>
            <input type="text" {...invalid("collection-name", errors.name)} value={draft.name}
              onInput={(e) => set("name", e.currentTarget.value)} />
            <Problem id="collection-name-error" message={errors.name} />
          </div>
          <div class="field">
            <label for="collection-type">Type</label>
            <select id="collection-type" value={draft.type} disabled={!isNew} onChange={(e) => retype(e.currentTarget.value)}>
              <option value="base">base</option>
              <option value="auth">auth</option>
              <option value="view">view</option>
            </select>
          </div>
          {draft.type === "view"
            ? (
              <div class="field">
                <label for="collection-viewQuery">View query (SELECT)</label>
                <textarea rows={5} class="mono" {...invalid("collection-viewQuery", errors.viewQuery)} value={draft.viewQuery}
                  onInput={(e) => set("viewQuery", e.currentTarget.value)} />
                <Problem id="collection-viewQuery-error" message={errors.viewQuery} />
              </div>
            )
            : (
              <fieldset class="field">
                <legend>Fields</legend>
                {draft.fields.map((field, i) => field.system
                  ? <p key={i} class="muted">{field.name} <small class="kind">{field.type} · system</small></p>
                  : <FieldRow key={i} index={i} field={field} errors={errors} others={others}
                      onChange={(patch) => setField(i, patch)} onRemove={() => removeField(i)} />)}
                <Problem id="collection-fields-error" message={errors.fields} />
                <button type="button" class="secondary" onClick={addField}>Add field</button>
              </fieldset>
            )}
          <fieldset class="field">
            <legend>API rules</legend>
            {RULES.filter(([key]) => draft.type !== "view" || key === "listRule" || key === "viewRule").map(([key, label]) => {
              const locked = draft[key] === null;
              const id = "rule-" + key;
              return (
                <div key={key} class="field">
                  <label for={id}>{label}</label>
                  <div class="rule">
                    <input type="text" class="mono" {...invalid(id, errors[key])} disabled={locked}
                      placeholder={locked ? "superusers only" : "empty: everyone"} value={draft[key] ?? ""}
                      onInput={(e) => set(key, e.currentTarget.value)} />
                    <label class="inline">
                      <input type="checkbox" checked={locked} onChange={(e) => set(key, e.currentTarget.checked ? null : "")} />
                      Superusers only <span class="sr-only">({label})</span>
                    </label>
                  </div>
                  <Problem id={id + "-error"} message={errors[key]} />
                </div>
              );
            })}
          </fieldset>
          {message && <p class="error" role="alert">{message}</p>}
          <div class="actions">
            <button type="submit" disabled={busy || (isNew && !scaffolds)}>{isNew ? "Create collection" : "Save collection"}</button>
            <button type="button" class="secondary" onClick={() => onClose(null)}>Close</button>
            {!isNew && !collection.system && (confirmDelete
              ? <button type="button" class="danger" disabled={busy} onClick={remove}>Yes, delete the collection and its records</button>
              : <button type="button" class="danger secondary" onClick={() => setConfirmDelete(true)}>Delete collection</button>)}
          </div>
        </form>
      </div>
    </div>
  );
}

function FieldRow({ index, field, errors, others, onChange, onRemove }) {
  const base = `fields.${index}.`;
  const id = (name) => `fields-${index}-${name}`;
  const num = (value) => (value === "" ? 0 : Number(value));
  return (
    <div class="field-row" role="group" aria-label={`Field ${index + 1}`}>
      <div class="field">
        <label for={id("name")}>Field name</label>
        <input type="text" {...invalid(id("name"), errors[base + "name"])} value={field.name}
          onInput={(e) => onChange({ name: e.currentTarget.value })} />
        <Problem id={id("name") + "-error"} message={errors[base + "name"]} />
      </div>
      <div class="field">
        <label for={id("type")}>Field type</label>
        <select id={id("type")} value={field.type} disabled={!!field.id} onChange={(e) => onChange({ type: e.currentTarget.value })}>
          {FIELD_TYPES.map((t) => <option key={t} value={t}>{t}</option>)}
        </select>
      </div>
      <div class="field checkbox">
        <input type="checkbox" id={id("required")} checked={!!field.required} onChange={(e) => onChange({ required: e.currentTarget.checked })} />
        <label for={id("required")}>Required</label>
      </div>
      {field.type === "select" && (
        <div class="field">
          <label for={id("values")}>Choices (comma separated)</label>
          <input type="text" {...invalid(id("values"), errors[base + "values"])} value={(field.values || []).join(", ")}
            onInput={(e) => onChange({ values: e.currentTarget.value.split(",").map((v) => v.trim()).filter(Boolean) })} />
          <Problem id={id("values") + "-error"} message={errors[base + "values"]} />
        </div>
      )}
      {field.type === "relation" && (
        <div class="field">
          <label for={id("collectionId")}>Related collection</label>
          <select {...invalid(id("collectionId"), errors[base + "collectionId"])} value={field.collectionId || ""}
            onChange={(e) => onChange({ collectionId: e.currentTarget.value })}>
            <option value="">—</option>
            {others.map((c) => <option key={c.id} value={c.id}>{c.name}</option>)}
          </select>
          <Problem id={id("collectionId") + "-error"} message={errors[base + "collectionId"]} />
        </div>
      )}
      {["select", "relation", "file"].includes(field.type) && (
        <div class="field">
          <label for={id("maxSelect")}>Max selections</label>
          <input type="number" min="1" {...invalid(id("maxSelect"), errors[base + "maxSelect"])} value={field.maxSelect || 1}
            onInput={(e) => onChange({ maxSelect: num(e.currentTarget.value) })} />
          <Problem id={id("maxSelect") + "-error"} message={errors[base + "maxSelect"]} />
        </div>
      )}
      {field.type === "file" && (
        <div class="field">
          <label for={id("maxSize")}>Max size (bytes)</label>
          <input type="number" min="0" id={id("maxSize")} value={field.maxSize || 0}
            onInput={(e) => onChange({ maxSize: num(e.currentTarget.value) })} />
        </div>
      )}
      <button type="button" class="danger secondary" onClick={onRemove}>
        Remove field <span class="sr-only">{field.name || index + 1}</span>
      </button>
    </div>
  );
}
