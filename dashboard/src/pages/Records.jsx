// A collection's records: server-side paging, click-to-sort columns, a filter in the filter language,
// export and import, keyboard shortcuts.
import { useEffect, useRef, useState, useLayoutEffect } from "preact/hooks";
import { pb, errorsOf, accessOf } from "../pb.js";
import { RecordPanel } from "./RecordPanel.jsx";
import { ImportPanel } from "./ImportPanel.jsx";
import { cellText, listedFields } from "../fields.jsx";
import { downloadBlob, exportBlob } from "../transfer.js";
import { FilterInput } from "../autocomplete.jsx";

const PER_PAGE = 50;

export function Records({ collection, collections, onEditCollection }) {
  const [page, setPage] = useState(1);
  const [sort, setSort] = useState(collection.type === "view" ? "" : "-@rowid");
  const [filterText, setFilterText] = useState("");
  const [filter, setFilter] = useState("");
  const [result, setResult] = useState(null);
  const [error, setError] = useState("");
  const [editing, setEditing] = useState(null); // null, "new" or a record
  const [reload, setReload] = useState(0);
  const [selected, setSelected] = useState(() => new Set());
  const [confirmBulk, setConfirmBulk] = useState(false);
  const [total, setTotal] = useState(null); // counted apart from the page, so a page never waits for a count
  const [exporting, setExporting] = useState("");
  const [exported, setExported] = useState(null); // records written so far by the running export
  const [importing, setImporting] = useState(false);
  const filterInput = useRef(null);
  const hiddenKey = "__kb_hidden_columns__" + collection.id;
  const [hidden, setHidden] = useState(() => new Set(JSON.parse(localStorage.getItem(hiddenKey) || "[]")));
  const can = accessOf(collection);
  const allColumns = listedFields(collection);
  const columns = allColumns.filter((f) => f.name === "id" || !hidden.has(f.name));

  function toggleColumn(name) {
    const next = new Set(hidden);
    if (next.has(name)) next.delete(name);
    else next.add(name);
    localStorage.setItem(hiddenKey, JSON.stringify([...next]));
    setHidden(next);
  }

  function toggleRow(id) {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setSelected(next);
    setConfirmBulk(false);
  }

  const pageIds = result ? result.items.map((r) => r.id) : [];
  const allOnPage = pageIds.length > 0 && pageIds.every((id) => selected.has(id));
  function toggleAll() {
    setSelected(allOnPage ? new Set() : new Set(pageIds));
    setConfirmBulk(false);
  }

  async function deleteSelected() {
    const ids = [...selected];
    const results = await Promise.allSettled(ids.map((id) => pb.collection(collection.name).delete(id)));
    const failed = results.filter((r) => r.status === "rejected");
    setSelected(new Set(ids.filter((_, i) => results[i].status === "rejected")));
    setConfirmBulk(false);
    setError(failed.length ? `${failed.length} of ${ids.length} records could not be deleted: ${errorsOf(failed[0].reason).message}` : "");
    setReload((n) => n + 1);
  }

  useEffect(() => {
    let stale = false;
    // skipTotal: the page comes without a COUNT over the whole filter; the total follows apart.
    pb.collection(collection.name).getList(page, PER_PAGE, { sort, filter, skipTotal: true })
      .then((r) => { if (!stale) { setResult(r); setError(""); } })
      .catch((err) => { if (!stale) setError(errorsOf(err).message); });
    return () => { stale = true; };
  }, [collection.name, page, sort, filter, reload]);

  // The count shows "counting…" for a new filter, and keeps the last figure while a live change recounts.
  const countedFor = useRef("");
  useEffect(() => {
    let stale = false;
    const key = collection.name + "\n" + filter;
    if (countedFor.current !== key) { countedFor.current = key; setTotal(null); }
    const timer = setTimeout(() => {
      pb.collection(collection.name).getList(1, 1, { filter, fields: "id" })
        .then((r) => { if (!stale) setTotal(r.totalItems); })
        .catch(() => {});
    }, 50);
    return () => { stale = true; clearTimeout(timer); };
  }, [collection.name, filter, reload]);

  // Keyboard: "/" focuses the filter, "n" opens a new record (not while typing or with a panel open).
  // Registered before the page is painted (useLayoutEffect): once a closed panel is gone from
  // the screen, "n" already sees it closed.
  useLayoutEffect(() => {
    const onKey = (e) => {
      // Not with a panel open (ours or the collection panel), nor with a modifier key.
      if (editing || importing || e.ctrlKey || e.metaKey || e.altKey || document.querySelector('[aria-modal="true"]')) return;
      const target = e.target;
      if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
      if (e.key === "/") { e.preventDefault(); filterInput.current?.focus(); }
      else if (e.key === "n" && collection.type !== "view" && can.create) { e.preventDefault(); setEditing("new"); }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [editing, importing, collection.type]);

  async function exportAs(kind) {
    setExporting(kind);
    setExported(0);
    try {
      const blob = await exportBlob(collection, kind, { filter, sort }, setExported);
      downloadBlob(collection.name + "." + kind, blob);
      setError("");
    } catch (err) {
      setError(errorsOf(err).message);
    } finally {
      setExporting("");
      setExported(null);
    }
  }

  // Live: a change by anyone reloads the page shown (at most every 300 ms), through realtime.
  useEffect(() => {
    let timer = null;
    let unsubscribe = null;
    let gone = false;
    pb.collection(collection.name).subscribe("*", () => {
      clearTimeout(timer);
      timer = setTimeout(() => setReload((n) => n + 1), 300);
    }).then((stop) => { if (gone) stop(); else unsubscribe = stop; }).catch(() => {});
    return () => { gone = true; clearTimeout(timer); if (unsubscribe) unsubscribe(); };
  }, [collection.name]);

  function sortBy(name) {
    setSort(sort === name ? "-" + name : name);
    setPage(1);
  }

  function applyFilter(e) {
    e.preventDefault();
    setFilter(filterText.trim());
    setPage(1);
  }

  function closed(changed) {
    setEditing(null);
    if (changed) setReload((n) => n + 1);
  }

  const totalPages = total === null ? null : Math.max(1, Math.ceil(total / PER_PAGE));
  const hasNext = totalPages !== null ? page < totalPages : !!result && result.items.length === PER_PAGE;
  return (
    <section aria-labelledby="records-title">
      <div class="toolbar">
        <h1 id="records-title">{collection.name}</h1>
        <div class="actions">
          {onEditCollection && <button type="button" class="secondary" onClick={onEditCollection}>Edit collection</button>}
          <button type="button" class="secondary" disabled={!!exporting} onClick={() => exportAs("csv")}>
            {exporting === "csv" ? "Exporting…" : "Export CSV"}</button>
          <button type="button" class="secondary" disabled={!!exporting} onClick={() => exportAs("json")}>
            {exporting === "json" ? "Exporting…" : "Export JSON"}</button>
          {collection.type !== "view" && can.create &&
            <button type="button" class="secondary" onClick={() => setImporting(true)}>Import CSV</button>}
          {collection.type !== "view" && can.create &&
            <button type="button" onClick={() => setEditing("new")} aria-keyshortcuts="n">New record</button>}
        </div>
      </div>
      <form class="filter" role="search" onSubmit={applyFilter}>
        <FilterInput aria-label="Filter" inputRef={filterInput} aria-keyshortcuts="/" class="grow"
          placeholder='Filter, e.g. title ~ "hello" && created > "2024-01-01"'
          value={filterText} onChange={setFilterText} context={{ collection, collections: collections || [], rules: false }}
          aria-invalid={error ? "true" : undefined} aria-describedby={error ? "records-error" : undefined} />
        <button type="submit" class="secondary">Apply filter</button>
      </form>
      <div class="toolbar">
        <details class="columns">
          <summary>Columns</summary>
          <fieldset>
            <legend class="sr-only">Shown columns</legend>
            {allColumns.filter((f) => f.name !== "id").map((f) => (
              <label key={f.name} class="inline">
                <input type="checkbox" checked={!hidden.has(f.name)} onChange={() => toggleColumn(f.name)} /> {f.name}
              </label>
            ))}
          </fieldset>
        </details>
        {selected.size > 0 && collection.type !== "view" && can.delete && (
          <div class="actions">
            <span>{selected.size} selected</span>
            {confirmBulk
              ? <button type="button" class="danger" onClick={deleteSelected}>Yes, delete {selected.size} records</button>
              : <button type="button" class="danger secondary" onClick={() => setConfirmBulk(true)}>Delete selected</button>}
            <button type="button" class="secondary" onClick={() => { setSelected(new Set()); setConfirmBulk(false); }}>Clear selection</button>
          </div>
        )}
      </div>
      {exporting && <p role="status">Exporting {exporting.toUpperCase()}: {exported} records so far…</p>}
      {error && <p id="records-error" role="alert" class="error">{error}</p>}
      <div class="grid-wrap">
        <table class="grid">
          <thead>
            <tr>
              <th class="select">
                <input type="checkbox" aria-label="Select all records on this page" checked={allOnPage} onChange={toggleAll} />
              </th>
              {columns.map((f) => {
                const state = sort === f.name ? "ascending" : sort === "-" + f.name ? "descending" : undefined;
                return (
                  <th key={f.name} aria-sort={state}>
                    <button type="button" class="link" onClick={() => sortBy(f.name)}>
                      {f.name}{state === "ascending" ? " ▲" : state === "descending" ? " ▼" : ""}
                    </button>
                  </th>
                );
              })}
            </tr>
          </thead>
          <tbody>
            {result?.items.map((record) => (
              <tr key={record.id} onClick={() => setEditing(record)} class="row" tabIndex={0}
                onKeyDown={(e) => { if (e.key === "Enter" && e.target === e.currentTarget) setEditing(record); }}>
                <td class="select" onClick={(e) => e.stopPropagation()}>
                  <input type="checkbox" aria-label={"Select record " + record.id}
                    checked={selected.has(record.id)} onChange={() => toggleRow(record.id)} />
                </td>
                {columns.map((f, i) => (
                  <td key={f.name}>
                    {i === 0
                      ? <button type="button" class="link" aria-label={"Open record " + record.id}
                          onClick={(e) => { e.stopPropagation(); setEditing(record); }}>{record.id}</button>
                      : cellText(f, record[f.name])}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
        {result && result.items.length === 0 && <p class="empty">No records found.</p>}
      </div>
      {result && (
        <nav class="pager" aria-label="Pages">
          <button type="button" class="secondary" disabled={page <= 1} onClick={() => setPage(page - 1)}>Previous</button>
          <span>Page {page}{totalPages === null ? "" : ` of ${totalPages}`} · {total === null ? "counting…" : `${total} records`}</span>
          <button type="button" class="secondary" disabled={!hasNext} onClick={() => setPage(page + 1)}>Next</button>
        </nav>
      )}
      {editing && (
        <RecordPanel collection={collection} record={editing === "new" ? null : editing} onClose={closed} />
      )}
      {importing && (
        <ImportPanel collection={collection} onClose={(changed) => { setImporting(false); if (changed) setReload((n) => n + 1); }} />
      )}
    </section>
  );
}
