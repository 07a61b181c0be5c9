// One field of a collection: name, type, the flags every field has, and every option of its type
// (as the API's field JSON names them). Reordered by dragging its handle onto another field, or
// with the up/down buttons (the keyboard's way).
import { Problem, invalid, idOf, TextOption, NumberOption, CheckOption, ListOption } from "./controls.jsx";

export const FIELD_TYPES = ["text", "number", "bool", "email", "url", "editor", "date", "autodate",
  "select", "json", "file", "relation", "geoPoint", "vector"];

// The options a new field of each type starts with (the API's defaults).
export const TYPE_DEFAULTS = {
  text: { min: 0, max: 0, pattern: "", autogeneratePattern: "", primaryKey: false },
  number: { min: null, max: null, onlyInt: false },
  bool: {},
  email: { exceptDomains: [], onlyDomains: [] },
  url: { exceptDomains: [], onlyDomains: [] },
  editor: { convertURLs: false, maxSize: 0 },
  date: { min: "", max: "" },
  autodate: { onCreate: true, onUpdate: false },
  select: { values: [], maxSelect: 1 },
  json: { maxSize: 0 },
  file: { maxSelect: 1, maxSize: 0, mimeTypes: [], thumbs: [], protected: false },
  relation: { collectionId: "", cascadeDelete: false, minSelect: 0, maxSelect: 1 },
  geoPoint: {},
  vector: { dimensions: 3 },
  password: { min: 8, max: 0, pattern: "", cost: 0 },
};

export function FieldEditor({ index, count, field, errors, others, onChange, onRemove, onMove, drag }) {
  const base = `fields.${index}.`;
  const label = field.name || `field ${index + 1}`;
  const common = (name) => ({ path: base + name, value: field[name], errors, onChange: (v) => onChange({ [name]: v }) });
  const nameId = idOf(base + "name");
  const typeId = idOf(base + "type");
  const t = field.type;
  // Options with an error are opened, so the error is seen where it belongs.
  const optionError = Object.keys(errors).some((k) => k.startsWith(base) && k !== base + "name" && k !== base + "type");
  return (
    <div class={drag.over === index && drag.from !== index ? "field-row drop-here" : "field-row"} role="group" aria-label={`Field ${index + 1}`}
      data-field={field.name} onDragOver={(e) => drag.overRow(e, index)} onDrop={(e) => drag.drop(e, index)}>
      <div class="field">
        <label for={nameId}>Field name</label>
        <input type="text" {...invalid(nameId, errors[base + "name"])} value={field.name} disabled={field.system}
          onInput={(e) => onChange({ name: e.currentTarget.value })} />
        <Problem id={nameId + "-error"} message={errors[base + "name"]} />
      </div>
      <div class="field">
        <label for={typeId}>Field type</label>
        <select {...invalid(typeId, errors[base + "type"])} value={t} disabled={!!field.id || field.system}
          onChange={(e) => onChange({ type: e.currentTarget.value, ...TYPE_DEFAULTS[e.currentTarget.value] }, true)}>
          {(FIELD_TYPES.includes(t) ? FIELD_TYPES : [...FIELD_TYPES, t]).map((x) => <option key={x} value={x}>{x}</option>)}
        </select>
        <Problem id={typeId + "-error"} message={errors[base + "type"]} />
      </div>
      <div class="field-moves">
        <span class="drag-handle" draggable="true" title={`Drag to move ${label}`} aria-hidden="true"
          onDragStart={(e) => drag.start(e, index)} onDragEnd={drag.end}>⠿</span>
        <button type="button" class="secondary small" disabled={index === 0} onClick={() => onMove(-1)}>
          <span aria-hidden="true">↑</span><span class="sr-only">Move {label} up</span>
        </button>
        <button type="button" class="secondary small" disabled={index === count - 1} onClick={() => onMove(1)}>
          <span aria-hidden="true">↓</span><span class="sr-only">Move {label} down</span>
        </button>
      </div>
      <details class="field-options" open={field._open || optionError || undefined}>
        <summary>Options of {label}{field.system ? " (system field)" : ""}</summary>
        <div class="options-grid">
          {t !== "autodate" && <CheckOption {...common("required")} label="Required (nonempty)" />}
          <CheckOption {...common("hidden")} label="Hidden (superusers only)" />
          <CheckOption {...common("presentable")} label="Presentable" />
          <CheckOption path={base + "system"} value={field.system} errors={errors} disabled label="System" onChange={() => {}} />
          {t !== "autodate" && <TextOption {...common("help")} label="Help text" />}
          <TypeOptions t={t} field={field} common={common} others={others} />
        </div>
        <Problem id={idOf(base) + "-error"} message={errors[`fields.${index}`]} />
      </details>
      {!field.system && (
        <button type="button" class="danger secondary" onClick={onRemove}>
          Remove field <span class="sr-only">{field.name || index + 1}</span>
        </button>
      )}
    </div>
  );
}

