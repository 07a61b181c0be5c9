// Settings → Export collections and Import collections, as PocketBase has them: the schema as
// JSON (copy, download), and an import (paste or load a file) that shows what would change,
// collections and fields, before it is sent with pb.collections.import(collections, deleteMissing).
import { useEffect, useState } from "preact/hooks";
import { pb, errorsOf } from "../pb.js";
import { download } from "../transfer.js";
import { diffCollections, exportable, parseImport, toSend } from "../schemadiff.js";

export function ExportCollections() {
  const [collections, setCollections] = useState(null);
  const [picked, setPicked] = useState(null); // ids
  const [error, setError] = useState("");
  const [status, setStatus] = useState("");

  useEffect(() => {
    pb.collections.getFullList({ sort: "name" })
      .then((list) => { setCollections(list); setPicked(new Set(list.map((c) => c.id))); })
      .catch((err) => setError(errorsOf(err).message));
  }, []);

  if (!collections) return error ? <p role="alert" class="error">{error}</p> : <p>Loading…</p>;
  const text = JSON.stringify(exportable(collections.filter((c) => picked.has(c.id))), null, 2);
  const toggle = (id, on) => setPicked((p) => { const n = new Set(p); if (on) n.add(id); else n.delete(id); return n; });

  async function copy() {
    try {
      await navigator.clipboard.writeText(text);
      setStatus("Copied to the clipboard.");
    } catch {
      setStatus("The browser refused the clipboard: select the text and copy it.");
    }
  }

  return (
    <section class="transfer" aria-labelledby="export-title">
      <h2 id="export-title">Export collections</h2>
      <p class="muted">The schema of the chosen collections as JSON, for <em>Import collections</em> on another node (or PocketBase).</p>
      <fieldset class="columns-pick" aria-label="Collections to export">
        <label class="inline"><input type="checkbox" checked={picked.size === collections.length}
          onChange={(e) => setPicked(new Set(e.currentTarget.checked ? collections.map((c) => c.id) : []))} /> All</label>
        {collections.map((c) => (
          <label class="inline" key={c.id}>
            <input type="checkbox" checked={picked.has(c.id)} onChange={(e) => toggle(c.id, e.currentTarget.checked)} /> {c.name}
          </label>
        ))}
      </fieldset>
      <div class="actions">
        <button type="button" onClick={() => download("pb_schema.json", "application/json", text + "\n")} disabled={!picked.size}>Download JSON</button>
        <button type="button" class="secondary" onClick={copy} disabled={!picked.size}>Copy</button>
      </div>
      {status && <p role="status">{status}</p>}
      <label for="export-json" class="sr-only">Exported collections (JSON)</label>
      <textarea id="export-json" class="mono" rows={18} readOnly value={text} spellcheck={false} />
    </section>
  );
}

function Change({ before, after, label }) {
  return (
    <li>
      <code>{label}</code>: <del>{before}</del> → <ins>{after}</ins>
    </li>
  );
}

/** The readable diff: added, changed and deleted collections, and inside each its fields. */
function Diff({ diff }) {
  const nothing = !diff.added.length && !diff.changed.length && !diff.deleted.length;
  return (
    <section class="diff" aria-labelledby="diff-title">
      <h3 id="diff-title">What the import changes</h3>
      {nothing && <p>Nothing: the collections are already like this.</p>}
      <ul class="diff-list">
        {diff.added.map((c) => (
          <li key={"a" + c.name} class="diff-added">
            Added collection <strong>{c.name}</strong> ({c.type || "base"}, {(c.fields || []).length} fields)
          </li>
        ))}
        {diff.changed.map((c) => (
          <li key={"c" + c.name} class="diff-changed">
            Changed collection <strong>{c.name}</strong>{c.renamed && <> (renamed to <strong>{c.renamed}</strong>)</>}
            <ul>
              {c.fields.added.map((f) => <li key={"fa" + f.name} class="diff-added">Added field <code>{f.name}</code> ({f.type})</li>)}
              {c.fields.deleted.map((f) => <li key={"fd" + f.name} class="diff-deleted">Deleted field <code>{f.name}</code> and its data</li>)}
              {c.fields.changed.map((f) => (
                <li key={"fc" + f.name} class="diff-changed">
                  Changed field <code>{f.name}</code>
                  <ul>{f.changes.map((x) => <Change key={x.key} label={x.key} before={x.before} after={x.after} />)}</ul>
                </li>
              ))}
              {c.options.map((x) => <Change key={x.key} label={x.key} before={x.before} after={x.after} />)}
            </ul>
          </li>
        ))}
        {diff.deleted.map((c) => (
          <li key={"d" + c.name} class="diff-deleted">Deleted collection <strong>{c.name}</strong> and all its records</li>
        ))}
      </ul>
      {diff.unchanged > 0 && <p class="muted">{diff.unchanged} collection{diff.unchanged === 1 ? "" : "s"} unchanged.</p>}
    </section>
  );
}

