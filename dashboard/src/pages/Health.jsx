// The figures every backend is judged by (GET /api/health as a superuser): uptime,
// success rate and latency percentiles of the last 5 minutes, hour and day, per route.
import { useEffect, useState } from "preact/hooks";
import { pb, errorsOf } from "../pb.js";

const WINDOWS = [["5m", "Last 5 minutes"], ["1h", "Last hour"], ["24h", "Last 24 hours"]];
const REFRESH_MS = 10000;

const percent = (rate) => (rate === null || rate === undefined ? "–" : (rate * 100).toFixed(2) + " %");
const ms = (value) => (value === null || value === undefined ? "–" : value.toFixed(1) + " ms");

function duration(seconds) {
  const s = Math.floor(seconds);
  const [d, h, m] = [Math.floor(s / 86400), Math.floor((s % 86400) / 3600), Math.floor((s % 3600) / 60)];
  return d ? `${d} d ${h} h` : h ? `${h} h ${m} min` : m ? `${m} min ${s % 60} s` : `${s} s`;
}

export function Health() {
  const [data, setData] = useState(null);
  const [error, setError] = useState("");
  const [span, setSpan] = useState("5m");

  useEffect(() => {
    let stale = false;
    const load = () => pb.health.check()
      .then((r) => { if (!stale) { setData(r.data); setError(""); } })
      .catch((err) => { if (!stale) setError(errorsOf(err).message); });
    load();
    const timer = setInterval(load, REFRESH_MS);
    return () => { stale = true; clearInterval(timer); };
  }, []);

  const figures = data?.requests?.[span];
  return (
    <section aria-labelledby="health-title">
      <div class="toolbar"><h1 id="health-title">Health</h1></div>
      {error && <p role="alert" class="error">{error}</p>}
      {data && (
        <dl class="stats" aria-label="Server">
          <div><dt>Uptime</dt><dd>{duration(data.uptime)}</dd></div>
          <div><dt>Version</dt><dd>{data.version}</dd></div>
          <div><dt>Database</dt><dd>{data.store === "postgres" ? "PostgreSQL" : "SQLite"}</dd></div>
          <div><dt>Redis</dt><dd>{!data.redis?.configured ? "not used" : data.redis.reachable ? "reachable" : "unreachable"}</dd></div>
        </dl>
      )}
      {data && !data.requests && <p class="error" role="alert">The request figures cannot be read right now.</p>}
      {data?.requests && (
        <>
          <div class="stats-grid">
            {WINDOWS.map(([key, title]) => {
              const f = data.requests[key];
              return (
                <section class="stat-card" key={key} aria-label={title}>
                  <h2>{title}</h2>
                  <p><strong>{f.requests}</strong> requests · <strong>{percent(f.successRate)}</strong> success</p>
                  <p class="muted">p50 {ms(f.p50)} · p95 {ms(f.p95)} · p99 {ms(f.p99)}</p>
                </section>
              );
            })}
          </div>
          <div class="toolbar">
            <h2 id="routes-title">Routes</h2>
            <label>
              Window{" "}
              <select value={span} onChange={(e) => setSpan(e.currentTarget.value)}>
                {WINDOWS.map(([key, title]) => <option key={key} value={key}>{title}</option>)}
              </select>
            </label>
          </div>
          <div class="grid-wrap">
            <table class="grid" aria-labelledby="routes-title">
              <thead>
                <tr><th>route</th><th>requests</th><th>success</th><th>p50</th><th>p95</th><th>p99</th></tr>
              </thead>
              <tbody>
                {figures.routes.map((r) => (
                  <tr key={r.method + " " + r.route}>
                    <td><code>{r.method} {r.route}</code></td>
                    <td>{r.requests}</td>
                    <td class={r.successRate < 0.99 ? "error" : ""}>{percent(r.successRate)}</td>
                    <td>{ms(r.p50)}</td><td>{ms(r.p95)}</td><td>{ms(r.p99)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            {figures.routes.length === 0 && <p class="empty">No requests in this window.</p>}
          </div>
        </>
      )}
    </section>
  );
}
