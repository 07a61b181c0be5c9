// Import records from a CSV file: preview the first rows mapped to fields, then create them one by
// one through the API, listing each refused row with the API's errors.
import { useLayoutEffect, useState } from "preact/hooks";
import { pb, errorsOf } from "../pb.js";
import { importValue, importableFields, parseCSV } from "../transfer.js";

const PREVIEW = 5;

export function ImportPanel({ collection, onClose }) {
  const [parsed, setParsed] = useState(null); // {header, rows, columns: [{index, field}], ignored}
  const [problem, setProblem] = useState("");
  const [progress, setProgress] = useState(null); // {done, created, failures: [{row, field, message}]}
  const [running, setRunning] = useState(false);

  // Before the panel is painted (not after, as useEffect would): an Escape pressed as soon
  // as it shows must close it.
  useLayoutEffect(() => {
    const onKey = (e) => { if (e.key === "Escape" && !running) onClose(progress?.created > 0); };
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
    let created = 0;
    const records = pb.collection(collection.name);
    for (let i = 0; i < parsed.rows.length; i++) {
      const row = parsed.rows[i];
      const { body, errors } = bodyOf(row);
      const local = Object.entries(errors);
      try {
        if (local.length) {
          for (const [field, message] of local) failures.push({ row: row.line, field, message });
        } else {
          await records.create(body);
          created++;
        }
      } catch (err) {
        const { message, fields } = errorsOf(err);
        const named = Object.entries(fields);
        if (named.length === 0) failures.push({ row: row.line, field: "", message });
        for (const [field, text] of named) failures.push({ row: row.line, field, message: text });
      }
      if (i % 10 === 9 || i === parsed.rows.length - 1) setProgress({ done: i + 1, created, failures: [...failures] });
    }
    setRunning(false);
  }

  const done = progress && progress.done === parsed?.rows.length && !running;
  return (
    <div class="overlay" onClick={(e) => { if (e.target === e.currentTarget && !running) onClose(progress?.created > 0); }}>
      <div class="panel" role="dialog" aria-modal="true" aria-labelledby="import-title">
        <h2 id="import-title">Import {collection.name} records from CSV</h2>
        <p class="muted">
          The first line names the fields. Multiple values go comma separated or as a JSON array; JSON fields as JSON.
          Files cannot be imported.
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
              {progress.created} created, {new Set(progress.failures.map((f) => f.row)).size} refused.
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
          <button type="button" class="secondary" disabled={running} onClick={() => onClose(progress?.created > 0)}>Close</button>
        </div>
      </div>
    </div>
  );
}
