// Export of a filtered list to CSV or JSON (streamed page by page into a Blob), and CSV parsing for the import (RFC 4180).
import { pb } from "./pb.js";
import { listedFields } from "./fields.jsx";

export const EXPORT_PAGE = 500;

/** The pages of records of the filter and sort, one after the other, through the SDK (500 a page, no total asked). */
export async function* pagesOf(collection, { filter, sort }) {
  for (let page = 1; ; page++) {
    const r = await pb.collection(collection.name).getList(page, EXPORT_PAGE, { filter, sort, skipTotal: true });
    yield r.items;
    if (r.items.length < EXPORT_PAGE) return;
  }
}

/**
 * The file of every record of the filter and sort, as a Blob built from one part a page: no
 * one string of the whole file is ever made, and each page's records are dropped once written.
 * onProgress hears the count of records written so far.
 */
export async function exportBlob(collection, kind, { filter, sort }, onProgress) {
  const csv = kind === "csv";
  const names = listedFields(collection).map((f) => f.name);
  const parts = [csv ? names.map(quote).join(",") + "\r\n" : "["];
  let count = 0;
  for await (const items of pagesOf(collection, { filter, sort })) {
    if (items.length) parts.push(csv ? csvLines(names, items) : (count ? "," : "") + jsonItems(items));
    count += items.length;
    if (onProgress) onProgress(count);
  }
  parts.push(csv ? "" : count ? "\n]\n" : "]\n");
  return new Blob(parts, { type: csv ? "text/csv" : "application/json" });
}

/** One CSV cell: strings as they are, numbers and bools as text, arrays and objects as JSON. */
function cell(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function quote(text) {
  return /[",\r\n]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
}

/** CSV lines of records (RFC 4180: CRLF line ends, quotes doubled), in the order of the names. */
function csvLines(names, records) {
  return records.map((record) => names.map((n) => quote(cell(record[n]))).join(",") + "\r\n").join("");
}

/** Records as the items of a JSON array indented by 2, as JSON.stringify(list, null, 2) lays them out. */
function jsonItems(records) {
  // JSON escapes line breaks inside strings, so every line break here is layout.
  return records.map((r) => "\n  " + JSON.stringify(r, null, 2).replace(/\n/g, "\n  ")).join(",");
}

export function download(name, type, text) {
  downloadBlob(name, new Blob([text], { type }));
}

export function downloadBlob(name, blob) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/**
 * Parses CSV text (RFC 4180: fields separated by commas, optionally in double quotes, quotes
 * doubled inside, CRLF or LF line ends, line breaks allowed inside quotes). A leading BOM is
 * skipped. Returns the rows as arrays of strings, each with the line it starts on; a quote that
 * never closes throws an Error naming that line.
 */
export function parseCSV(text) {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const rows = [];
  let row = [];
  let field = "";
  let line = 1;
  let rowLine = 1;
  let i = 0;
  let quoted = false;
  let quoteLine = 0;
  const endField = () => { row.push(field); field = ""; };
  const endRow = () => {
    endField();
    // A blank line is no row.
    if (!(row.length === 1 && row[0] === "")) rows.push({ line: rowLine, cells: row });
    row = [];
  };
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') { field += '"'; i += 2; continue; }
        quoted = false; i++; continue;
      }
      if (c === "\n") line++;
      field += c; i++; continue;
    }
    if (c === '"' && field === "") { quoted = true; quoteLine = line; i++; continue; }
    if (c === ",") { endField(); i++; continue; }
    if (c === "\r" || c === "\n") {
      endRow();
      i += c === "\r" && text[i + 1] === "\n" ? 2 : 1;
      line++;
      rowLine = line;
      continue;
    }
    field += c; i++;
  }
  if (quoted) throw new Error(`Line ${quoteLine}: a quoted value is never closed.`);
  if (field !== "" || row.length) endRow();
  return rows;
}

const TRUE = new Set(["true", "1", "yes", "on"]);
const FALSE = new Set(["false", "0", "no", "off", ""]);

/**
 * A CSV text as the value the API expects for the field: {value}, or {error} for a text that is
 * no number, bool or JSON (the API would cast such a number to 0, so it is refused here instead).
 */
export function importValue(field, text) {
  const many = (field.maxSelect || 1) > 1;
  switch (field.type) {
    case "number": {
      if (text.trim() === "") return { value: null };
      const n = Number(text);
      return Number.isFinite(n) ? { value: n } : { error: "Not a number." };
    }
    case "bool": {
      const t = text.trim().toLowerCase();
      return TRUE.has(t) ? { value: true } : FALSE.has(t) ? { value: false } : { error: "Not a bool (true/false, 1/0, yes/no)." };
    }
    case "json": case "geoPoint":
      if (text.trim() === "") return { value: null };
      try { return { value: JSON.parse(text) }; } catch { return { error: "Invalid JSON." }; }
    case "select": case "relation":
      if (!many) return { value: text };
      if (text.trim().startsWith("[")) {
        try { return { value: JSON.parse(text) }; } catch { return { error: "Invalid JSON array." }; }
      }
      return { value: text.split(",").map((s) => s.trim()).filter(Boolean) };
    default:
      return { value: text };
  }
}

/** The fields a CSV column can fill: everything but files and automatic dates (id and password included). */
export function importableFields(collection) {
  return collection.fields.filter((f) => f.type !== "file" && f.type !== "autodate"
    && (f.type === "password" || f.name === "id" || !f.hidden));
}