function TypeOptions({ t, field, common, others }) {
  switch (t) {
    case "text":
      return (<>
        <NumberOption {...common("min")} label="Min length" min="0" step="1" />
        <NumberOption {...common("max")} label="Max length (0: default 5000)" min="0" step="1" />
        <TextOption {...common("pattern")} label="Pattern (regex)" mono />
        <TextOption {...common("autogeneratePattern")} label="Autogenerate pattern" placeholder="[a-z0-9]{15}" mono />
        {/* The primary key is the id field's alone: shown, never toggled. */}
        <CheckOption {...common("primaryKey")} disabled label="Primary key" />
      </>);
    case "number":
      return (<>
        <NumberOption {...common("min")} label="Min" nullable />
        <NumberOption {...common("max")} label="Max" nullable />
        <CheckOption {...common("onlyInt")} label="Integers only" />
      </>);
    case "email":
    case "url":
      return (<>
        <ListOption {...common("exceptDomains")} label="Except domains (comma separated)" />
        <ListOption {...common("onlyDomains")} label="Only domains (comma separated)" />
      </>);
    case "editor":
      return (<>
        <CheckOption {...common("convertURLs")} label="Convert URLs to relative" />
        <NumberOption {...common("maxSize")} label="Max size (bytes, 0: default)" min="0" step="1" />
      </>);
    case "date":
      return (<>
        <TextOption {...common("min")} label="Min date" placeholder="2024-01-01 00:00:00.000Z" />
        <TextOption {...common("max")} label="Max date" placeholder="2030-12-31 23:59:59.999Z" />
      </>);
    case "autodate":
      return (<>
        <CheckOption {...common("onCreate")} label="Set on create" />
        <CheckOption {...common("onUpdate")} label="Set on update" />
      </>);
    case "select":
      return (<>
        <ListOption {...common("values")} label="Choices (comma separated)" />
        <NumberOption {...common("maxSelect")} label="Max selections" min="0" step="1" />
      </>);
    case "file":
      return (<>
        <NumberOption {...common("maxSelect")} label="Max files" min="0" step="1" />
        <NumberOption {...common("maxSize")} label="Max size (bytes, 0: default 5 MB)" min="0" step="1" />
        <ListOption {...common("mimeTypes")} label="MIME types (comma separated)" placeholder="image/png, image/jpeg" />
        <ListOption {...common("thumbs")} label="Thumb sizes (comma separated)" placeholder="100x100, 0x300" />
        <CheckOption {...common("protected")} label="Protected (file token needed)" />
      </>);
    case "relation": {
      const id = idOf(common("collectionId").path);
      const c = common("collectionId");
      return (<>
        <div class="field">
          <label for={id}>Related collection</label>
          <select {...invalid(id, c.errors[c.path])} value={field.collectionId || ""}
            onChange={(e) => c.onChange(e.currentTarget.value)}>
            <option value="">—</option>
            {others.map((o) => <option key={o.id} value={o.id}>{o.name}</option>)}
          </select>
          <Problem id={id + "-error"} message={c.errors[c.path]} />
        </div>
        <CheckOption {...common("cascadeDelete")} label="Cascade delete" />
        <NumberOption {...common("minSelect")} label="Min selections" min="0" step="1" />
        <NumberOption {...common("maxSelect")} label="Max selections" min="0" step="1" />
      </>);
    }
    case "json":
      return <NumberOption {...common("maxSize")} label="Max size (bytes, 0: default)" min="0" step="1" />;
    case "password":
      return (<>
        <NumberOption {...common("min")} label="Min length" min="0" step="1" />
        <NumberOption {...common("max")} label="Max length (0: 71)" min="0" step="1" />
        <TextOption {...common("pattern")} label="Pattern (regex)" mono />
        <NumberOption {...common("cost")} label="Bcrypt cost (0: default)" min="0" step="1" />
      </>);
    case "vector":
      return <NumberOption {...common("dimensions")} label="Dimensions" min="1" step="1" />;
    default:
      return null; // bool and geoPoint have no options of their own
  }
}
