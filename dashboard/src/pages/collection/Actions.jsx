// Duplicate a collection under a new name, and truncate one (delete all its records).
import { useState } from "preact/hooks";
import { pb, errorsOf } from "../../pb.js";
import { Problem, invalid } from "./controls.jsx";

const INDEX_HEAD = /^(\s*create\s+(?:unique\s+)?index\s+(?:if\s+not\s+exists\s+)?)(\S+)(\s+on\s+)(\S+)/i;
const AUTH_INDEX = /index\s+`?idx_(tokenKey|email)_\w+`?\s+on/i;
const randomName = () => "idx_" + Math.random().toString(36).slice(2, 12);

// The collection's JSON as a new collection: no ids, the new name, its indexes renamed and on the new table.
export function copyOf(collection, name) {
  const { id, created, updated, ...rest } = structuredClone(collection);
  return {
    ...rest,
    name,
    system: false,
    fields: (rest.fields || []).map(({ id: _id, ...f }) => f),
    // An auth collection's own tokenKey and email indexes are made anew by the API for the copy.
    indexes: (rest.indexes || []).filter((sql) => !(rest.type === "auth" && AUTH_INDEX.test(sql))).map((sql) => sql.replace(INDEX_HEAD, (_, head, _n, on) => `${head}\`${randomName()}\`${on}\`${name}\``)),
  };
}

export function Duplicate({ collection, onDone }) {
  const [name, setName] = useState(collection.name + "_copy");
  const [errors, setErrors] = useState({});
  const [message, setMessage] = useState("");
  const [busy, setBusy] = useState(false);
  async function duplicate(e) {
    e.preventDefault();
    setBusy(true);
    try {
      onDone(await pb.collections.create(copyOf(collection, name.trim())));
    } catch (err) {
      const found = errorsOf(err);
      setErrors(found.fields);
      setMessage(found.message);
      setBusy(false);
    }
  }
  return (
    <form class="inline-form" onSubmit={duplicate} aria-label="Duplicate collection">
      <div class="field">
        <label for="duplicate-name">Name of the copy</label>
        <input type="text" {...invalid("duplicate-name", errors.name)} value={name} onInput={(e) => setName(e.currentTarget.value)} />
        <Problem id="duplicate-name-error" message={errors.name} />
      </div>
      <button type="submit" class="secondary" disabled={busy}>Duplicate collection</button>
      {message && !errors.name && (
        <p class="error" role="alert">
          {message} {Object.entries(errors).map(([path, problem]) => `${path}: ${problem}`).join("; ")}
        </p>
      )}
    </form>
  );
}

export function Truncate({ collection, onDone }) {
  const [confirm, setConfirm] = useState(false);
  const [message, setMessage] = useState("");
  const [busy, setBusy] = useState(false);
  async function truncate() {
    setBusy(true);
    try {
      await pb.collections.truncate(collection.id);
      onDone(collection);
    } catch (err) {
      setMessage(errorsOf(err).message);
      setBusy(false);
    }
  }
  return (
    <div class="inline-form">
      {confirm
        ? <>
            <button type="button" class="danger" disabled={busy} onClick={truncate}>Yes, delete every record of {collection.name}</button>
            <button type="button" class="secondary" onClick={() => setConfirm(false)}>Keep the records</button>
          </>
        : <button type="button" class="danger secondary" onClick={() => setConfirm(true)}>Truncate collection</button>}
      {message && <p class="error" role="alert">{message}</p>}
    </div>
  );
}
