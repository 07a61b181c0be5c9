// Import records from a CSV file: preview the first rows mapped to fields, then send them through
// /api/batch in chunks the server's batch settings allow (one by one when batch is off). A row
// whose id names an existing record updates it. Each refused row is listed with the API's errors.
import { useLayoutEffect, useState } from "preact/hooks";
import { pb, errorsOf, isEditor } from "../pb.js";
import { importValue, importableFields, parseCSV } from "../transfer.js";

const PREVIEW = 5;
// Rows a batch request carries at most (fewer when the server allows fewer).
const CHUNK = 100;
// PocketBase's batch body limit when the settings name none.
const DEFAULT_MAX_BODY = 128 << 20;

/** The server's batch settings; an editor cannot read them, so a refused batch tells instead. */
async function batchLimits() {
  if (!isEditor()) {
    try {
      const { batch } = await pb.settings.getAll();
      return { enabled: !!batch?.enabled && batch.maxRequests > 0, maxRequests: batch?.maxRequests || 0, maxBodySize: batch?.maxBodySize || 0 };
    } catch { /* as an editor */ }
  }
  return { enabled: true, maxRequests: CHUNK, maxBodySize: 0 };
}

/** The items in chunks of at most maxRequests rows (CHUNK when unlimited) and under the body limit. */
function* chunksOf(items, { maxRequests, maxBodySize }) {
  const most = Math.max(1, Math.min(CHUNK, maxRequests || CHUNK));
  const room = (maxBodySize || DEFAULT_MAX_BODY) * 0.9;
  let chunk = [];
  let size = 0;
  for (const item of items) {
    const bytes = new TextEncoder().encode(JSON.stringify(item.body)).length + 100;
    if (chunk.length && (chunk.length >= most || size + bytes > room)) { yield chunk; chunk = []; size = 0; }
    chunk.push(item);
    size += bytes;
  }
  if (chunk.length) yield chunk;
}

