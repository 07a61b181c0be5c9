// The API reference at /_/api-docs/: /api/openapi.json made readable. A page of its own (its
// own entry and bundle, not the dashboard's), so the dashboard's first load never pays for it.
// It reads the superuser session the dashboard keeps, if any, to describe every collection;
// without one it shows what guests may see.
import "./app.css";
import "./apidocs.css";
import { render } from "preact";
import { useEffect, useMemo, useState } from "preact/hooks";

const METHODS = ["get", "post", "put", "patch", "delete"];
// The API is at the origin's path before /_/ (a node may be served under a prefix).
const BASE = window.location.pathname.replace(/\/_\/.*$/, "");

const slug = (tag) => "tag-" + tag.replace(/[^A-Za-z0-9_-]/g, "-");

function superuserToken() {
  try {
    const kept = JSON.parse(window.localStorage.getItem("__kb_superuser_auth__") || "null");
    // An editor's session (a user of another auth collection) is kept there too: not a superuser's.
    const superuser = kept?.record?.collectionName === "_superusers";
    return superuser && typeof kept.token === "string" ? kept.token : "";
  } catch {
    return "";
  }
}

/** Follows a local "#/components/..." reference. */
function resolve(doc, schema) {
  let seen = 0;
  while (schema && schema.$ref && seen++ < 20) {
    const parts = schema.$ref.replace(/^#\//, "").split("/");
    schema = parts.reduce((at, key) => (at ? at[key.replace(/~1/g, "/").replace(/~0/g, "~")] : undefined), doc);
  }
  return schema || {};
}

function typeOf(doc, schema) {
  const s = resolve(doc, schema);
  if (schema && schema.$ref) return schema.$ref.split("/").pop();
  if (Array.isArray(s.type)) return s.type.join(" | ");
  if (s.type === "array") return typeOf(doc, s.items || {}) + "[]";
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(" | ");
  if (s.oneOf || s.anyOf) return (s.oneOf || s.anyOf).map((x) => typeOf(doc, x)).join(" | ");
  return s.type || (s.format ? s.format : "any");
}

function limits(s) {
  const out = [];
  if (s.format) out.push(s.format);
  if (s.minLength !== undefined) out.push(`min length ${s.minLength}`);
  if (s.maxLength !== undefined) out.push(`max length ${s.maxLength}`);
  if (s.minimum !== undefined) out.push(`≥ ${s.minimum}`);
  if (s.maximum !== undefined) out.push(`≤ ${s.maximum}`);
  if (s.pattern) out.push(`pattern ${s.pattern}`);
  return out.join(", ");
}

function Properties({ doc, schema, label }) {
  const s = resolve(doc, schema);
  const props = Object.entries(s.properties || {});
  if (!props.length) return <p class="muted">{label}: {typeOf(doc, schema)}</p>;
  const required = new Set(s.required || []);
  return (
    <table class="grid api-fields">
      <caption>{label}{schema && schema.$ref ? ` (${schema.$ref.split("/").pop()})` : ""}</caption>
      <thead><tr><th scope="col">Field</th><th scope="col">Type</th><th scope="col">Required</th><th scope="col">Notes</th></tr></thead>
      <tbody>
        {props.map(([name, prop]) => (
          <tr key={name}>
            <td><code>{name}</code></td>
            <td>{typeOf(doc, prop)}</td>
            <td>{required.has(name) ? "yes" : ""}</td>
            <td>{[resolve(doc, prop).description, limits(resolve(doc, prop))].filter(Boolean).join("; ")}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Operation({ doc, method, path, op }) {
  const params = [...(op.parameters || [])].map((p) => resolve(doc, p));
  const body = op.requestBody ? resolve(doc, op.requestBody) : null;
  const bodyTypes = body ? Object.entries(body.content || {}) : [];
  const ok = Object.entries(op.responses || {}).find(([code]) => code.startsWith("2"));
  const okSchema = ok && resolve(doc, ok[1]).content?.["application/json"]?.schema;
  const id = op.operationId || `${method}-${path}`;
  return (
    <details class="api-op" id={id}>
      <summary>
        <span class={`api-method api-${method}`}>{method.toUpperCase()}</span>
        <code class="api-path">{path}</code>
        <span class="muted">{op.summary || ""}</span>
      </summary>
      <div class="api-body">
        {op.description && <p>{op.description}</p>}
        {op.security && op.security.length > 0 && <p class="muted">Needs an auth token in the Authorization header.</p>}
        {params.length > 0 && (
          <table class="grid api-fields">
            <caption>Parameters</caption>
            <thead><tr><th scope="col">Name</th><th scope="col">In</th><th scope="col">Type</th><th scope="col">Notes</th></tr></thead>
            <tbody>
              {params.map((p) => (
                <tr key={p.in + p.name}>
                  <td><code>{p.name}</code>{p.required ? " (required)" : ""}</td>
                  <td>{p.in}</td>
                  <td>{typeOf(doc, p.schema || {})}</td>
                  <td>{p.description || ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {bodyTypes.length > 0 && (
          <>
            <p class="muted">Body: {bodyTypes.map(([type]) => type).join(", ")}</p>
            <Properties doc={doc} schema={bodyTypes[0][1].schema || {}} label="Request body" />
          </>
        )}
        {okSchema && <Properties doc={doc} schema={okSchema} label={`Answer ${ok[0]}`} />}
        <p class="muted">
          Answers: {Object.entries(op.responses || {}).map(([code, r]) => `${code} ${resolve(doc, r).description || ""}`.trim()).join(" · ")}
        </p>
      </div>
    </details>
  );
}

function Reference() {
  const [doc, setDoc] = useState(null);
  const [error, setError] = useState("");
  const [query, setQuery] = useState("");
  const token = superuserToken();

  useEffect(() => {
    fetch(BASE + "/api/openapi.json", { headers: token ? { Authorization: token } : {} })
      .then((r) => (r.ok ? r.json() : Promise.reject(new Error(`HTTP ${r.status}`))))
      .then(setDoc)
      .catch((e) => setError(String(e.message || e)));
  }, []);

  const groups = useMemo(() => {
    const out = new Map();
    if (!doc) return out;
    for (const [path, item] of Object.entries(doc.paths || {})) {
      for (const method of METHODS) {
        const op = item[method];
        if (!op) continue;
        const tag = (op.tags && op.tags[0]) || "other";
        const wanted = query.trim().toLowerCase();
        if (wanted && !`${method} ${path} ${op.summary || ""} ${tag}`.toLowerCase().includes(wanted)) continue;
        if (!out.has(tag)) out.set(tag, []);
        out.get(tag).push({ method, path, op });
      }
    }
    return out;
  }, [doc, query]);

  if (error) return <main class="content"><h1>API reference</h1><p class="error" role="alert">The description could not be read: {error}</p></main>;
  if (!doc) return <main class="content"><h1>API reference</h1><p class="muted">Loading…</p></main>;
  return (
    <div class="api-layout">
      <header class="topbar">
        <span class="brand">Keelbase</span>
        <a href="../">Dashboard</a>
        <a href={BASE + "/api/openapi.json"}>openapi.json</a>
      </header>
      <nav class="sidebar" aria-label="Groups">
        <ul>
          {[...groups.keys()].map((tag) => <li key={tag}><a href={"#" + slug(tag)}>{tag}</a></li>)}
        </ul>
      </nav>
      <main class="content">
        <h1>{doc.info?.title || "API"} reference <span class="kind">{doc.info?.version} · OpenAPI {doc.openapi}</span></h1>
        <p class="muted">
          {token ? "Every collection (signed in as a superuser)." : "The collections open to guests: sign in to the dashboard as a superuser to see them all."}
        </p>
        <label for="api-search">Search routes</label>
        <input id="api-search" type="search" value={query} onInput={(e) => setQuery(e.currentTarget.value)} />
        {[...groups.entries()].map(([tag, ops]) => (
          <section key={tag} class="api-tag" aria-labelledby={slug(tag)}>
            <h2 id={slug(tag)}>{tag}</h2>
            {ops.map(({ method, path, op }) => <Operation key={method + path} doc={doc} method={method} path={path} op={op} />)}
          </section>
        ))}
        {groups.size === 0 && <p class="empty">No route matches.</p>}
      </main>
    </div>
  );
}

render(<Reference />, document.getElementById("app"));
