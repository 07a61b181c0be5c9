// One input per field type, and how each value goes to and from the API.
import { useEffect, useState } from "preact/hooks";
import { pb } from "./pb.js";
import { RelationInput } from "./relation.jsx";
import { RichText } from "./richtext.jsx";

const NOT_LISTED = new Set(["password"]);

/** The columns of the grid: the visible fields, id first. */
export function listedFields(collection) {
  return collection.fields.filter((f) => !f.hidden && !NOT_LISTED.has(f.type));
}

/** The fields the record panel edits. */
export function editedFields(collection) {
  return collection.fields.filter((f) => f.type === "password" || (!f.hidden && f.name !== "id"));
}

export function cellText(field, value) {
  if (value === null || value === undefined || value === "") return "";
  if (field.type === "bool") return value ? "true" : "false";
  if (Array.isArray(value)) return value.join(", ");
  if (typeof value === "object") return truncate(JSON.stringify(value));
  return truncate(String(value));
}

function truncate(text) {
  return text.length > 80 ? text.slice(0, 77) + "…" : text;
}

const IMAGE = /\.(png|jpe?g|gif|webp)$/i;

const multiple = (field) => (field.maxSelect || 1) > 1;

// Dates travel as "2024-01-02 03:04:05.000Z" (UTC); the input edits them as UTC too.
function dateToInput(value) {
  return value ? value.replace(" ", "T").slice(0, 19) : "";
}
function inputToDate(value) {
  if (!value) return "";
  const full = value.length === 16 ? value + ":00" : value;
  return full.replace("T", " ") + ".000Z";
}

/** The editable form state of a record (strings for text inputs). */
export function formState(collection, record) {
  const state = {};
  for (const field of editedFields(collection)) {
    const value = record ? record[field.name] : undefined;
    switch (field.type) {
      case "bool": state[field.name] = !!value; break;
      case "json": state[field.name] = value === undefined || value === null ? "" : JSON.stringify(value, null, 2); break;
      case "date": case "autodate": state[field.name] = dateToInput(value); break;
      case "select": state[field.name] = multiple(field) ? (value || []) : (value || ""); break;
      case "relation": state[field.name] = Array.isArray(value) ? value.join(", ") : (value || ""); break;
      case "file": state[field.name] = { kept: value ? [].concat(value) : [], removed: [], added: [] }; break;
      case "geoPoint": state[field.name] = value || { lon: 0, lat: 0 }; break;
      case "password": state[field.name] = ""; state.passwordConfirm = ""; break;
      case "number": state[field.name] = value === undefined || value === null ? "" : String(value); break;
      default: state[field.name] = value ?? "";
    }
  }
  return state;
}

/** The request body for the form state; client-side problems come back as errors. */
export function requestBody(collection, state, isNew) {
  const body = {};
  const errors = {};
  for (const field of editedFields(collection)) {
    const value = state[field.name];
    switch (field.type) {
      case "autodate": break;
      case "number": body[field.name] = value === "" ? null : Number(value); break;
      case "date": body[field.name] = inputToDate(value); break;
      case "json":
        if (value.trim() === "") body[field.name] = null;
        else {
          try { body[field.name] = JSON.parse(value); }
          catch { errors[field.name] = "Invalid JSON."; }
        }
        break;
      case "relation": {
        const ids = value.split(/[\s,]+/).filter(Boolean);
        body[field.name] = multiple(field) ? ids : (ids[0] || "");
        break;
      }
      case "file":
        if (value.removed.length) body[field.name + "-"] = value.removed;
        if (value.added.length) {
          if (multiple(field)) body[field.name + "+"] = value.added;
          else body[field.name] = value.added[0];
        }
        break;
      case "password":
        if (value || isNew) {
          body.password = value;
          body.passwordConfirm = state.passwordConfirm;
        }
        break;
      default: body[field.name] = value;
    }
  }
  if (isNew && state.id) body.id = state.id;
  return { body, errors };
}