export function ImportPanel({ collection, onClose }) {
  const [parsed, setParsed] = useState(null); // {header, rows, columns: [{index, field}], ignored}
  const [problem, setProblem] = useState("");
  const [progress, setProgress] = useState(null); // {done, created, updated, failures: [{row, field, message}]}
  const [running, setRunning] = useState(false);

  // Before the panel is painted (not after, as useEffect would): an Escape pressed as soon
  // as it shows must close it.
  useLayoutEffect(() => {
    const onKey = (e) => { if (e.key === "Escape" && !running) onClose(changed); };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [running, progress]);

  async function choose(e) {
    const file = e.currentTarget.files[0];
    setParsed(null);
    setProgress(null);
    setProblem("");
    if (!file) return;
    try {
      const rows = parseCSV(await file.text());
      if (rows.length === 0) { setProblem("The file is empty."); return; }
      const header = rows[0].cells.map((h) => h.trim());
      const byName = new Map(importableFields(collection).map((f) => [f.name, f]));
      const columns = [];
      const ignored = [];
      header.forEach((name, index) => {
        if (byName.has(name)) columns.push({ index, field: byName.get(name) });
        else if (!(name === "passwordConfirm" && byName.has("password"))) ignored.push(name || `column ${index + 1}`);
      });
      if (columns.length === 0) { setProblem("No column of the file is named after a field of " + collection.name + "."); return; }
      setParsed({ header, rows: rows.slice(1), columns, ignored, confirmIndex: header.indexOf("passwordConfirm") });
    } catch (err) {
      setProblem(err.message);
    }
  }

  /** The request body of a row, and the values refused before sending ({field: message}). */
  function bodyOf(row) {
    const body = {};
    const errors = {};
    for (const { index, field } of parsed.columns) {
      const text = row.cells[index] ?? "";
      if (field.name === "id" && text === "") continue;
      const { value, error } = importValue(field, text);
      if (error) errors[field.name] = error;
      else body[field.name] = value;
    }
    if ("password" in body) {
      body.passwordConfirm = parsed.confirmIndex >= 0 ? (row.cells[parsed.confirmIndex] ?? "") : body.password;
    }
    return { body, errors };
  }

  async function run() {
    setRunning(true);
    const failures = [];
    const counts = { created: 0, updated: 0 };
    const refuse = (row, err) => {
      const { message, fields } = errorsOf(err);
      const named = Object.entries(fields);
      if (named.length === 0) failures.push({ row: row.line, field: "", message });
      for (const [field, text] of named) failures.push({ row: row.line, field, message: text });
    };
    const limits = await batchLimits();
    let useBatch = limits.enabled;
    const rows = parsed.rows;
    let done = 0;
    for (const chunk of chunksOf(rows.map((row) => ({ row, ...bodyOf(row) })), limits)) {
      const items = [];
      for (const item of chunk) {
        const local = Object.entries(item.errors);
        if (local.length) for (const [field, message] of local) failures.push({ row: item.row.line, field, message });
        else items.push(item);
      }
      try {
        await markExisting(items);
      } catch (err) {
        for (const item of items) refuse(item.row, err);
        items.length = 0;
      }
      if (useBatch && items.length > 1) {
        let outcome;
        try {
          outcome = await sendBatch(items, refuse);
        } catch (err) {
          for (const item of items) refuse(item.row, err);
          outcome = [];
        }
        if (outcome === "unavailable") useBatch = false;
        else for (const item of outcome) counts[item.existing ? "updated" : "created"]++;
      }
      if (!useBatch || items.length === 1) {
        for (const item of items) {
          try {
            await sendOne(item);
            counts[item.existing ? "updated" : "created"]++;
          } catch (err) {
            refuse(item.row, err);
          }
        }
      }
      done += chunk.length;
      setProgress({ done, ...counts, failures: [...failures].sort((a, b) => a.row - b.row) });
    }
    setRunning(false);
  }

  const records = () => pb.collection(collection.name);

  /** Marks the items whose id names a record that exists (they update it), in one list request. */
  async function markExisting(items) {
    const ids = items.map((i) => i.body.id).filter(Boolean);
    if (ids.length === 0) return;
    const filter = ids.map((id) => pb.filter("id = {:id}", { id })).join(" || ");
    const found = await records().getList(1, ids.length, { filter, fields: "id", skipTotal: true });
    const existing = new Set(found.items.map((r) => r.id));
    for (const item of items) item.existing = !!item.body.id && existing.has(item.body.id);
  }

  function sendOne({ body, existing }) {
    if (!existing) return records().create(body);
    const { id, ...rest } = body;
    return records().update(id, rest);
  }

  /**
   * Sends the items in /api/batch requests (one transaction each): a refused row is listed and
   * the others sent again without it. Returns the items saved, or "unavailable" when the server
   * takes no batch (disabled, or more requests than it allows): nothing of the chunk was saved.
   */
  async function sendBatch(items, refuse) {
    let pending = items;
    while (pending.length) {
      const batch = pb.createBatch();
      for (const { body, existing } of pending) {
        if (existing) { const { id, ...rest } = body; batch.collection(collection.name).update(id, rest); }
        else batch.collection(collection.name).create(body);
      }
      try {
        await batch.send();
        return pending;
      } catch (err) {
        const failed = Object.entries(err?.response?.data?.requests || {})
          .find(([, problem]) => problem?.code === "batch_request_failed");
        if (!failed) {
          if (err?.status !== 403 && err?.status !== 400) throw err;
          // Refused as a whole (disabled, too many requests, timed out): one by one instead.
          return pending.length === items.length ? "unavailable" : await sendRest(pending, refuse);
        }
        const index = Number(failed[0]);
        refuse(pending[index].row, { response: failed[1].response });
        pending = pending.filter((_, i) => i !== index);
      }
    }
    return [];
  }

  /** What is left of a chunk once batch requests stopped being accepted midway: one by one. */
  async function sendRest(pending, refuse) {
    const saved = [];
    for (const item of pending) {
      try { await sendOne(item); saved.push(item); } catch (err) { refuse(item.row, err); }
    }
    return saved;
  }

  const changed = !!progress && progress.created + progress.updated > 0;
  const done = progress && progress.done === parsed?.rows.length && !running;
  return (
    <div class="overlay" onClick={(e) => { if (e.target === e.currentTarget && !running) onClose(changed); }}>
      <div class="panel" role="dialog" aria-modal="true" aria-labelledby="import-title">
        <h2 id="import-title">Import {collection.name} records from CSV</h2>
        <p class="muted">
          The first line names the fields. Multiple values go comma separated or as a JSON array; JSON fields as JSON.
          Files cannot be imported. A row whose id names an existing record updates it.
        </p>
        <div class="field">
          <label for="import-file">CSV file</label>
          <input id="import-file" type="file" accept=".csv,text/csv" disabled={running} onChange={choose}
            aria-invalid={problem ? "true" : undefined} aria-describedby={problem ? "import-problem" : undefined} />
          {problem && <p class="field-error" id="import-problem" role="alert">{problem}</p>}
        </div>
        {parsed && (
          <>
            <p>
              {parsed.rows.length} rows. Columns used: {parsed.columns.map((c) => c.field.name).join(", ")}.
              {parsed.ignored.length > 0 && <> Ignored (no such field): {parsed.ignored.join(", ")}.</>}
            </p>
            <div class="grid-wrap" tabIndex={0} role="region" aria-label="Preview">
              <table class="grid" aria-label="Preview of the first rows">
                <thead>
                  <tr>
                    <th scope="col">row</th>
                    {parsed.columns.map((c) => <th scope="col" key={c.field.name}>{c.field.name} <small class="kind">{c.field.type}</small></th>)}
                  </tr>
                </thead>
                <tbody>
                  {parsed.rows.slice(0, PREVIEW).map((row) => (
                    <tr key={row.line}>
                      <td>{row.line}</td>
                      {parsed.columns.map((c) => <td key={c.field.name}>{c.field.type === "password" ? "••••" : row.cells[c.index] ?? ""}</td>)}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </>
        )}
        {progress && (
          <div>
            <p role="status">
              {done ? "Import finished: " : `Importing… ${progress.done} of ${parsed.rows.length} rows, `}
              {progress.created} created, {progress.updated} updated, {new Set(progress.failures.map((f) => f.row)).size} refused.
            </p>
            {progress.failures.length > 0 && (
              <table class="grid" aria-label="Refused rows">
                <thead><tr><th scope="col">row</th><th scope="col">field</th><th scope="col">error</th></tr></thead>
                <tbody>
                  {progress.failures.map((f, i) => (
                    <tr key={i}><td>{f.row}</td><td>{f.field}</td><td>{f.message}</td></tr>
                  ))}
                </tbody>
              </table>
            )}
          </div>
        )}
        <div class="actions">
          {parsed && !progress && (
            <button type="button" disabled={running || parsed.rows.length === 0} onClick={run}>
              Import {parsed.rows.length} rows
            </button>
          )}
          <button type="button" class="secondary" disabled={running} onClick={() => onClose(changed)}>Close</button>
        </div>
      </div>
    </div>
  );
}
