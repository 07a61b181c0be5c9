// Small labelled inputs for the collection panel; each shows the API's error for its dotted path.
import { useEffect, useState } from "preact/hooks";

export function Problem({ id, message }) {
  return message ? <p class="field-error" id={id} role="alert">{message}</p> : null;
}

export function invalid(id, message) {
  return { id, "aria-invalid": message ? "true" : undefined, "aria-describedby": message ? id + "-error" : undefined };
}

// An id usable in HTML from a dotted API path (fields.3.min -> opt-fields-3-min).
export const idOf = (path) => "opt-" + path.replace(/[^A-Za-z0-9_-]/g, "-");

export function TextOption({ path, label, value, errors, onChange, placeholder, disabled, mono, area, list }) {
  const id = idOf(path);
  const Tag = area ? "textarea" : "input";
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <Tag type={area ? undefined : "text"} rows={area ? 6 : undefined} class={mono || area ? "mono" : undefined}
        {...invalid(id, errors[path])} value={value ?? ""} placeholder={placeholder} disabled={disabled} list={list}
        onInput={(e) => onChange(e.currentTarget.value)} />
      <Problem id={id + "-error"} message={errors[path]} />
    </div>
  );
}

// A number; with `nullable`, an empty input means "no limit" (null), otherwise 0.
export function NumberOption({ path, label, value, errors, onChange, nullable, min, step }) {
  const id = idOf(path);
  const [text, setText] = useState(value === null || value === undefined ? "" : String(value));
  useEffect(() => {
    const shown = text === "" ? (nullable ? null : 0) : Number(text);
    if (shown !== (value ?? (nullable ? null : 0))) setText(value === null || value === undefined ? "" : String(value));
  }, [value]);
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <input type="number" inputMode="decimal" min={min} step={step || "any"} {...invalid(id, errors[path])} value={text}
        placeholder={nullable ? "no limit" : undefined}
        onInput={(e) => {
          const raw = e.currentTarget.value;
          setText(raw);
          if (raw === "") onChange(nullable ? null : 0);
          else if (!Number.isNaN(Number(raw))) onChange(Number(raw));
        }} />
      <Problem id={id + "-error"} message={errors[path]} />
    </div>
  );
}

export function CheckOption({ path, label, value, errors, onChange, disabled }) {
  const id = idOf(path);
  return (
    <div class="field checkbox">
      <input type="checkbox" {...invalid(id, errors[path])} checked={!!value} disabled={disabled}
        onChange={(e) => onChange(e.currentTarget.checked)} />
      <label for={id}>{label}</label>
      <Problem id={id + "-error"} message={errors[path]} />
    </div>
  );
}

const splitList = (text) => text.split(",").map((v) => v.trim()).filter(Boolean);

// A list of strings typed comma separated; the text is kept as typed (a trailing comma survives).
// The errors of its items (exceptDomains.1) are shown under it too.
export function ListOption({ path, label, value, errors, onChange, placeholder }) {
  const id = idOf(path);
  const list = value || [];
  const [text, setText] = useState(list.join(", "));
  useEffect(() => {
    if (splitList(text).join(",") !== list.join(",")) setText(list.join(", "));
  }, [list.join(",")]);
  const itemProblems = Object.entries(errors)
    .filter(([key]) => key.startsWith(path + "."))
    .map(([key, message]) => `${list[Number(key.slice(path.length + 1))] ?? key.slice(path.length + 1)}: ${message}`);
  const message = [errors[path], ...itemProblems].filter(Boolean).join(" ");
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <input type="text" {...invalid(id, message)} value={text} placeholder={placeholder}
        onInput={(e) => { setText(e.currentTarget.value); onChange(splitList(e.currentTarget.value)); }} />
      <Problem id={id + "-error"} message={message} />
    </div>
  );
}
