// Create or edit a collection: name, type, fields with every option, indexes, API rules, auth
// options, view query with a preview; duplicate and truncate. The parts live in ./collection/.
// The API validates; its errors (fields.2.name, otp.duration, ...) are shown next to their inputs.
import { useEffect, useState } from "preact/hooks";
import { pb, errorsOf } from "../pb.js";
import { Problem, invalid } from "./collection/controls.jsx";
import { FieldEditor } from "./collection/FieldEditor.jsx";
import { Indexes } from "./collection/Indexes.jsx";
import { AuthOptions, authBody } from "./collection/AuthOptions.jsx";
import { ViewPreview } from "./collection/ViewPreview.jsx";
import { Duplicate, Truncate } from "./collection/Actions.jsx";
import { FilterInput } from "../autocomplete.jsx";
import { ConflictAlert, changedSince } from "../ui.jsx";

const RULES = [["listRule", "List/Search rule"], ["viewRule", "View rule"], ["createRule", "Create rule"],
  ["updateRule", "Update rule"], ["deleteRule", "Delete rule"]];
const AUTH_RULES = [["authRule", "Auth rule"], ["manageRule", "Manage rule"]];
// New collections get created/updated dates, as PocketBase's own dashboard adds them.
const DEFAULT_FIELDS = [
  { name: "created", type: "autodate", onCreate: true, onUpdate: false },
  { name: "updated", type: "autodate", onCreate: true, onUpdate: true },
];

// Each field carries a key of the page's own (_k), so reordering keeps inputs with their field;
// it is removed before sending.
let nextKey = 1;
const keyed = (fields) => (fields || []).map((f) => ({ ...f, _k: f._k || nextKey++ }));
export const unkeyed = (fields) => (fields || []).map(({ _k, _open, ...f }) => f);

const draftOf = (collection) => ({ ...structuredClone(collection), fields: keyed(structuredClone(collection.fields)) });

