// A view's query result before saving: POST /api/collections/meta/dry-run-view (the SDK's
// dryRunViewQuery), asked again 600 ms after the query stops changing.
import { useEffect, useState } from "preact/hooks";
import { pb, errorsOf } from "../../pb.js";

export function ViewPreview({ query }) {
  const [result, setResult] = useState(null);
  const [error, setError] = useState("");
  useEffect(() => {
    if (!query.trim()) { setResult(null); setError(""); return undefined; }
    let live = true;
    const timer = setTimeout(() => {
      pb.collections.dryRunViewQuery(query)
        .then((r) => { if (live) { setResult(r); setError(""); } })
        .catch((err) => { if (live) { setResult(null); setError(errorsOf(err).message); } });
    }, 600);
    return () => { live = false; clearTimeout(timer); };
  }, [query]);
  const columns = (result?.fields || []).filter((f) => !f.hidden).map((f) => f.name);
  return (
    <section class="view-preview" aria-label="Query preview">
      {error && <p class="error" role="alert">{error}</p>}
      {result && (
        <div class="table-wrap">
          <table aria-label="Preview of the view's records">
            <caption class="muted">First {result.sample?.length || 0} records</caption>
            <thead><tr>{columns.map((c) => <th key={c} scope="col">{c}</th>)}</tr></thead>
            <tbody>
              {(result.sample || []).map((row, i) => (
                <tr key={i}>{columns.map((c) => <td key={c}>{typeof row[c] === "object" ? JSON.stringify(row[c]) : String(row[c] ?? "")}</td>)}</tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
