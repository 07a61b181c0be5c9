// View, create, edit or delete one record. The API's field errors are shown next to each input.
import { useLayoutEffect, useState } from "preact/hooks";
import { pb, errorsOf, accessOf, isEditor } from "../pb.js";
import { FieldInput, editedFields, formState, requestBody } from "../fields.jsx";
import { AuthActions } from "./AuthActions.jsx";
import { ConflictAlert, changedSince } from "../ui.jsx";

export function RecordPanel({ collection, record: opened, onClose }) {
  const isNew = !opened;
  // The record as loaded (again after Reload): what a save checks for a change made meanwhile.
  const [record, setRecord] = useState(opened);
  const [generation, setGeneration] = useState(0); // a Reload remounts the inputs
  const [conflict, setConflict] = useState(false);
  const [state, setState] = useState(() => ({ id: "", ...formState(collection, opened) }));
  const [errors, setErrors] = useState({});
  const [message, setMessage] = useState("");
  const [busy, setBusy] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const can = accessOf(collection);
  const readOnly = collection.type === "view" || (!isNew && !can.update);

  // Before the panel is painted (not after, as useEffect would): an Escape pressed as soon
  // as it shows must close it.
  useLayoutEffect(() => {
    const onKey = (e) => { if (e.key === "Escape") onClose(false); };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  const set = (name) => (value) => setState((s) => ({ ...s, [name]: value }));

  async function save(e, anyway = false) {
    e.preventDefault();
    const { body, errors: local } = requestBody(collection, state, isNew);
    setErrors(local);
    setMessage("");
    if (Object.keys(local).length) return;
    setBusy(true);
    try {
      const records = pb.collection(collection.name);
      if (isNew) await records.create(body);
      else {
        // No If-Match in the API: the record is read again just before saving.
        if (!anyway && changedSince(record, await records.getOne(record.id))) {
          setConflict(true);
          setBusy(false);
          return;
        }
        await records.update(record.id, body);
      }
      onClose(true);
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
      const current = await pb.collection(collection.name).getOne(record.id);
      setRecord(current);
      setState({ id: "", ...formState(collection, current) });
      setErrors({});
      setConflict(false);
      setGeneration((n) => n + 1);
    } catch (err) {
      setMessage(errorsOf(err).message);
    }
    setBusy(false);
  }

  async function remove() {
    setBusy(true);
    try {
      await pb.collection(collection.name).delete(record.id);
      onClose(true);
    } catch (err) {
      setMessage(errorsOf(err).message);
      setBusy(false);
    }
  }

  const title = isNew ? `New ${collection.name} record` : `Record ${record.id}`;
  return (
    <div class="overlay" onClick={(e) => { if (e.target === e.currentTarget) onClose(false); }}>
      <div class="panel" role="dialog" aria-modal="true" aria-labelledby="panel-title">
        <form onSubmit={save} noValidate>
          <h2 id="panel-title">{title}</h2>
          {isNew
            ? (
              <div class="field">
                <label for="field-id">id <small class="kind">optional, generated when empty</small></label>
                <input id="field-id" type="text" value={state.id} onInput={(e) => set("id")(e.currentTarget.value)}
                  aria-invalid={errors.id ? "true" : undefined} aria-describedby={errors.id ? "field-id-error" : undefined} />
                {errors.id && <p class="field-error" id="field-id-error" role="alert">{errors.id}</p>}
              </div>
            )
            : <p class="muted">id <code>{record.id}</code></p>}
          {editedFields(collection).map((field) => (
            <div key={field.name + "/" + generation}>
              <FieldInput field={field} value={state[field.name]} onChange={set(field.name)}
                error={errors[field.name]} record={record} collection={collection} state={state} />
              {field.type === "password" && (
                <div class="field">
                  <label for="field-passwordConfirm">passwordConfirm</label>
                  <input id="field-passwordConfirm" type="password" autocomplete="new-password"
                    value={state.passwordConfirm} onInput={(e) => set("passwordConfirm")(e.currentTarget.value)}
                    aria-invalid={errors.passwordConfirm ? "true" : undefined}
                    aria-describedby={errors.passwordConfirm ? "field-passwordConfirm-error" : undefined} />
                  {errors.passwordConfirm &&
                    <p class="field-error" id="field-passwordConfirm-error" role="alert">{errors.passwordConfirm}</p>}
                </div>
              )}
            </div>
          ))}
          {message && <p class="error" role="alert">{message}</p>}
          {conflict && <ConflictAlert busy={busy} onReload={reload} onSaveAnyway={(e) => { setConflict(false); save(e, true); }} />}
          {!isNew && collection.type === "auth" && !isEditor() && <AuthActions collection={collection} record={record} />}
          <div class="actions">
            {!readOnly && <button type="submit" disabled={busy || conflict}>{isNew ? "Create" : "Save changes"}</button>}
            <button type="button" class="secondary" onClick={() => onClose(false)}>Close</button>
            {!isNew && collection.type !== "view" && can.delete && (confirmDelete
              ? <button type="button" class="danger" disabled={busy} onClick={remove}>Yes, delete this record</button>
              : <button type="button" class="danger secondary" onClick={() => setConfirmDelete(true)}>Delete</button>)}
          </div>
        </form>
      </div>
    </div>
  );
}