export function CollectionPanel({ collection: opened, collections, onClose }) {
  const isNew = !opened;
  // The collection as loaded (again after Reload): what a save checks for a change made meanwhile.
  const [collection, setCollection] = useState(opened);
  const [conflict, setConflict] = useState(false);
  const [draft, setDraft] = useState(() => opened
    ? draftOf(opened)
    : { name: "", type: "base", fields: keyed(structuredClone(DEFAULT_FIELDS)), viewQuery: "", indexes: [],
        listRule: null, viewRule: null, createRule: null, updateRule: null, deleteRule: null });
  const [errors, setErrors] = useState({});
  const [message, setMessage] = useState("");
  const [busy, setBusy] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [scaffolds, setScaffolds] = useState(null); // the type can be chosen once they are in

  // A new collection starts from the API's scaffold of its type, system fields included, so the
  // indexes in the API's errors (fields.2.name) are the indexes of the list shown here.
  useEffect(() => {
    if (isNew) pb.collections.getScaffolds().then((all) => { setScaffolds(all); retype("base", all); });
  }, []);

  function retype(type, all = scaffolds) {
    setDraft((d) => {
      const scaffold = structuredClone(all[type]);
      const own = d.fields.filter((f) => !f.system);
      return { ...scaffold, name: d.name, viewQuery: d.viewQuery || "",
        indexes: [...(scaffold.indexes || []), ...(d.indexes || []).filter((x) => !(scaffold.indexes || []).includes(x))],
        fields: keyed([...(scaffold.fields || []), ...own]) };
    });
  }

  const set = (key, value) => setDraft((d) => ({ ...d, [key]: value }));
  const setField = (i, patch) => setDraft((d) => ({ ...d, fields: d.fields.map((f, j) => (j === i ? { ...f, ...patch } : f)) }));
  const addField = () => setDraft((d) => ({ ...d,
    fields: [...d.fields, ...keyed([{ name: "", type: "text", required: false, _open: true }])] }));
  const removeField = (i) => setDraft((d) => ({ ...d, fields: d.fields.filter((_, j) => j !== i) }));
  const moveField = (i, by) => setDraft((d) => {
    const fields = [...d.fields];
    const j = i + by;
    if (j < 0 || j >= fields.length) return d;
    [fields[i], fields[j]] = [fields[j], fields[i]];
    return { ...d, fields };
  });
  // Errors name fields by position: after a move they would point at the wrong one, so they go.
  const move = (i, by) => { moveField(i, by); setErrors({}); };
  // Drag and drop: a field's handle dropped on another field's row takes that field's place.
  const [dragging, setDragging] = useState({ from: -1, over: -1 });
  const moveTo = (from, to) => {
    if (from === to || from < 0 || to < 0) return;
    setDraft((d) => {
      const fields = [...d.fields];
      const [moved] = fields.splice(from, 1);
      fields.splice(to, 0, moved);
      return { ...d, fields };
    });
    setErrors({});
  };
  const drag = {
    ...dragging,
    start: (e, i) => {
      e.dataTransfer.effectAllowed = "move";
      e.dataTransfer.setData("text/x-keelbase-field", String(i));
      setDragging({ from: i, over: -1 });
    },
    overRow: (e, i) => {
      if (dragging.from < 0) return; // not one of our fields (a file, some text)
      e.preventDefault();
      e.dataTransfer.dropEffect = "move";
      if (dragging.over !== i) setDragging({ ...dragging, over: i });
    },
    drop: (e, i) => {
      if (dragging.from < 0) return;
      e.preventDefault();
      moveTo(dragging.from, i);
      setDragging({ from: -1, over: -1 });
    },
    end: () => setDragging({ from: -1, over: -1 }),
  };

  async function save(e, anyway = false) {
    e.preventDefault();
    setBusy(true);
    setErrors({});
    setMessage("");
    let body = { ...draft, fields: unkeyed(draft.fields) };
    if (body.type === "view") delete body.fields;
    else delete body.viewQuery;
    if (body.type === "auth") body = authBody(body);
    try {
      // No If-Match in the API: the collection is read again just before saving.
      if (!isNew && !anyway && changedSince(collection, await pb.collections.getOne(collection.id))) {
        setConflict(true);
        setBusy(false);
        return;
      }
      const saved = isNew ? await pb.collections.create(body) : await pb.collections.update(collection.id, body);
      onClose(saved);
    } catch (err) {
      const { message: text, fields } = errorsOf(err);
      setErrors(fields);
      setMessage(text);
      setBusy(false);
    }
  }

  async function reload() {
    setBusy(true);
    try {
      const current = await pb.collections.getOne(collection.id);
      setCollection(current);
      setDraft(draftOf(current));
      setErrors({});
      setConflict(false);
    } catch (err) {
      setMessage(errorsOf(err).message);
    }
    setBusy(false);
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
  // The rules' suggestions know the fields as edited here, not yet saved.
  const ruleContext = { collection: { ...draft, fields: unkeyed(draft.fields) }, collections: [...others, { ...draft, fields: unkeyed(draft.fields) }], rules: true };
  const rules = [...RULES.filter(([key]) => draft.type !== "view" || key === "listRule" || key === "viewRule"),
    ...(draft.type === "auth" ? AUTH_RULES : [])];
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
            <select id="collection-type" value={draft.type} disabled={!isNew || !scaffolds} onChange={(e) => retype(e.currentTarget.value)}>
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
                <ViewPreview query={draft.viewQuery || ""} />
              </div>
            )
            : (
              <fieldset class="field">
                <legend>Fields</legend>
                {draft.fields.map((field, i) => (
                  <FieldEditor key={field._k} index={i} count={draft.fields.length} field={field} errors={errors} others={others}
                    onChange={(patch) => setField(i, patch)} onRemove={() => removeField(i)} onMove={(by) => move(i, by)} drag={drag} />
                ))}
                <Problem id="collection-fields-error" message={errors.fields} />
                <button type="button" class="secondary" onClick={addField}>Add field</button>
              </fieldset>
            )}
          {draft.type !== "view" && (
            <Indexes table={draft.name} columns={draft.fields.map((f) => f.name)} indexes={draft.indexes}
              errors={errors} onChange={(list) => set("indexes", list)} />
          )}
          <fieldset class="field">
            <legend>API rules</legend>
            {rules.map(([key, label]) => {
              const locked = draft[key] === null;
              const id = "rule-" + key;
              return (
                <div key={key} class="field">
                  <label for={id}>{label}</label>
                  <div class="rule">
                    <FilterInput {...invalid(id, errors[key])} disabled={locked} class="grow" context={ruleContext}
                      placeholder={locked ? "superusers only" : "empty: everyone"} value={draft[key] ?? ""}
                      onChange={(text) => set(key, text)} />
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
          {draft.type === "auth" && (
            <details class="auth-options" open={Object.keys(errors).some((k) => /^(passwordAuth|otp|mfa|oauth2|authAlert|\w+Token|\w+Template)\b/.test(k)) || undefined}>
              <summary>Auth options</summary>
              <AuthOptions draft={draft} errors={errors} onChange={setDraft} />
            </details>
          )}
          {message && <p class="error" role="alert">{message}</p>}
          {conflict && <ConflictAlert busy={busy} onReload={reload} onSaveAnyway={(e) => { setConflict(false); save(e, true); }} />}
          <div class="actions">
            <button type="submit" disabled={busy || conflict || (isNew && !scaffolds)}>{isNew ? "Create collection" : "Save collection"}</button>
            <button type="button" class="secondary" onClick={() => onClose(null)}>Close</button>
            {!isNew && !collection.system && (confirmDelete
              ? <button type="button" class="danger" disabled={busy} onClick={remove}>Yes, delete the collection and its records</button>
              : <button type="button" class="danger secondary" onClick={() => setConfirmDelete(true)}>Delete collection</button>)}
          </div>
        </form>
        {!isNew && (
          <div class="collection-actions">
            {!collection.system && <Duplicate collection={collection} onDone={onClose} />}
            {collection.type !== "view" && <Truncate collection={collection} onDone={onClose} />}
          </div>
        )}
      </div>
    </div>
  );
}