export function ImportCollections() {
  const [current, setCurrent] = useState(null);
  const [text, setText] = useState("");
  const [deleteMissing, setDeleteMissing] = useState(false);
  const [review, setReview] = useState(null); // {sent, diff}
  const [problem, setProblem] = useState("");
  const [status, setStatus] = useState("");
  const [busy, setBusy] = useState(false);

  const load = () => pb.collections.getFullList({ sort: "name" }).then(setCurrent).catch((err) => setProblem(errorsOf(err).message));
  useEffect(() => { load(); }, []);

  function edit(value) {
    setText(value);
    setReview(null);
    setStatus("");
  }

  async function loadFile(e) {
    const file = e.currentTarget.files[0];
    e.currentTarget.value = "";
    if (file) edit(await file.text());
  }

  function check(e) {
    e.preventDefault();
    setProblem("");
    try {
      const sent = toSend(current, parseImport(text), deleteMissing);
      setReview({ sent, diff: diffCollections(current, sent, deleteMissing) });
    } catch (err) {
      setProblem(err.message);
    }
  }

  async function confirm() {
    setBusy(true);
    setProblem("");
    try {
      await pb.collections.import(review.sent, deleteMissing);
      setStatus("Collections imported.");
      setReview(null);
      setText("");
      await load();
    } catch (err) {
      const { message, fields } = errorsOf(err);
      const details = Object.entries(fields).map(([k, v]) => `${k}: ${v}`).join("; ");
      setProblem(details ? `${message} (${details})` : message);
    } finally {
      setBusy(false);
    }
  }

  if (!current) return problem ? <p role="alert" class="error">{problem}</p> : <p>Loading…</p>;
  return (
    <section class="transfer" aria-labelledby="import-title">
      <h2 id="import-title">Import collections</h2>
      <p class="muted">
        Paste the JSON of <em>Export collections</em> (from this node, another one or PocketBase) or load its file.
        Collections are matched by id, then by name. Nothing changes before you confirm the diff.
      </p>
      <form onSubmit={check} noValidate>
        <label class="secondary-upload">
          Load a JSON file <input type="file" accept=".json,application/json" onChange={loadFile} />
        </label>
        <div class="field">
          <label for="import-json">Collections (JSON)</label>
          <textarea id="import-json" class="mono" rows={14} spellcheck={false} value={text}
            aria-invalid={problem && !review ? "true" : undefined}
            onInput={(e) => edit(e.currentTarget.value)} />
        </div>
        <div class="field checkbox">
          <input type="checkbox" id="import-delete-missing" checked={deleteMissing}
            onChange={(e) => { setDeleteMissing(e.currentTarget.checked); setReview(null); }} />
          <label for="import-delete-missing">Delete the collections and fields that are not in the import (with their data)</label>
        </div>
        <button type="submit" disabled={!text.trim()}>Review changes</button>
      </form>
      {problem && <p role="alert" class="error">{problem}</p>}
      {status && <p role="status" class="success">{status}</p>}
      {review && (
        <>
          <Diff diff={review.diff} />
          <div class="actions">
            <button type="button" class={review.diff.deleted.length || review.diff.changed.some((c) => c.fields.deleted.length) ? "danger" : undefined}
              disabled={busy} onClick={confirm}>Confirm and import</button>
            <button type="button" class="secondary" onClick={() => setReview(null)}>Cancel</button>
          </div>
        </>
      )}
    </section>
  );
}
