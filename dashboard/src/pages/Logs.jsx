// Request and app logs (GET /api/logs): newest first, paged, filtered in the filter language.
import { useEffect, useState } from "preact/hooks";
import { pb, errorsOf } from "../pb.js";

const PER_PAGE = 50;
const LEVELS = { "-4": "DEBUG", 0: "INFO", 4: "WARN", 8: "ERROR" };

// Log entries per hour (GET /api/logs/stats) for the same filter, as bars.
function Chart({ stats }) {
  if (!stats || stats.length === 0) return null;
  const max = Math.max(...stats.map((s) => s.total));
  const total = stats.reduce((sum, s) => sum + s.total, 0);
  const width = 600, height = 100, gap = 1;
  const bar = width / stats.length;
  const label = `${total} log entries over ${stats.length} hour${stats.length > 1 ? "s" : ""} with entries, at most ${max} in an hour`;
  return (
    <svg class="chart" viewBox={`0 0 ${width} ${height + 14}`} preserveAspectRatio="none" role="img" aria-label={label}>
      <title>{label}</title>
      {stats.map((s, i) => {
        const h = Math.max(1, (s.total / max) * height);
        return (
          <rect key={s.date} x={i * bar} y={height - h} width={Math.max(1, bar - gap)} height={h}>
            <title>{`${s.date.slice(0, 13)}h: ${s.total}`}</title>
          </rect>
        );
      })}
      <text x="0" y={height + 12}>{stats[0].date.slice(0, 16)}</text>
      <text x={width} y={height + 12} text-anchor="end">{stats[stats.length - 1].date.slice(0, 16)}</text>
    </svg>
  );
}

export function Logs() {
  const [page, setPage] = useState(1);
  const [filterText, setFilterText] = useState("");
  const [filter, setFilter] = useState("");
  const [result, setResult] = useState(null);
  const [error, setError] = useState("");
  const [open, setOpen] = useState(null);
  const [reload, setReload] = useState(0);
  const [stats, setStats] = useState(null);

  useEffect(() => {
    let stale = false;
    pb.logs.getList(page, PER_PAGE, { sort: "-@rowid", filter })
      .then((r) => { if (!stale) { setResult(r); setError(""); } })
      .catch((err) => { if (!stale) setError(errorsOf(err).message); });
    return () => { stale = true; };
  }, [page, filter, reload]);

  useEffect(() => {
    let stale = false;
    pb.logs.getStats({ filter })
      .then((r) => { if (!stale) setStats(r); })
      .catch(() => { if (!stale) setStats(null); }); // the list shows the filter's error
    return () => { stale = true; };
  }, [filter, reload]);

  function applyFilter(e) {
    e.preventDefault();
    setFilter(filterText.trim());
    setPage(1);
    setReload((n) => n + 1); // the same filter again still fetches what is new
  }

  const totalPages = result ? Math.max(1, result.totalPages) : 1;
  return (
    <section aria-labelledby="logs-title">
      <div class="toolbar">
        <h1 id="logs-title">Logs</h1>
        <button type="button" class="secondary" onClick={() => setReload(reload + 1)}>Refresh</button>
      </div>
      <form class="filter" role="search" onSubmit={applyFilter}>
        <input type="search" aria-label="Filter logs" placeholder='Filter, e.g. data.status >= 400 && data.url ~ "/api/"'
          value={filterText} onInput={(e) => setFilterText(e.currentTarget.value)}
          aria-invalid={error ? "true" : undefined} aria-describedby={error ? "logs-error" : undefined} />
        <button type="submit" class="secondary">Apply filter</button>
      </form>
      {error && <p id="logs-error" role="alert" class="error">{error}</p>}
      <Chart stats={stats} />
      <div class="grid-wrap">
        <table class="grid">
          <thead>
            <tr><th>level</th><th>message</th><th>status</th><th>time (ms)</th><th>created</th></tr>
          </thead>
          <tbody>
            {result?.items.map((log) => {
              const level = LEVELS[log.level] || String(log.level);
              return (
                <tr key={log.id} class="row" onClick={() => setOpen(log)}>
                  <td class={"level-" + level.toLowerCase()}>{level}</td>
                  <td>
                    <button type="button" class="link" onClick={(e) => { e.stopPropagation(); setOpen(log); }}>
                      {log.message}
                    </button>
                  </td>
                  <td>{log.data?.status ?? ""}</td>
                  <td>{typeof log.data?.execTime === "number" ? log.data.execTime.toFixed(1) : ""}</td>
                  <td>{log.created}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
        {result && result.items.length === 0 && <p class="empty">No logs found.</p>}
      </div>
      {result && (
        <nav class="pager" aria-label="Pages">
          <button type="button" class="secondary" disabled={page <= 1} onClick={() => setPage(page - 1)}>Previous</button>
          <span>Page {page} of {totalPages} · {result.totalItems} entries</span>
          <button type="button" class="secondary" disabled={page >= totalPages} onClick={() => setPage(page + 1)}>Next</button>
        </nav>
      )}
      {open && (
        <div class="overlay" onClick={(e) => { if (e.target === e.currentTarget) setOpen(null); }}>
          <div class="panel" role="dialog" aria-modal="true" aria-labelledby="log-title">
            <h2 id="log-title">{open.message}</h2>
            <p class="muted">{LEVELS[open.level] || open.level} · {open.created} · id <code>{open.id}</code></p>
            <pre class="json" aria-label="Log data">{JSON.stringify(open.data, null, 2)}</pre>
            <button type="button" class="secondary" onClick={() => setOpen(null)}>Close</button>
          </div>
        </div>
      )}
    </section>
  );
}
