// An `editor` field's input: a rich text editor (Quill, see quill.js) fetched on first use as a
// chunk of its own; a plain text area while it loads or if it cannot be loaded.
import { useEffect, useRef, useState } from "preact/hooks";

// The buttons say their names (an icon whose name differs from its visible text fails axe's
// label-content-name-mismatch).
const TOOLS = [
  ["bold", "Bold", true], ["italic", "Italic", true], ["underline", "Underline", true],
  ["header", "Heading", 2], ["list", "Bulleted list", "bullet"], ["list", "Numbered list", "ordered"],
];

export function RichText({ id, labelId, value, onChange, invalid, describedBy }) {
  const host = useRef(null);
  const editor = useRef(null);
  const [state, setState] = useState("loading"); // loading, ready or failed
  const [formats, setFormats] = useState({});
  const latest = useRef(onChange);
  latest.current = onChange;

  useEffect(() => {
    let alive = true;
    import("./quill.js").then(({ createEditor }) => {
      if (!alive) return;
      editor.current = createEditor(host.current, value,
        { id, "aria-labelledby": labelId, "aria-invalid": invalid, "aria-describedby": describedBy },
        (html) => latest.current(html), setFormats);
      setState("ready");
    }).catch(() => alive && setState("failed"));
    return () => { alive = false; };
  }, []);

  useEffect(() => {
    const root = editor.current?.root;
    if (!root) return;
    for (const [k, v] of [["aria-invalid", invalid], ["aria-describedby", describedBy]]) {
      if (v) root.setAttribute(k, v); else root.removeAttribute(k);
    }
  }, [invalid, describedBy, state]);

  function apply(name, on) {
    const quill = editor.current;
    quill.focus();
    quill.format(name, formats[name] === on ? false : on, "user");
    setFormats(quill.getFormat());
  }

  if (state === "failed") {
    return <textarea rows={6} id={id} aria-labelledby={labelId} aria-invalid={invalid} aria-describedby={describedBy}
      value={value} onInput={(e) => onChange(e.currentTarget.value)} />;
  }
  return (
    <div class="richtext">
      {state === "ready" && (
        <div class="richtext-tools" role="toolbar" aria-label="Formatting">
          {TOOLS.map(([name, title, on]) => (
            <button key={title} type="button" class={"secondary tool-" + name}
              aria-pressed={formats[name] === on ? "true" : "false"}
              onMouseDown={(e) => e.preventDefault()} onClick={() => apply(name, on)}>
              {title}
            </button>
          ))}
        </div>
      )}
      {state === "loading" && <p class="muted">Loading the editor…</p>}
      <div ref={host} class="richtext-area" />
    </div>
  );
}