/** The labelled input for one field, its API error next to it. */
export function FieldInput({ field, value, onChange, error, record, collection, state }) {
  const id = "field-" + field.name;
  const errorId = id + "-error";
  const common = {
    id, name: field.name,
    "aria-invalid": error ? "true" : undefined,
    "aria-describedby": error ? errorId : undefined,
  };
  const label = (
    <label for={id}>
      {field.name} <small class="kind">{field.type}{field.required ? " · required" : ""}</small>
    </label>
  );
  const problem = error && <p class="field-error" id={errorId} role="alert">{error}</p>;
  let input;
  switch (field.type) {
    case "bool":
      return (
        <div class="field checkbox">
          <input type="checkbox" {...common} checked={value} onChange={(e) => onChange(e.currentTarget.checked)} />
          {label}
          {problem}
        </div>
      );
    case "number":
      input = <input type="number" step="any" {...common} value={value} onInput={(e) => onChange(e.currentTarget.value)} />;
      break;
    case "email": case "url":
      input = <input type={field.type} {...common} value={value} onInput={(e) => onChange(e.currentTarget.value)} />;
      break;
    case "editor":
      // The label names the editing area (a contenteditable, not a labelable element).
      return (
        <div class="field">
          <label id={id + "-label"} onClick={() => document.getElementById(id)?.focus()}>
            {field.name} <small class="kind">{field.type}{field.required ? " · required" : ""}</small>
          </label>
          <RichText id={id} labelId={id + "-label"} value={value} onChange={onChange}
            invalid={common["aria-invalid"]} describedBy={common["aria-describedby"]} />
          {problem}
        </div>
      );
    case "json":
      input = <textarea rows={5} class="mono" {...common} value={value} onInput={(e) => onChange(e.currentTarget.value)} />;
      break;
    case "date": case "autodate":
      input = (
        <input type="datetime-local" step="1" {...common} readOnly={field.type === "autodate"}
          value={value} onInput={(e) => onChange(e.currentTarget.value)} />
      );
      break;
    case "select":
      input = multiple(field)
        ? (
          <select multiple {...common} onChange={(e) => onChange([...e.currentTarget.selectedOptions].map((o) => o.value))}>
            {field.values.map((v) => <option key={v} value={v} selected={value.includes(v)}>{v}</option>)}
          </select>
        )
        : (
          <select {...common} value={value} onChange={(e) => onChange(e.currentTarget.value)}>
            <option value="">—</option>
            {field.values.map((v) => <option key={v} value={v}>{v}</option>)}
          </select>
        );
      break;
    case "relation":
      input = <RelationInput field={field} value={value} onChange={onChange} common={common} many={multiple(field)} />;
      break;
    case "geoPoint":
      return (
        <fieldset class="field">
          <legend>{field.name} <small class="kind">geoPoint</small></legend>
          <label>Longitude <input type="number" step="any" value={value.lon}
            onInput={(e) => onChange({ ...value, lon: Number(e.currentTarget.value) })} /></label>
          <label>Latitude <input type="number" step="any" value={value.lat}
            onInput={(e) => onChange({ ...value, lat: Number(e.currentTarget.value) })} /></label>
          {problem}
        </fieldset>
      );
    case "password":
      return (
        <div class="field">
          {label}
          <input type="password" autocomplete="new-password" {...common} value={value}
            onInput={(e) => onChange(e.currentTarget.value)} />
          {problem}
        </div>
      );
    case "file":
      return <FileInput field={field} value={value} onChange={onChange} common={common} label={label} problem={problem} record={record} collection={collection} />;
    default:
      input = <input type="text" {...common} value={value} onInput={(e) => onChange(e.currentTarget.value)} />;
  }
  return <div class="field">{label}{input}{problem}</div>;
}

// A superuser file token (pb.files.getToken), shared by the file inputs and renewed before it expires.
let fileToken = null;
async function protectedFileToken() {
  if (!fileToken || fileToken.until < Date.now()) {
    fileToken = { value: pb.files.getToken(), until: Date.now() + 60_000 };
  }
  try { return await fileToken.value; } catch (err) { fileToken = null; throw err; }
}

function FileInput({ field, value, onChange, common, label, problem, record }) {
  const [token, setToken] = useState("");
  const [over, setOver] = useState(false);
  useEffect(() => {
    if (!field.protected || !record || value.kept.length === 0) return;
    protectedFileToken().then(setToken).catch(() => setToken(""));
  }, [field.protected, record?.id]);
  // Protected files need a token in their URL; wait for it rather than load a refused thumbnail.
  const ready = !field.protected || token;
  const urlOf = (name, options = {}) => pb.files.getURL(record, name, token ? { ...options, token } : options);

  function add(files) {
    const list = [...files];
    if (list.length === 0) return;
    onChange({ ...value, added: multiple(field) ? [...value.added, ...list] : list.slice(0, 1) });
  }

  return (
    <div class="field">
      {label}
      {value.kept.length > 0 && (
        <ul class="files">
          {value.kept.map((name) => {
            const removed = value.removed.includes(name);
            return (
              <li key={name} class={removed ? "removed" : ""}>
                {IMAGE.test(name) && ready &&
                  <img class="thumb" src={urlOf(name, { thumb: "100x100" })} alt="" width="40" height="40" />}
                <a href={ready ? urlOf(name) : undefined} target="_blank" rel="noopener">{name}</a>
                <button type="button" class="link" onClick={() => onChange({
                  ...value,
                  removed: removed ? value.removed.filter((n) => n !== name) : [...value.removed, name],
                })}>{removed ? "Keep " : "Remove "}<span class="sr-only">{name}</span></button>
              </li>
            );
          })}
        </ul>
      )}
      <div class={"dropzone" + (over ? " over" : "")} data-testid={"drop-" + field.name}
        onDragOver={(e) => { e.preventDefault(); setOver(true); }}
        onDragLeave={() => setOver(false)}
        onDrop={(e) => { e.preventDefault(); setOver(false); add(e.dataTransfer?.files || []); }}>
        <input type="file" {...common} multiple={multiple(field)}
          onChange={(e) => { add(e.currentTarget.files); e.currentTarget.value = ""; }} />
        <small class="kind"> or drop {multiple(field) ? "files" : "a file"} here</small>
        {value.added.length > 0 && (
          <ul class="files" aria-label={`New files for ${field.name}`}>
            {value.added.map((file, i) => (
              <li key={i}>
                <span>{file.name}</span>
                <button type="button" class="link" onClick={() => onChange({ ...value, added: value.added.filter((_, j) => j !== i) })}>
                  Unselect <span class="sr-only">{file.name}</span></button>
              </li>
            ))}
          </ul>
        )}
      </div>
      {problem}
    </div>
  );
}
