// An `editor` field's input: a rich text editor (Quill, see quill.js) fetched on first use as a
// chunk of its own; a plain text area while it loads or if it cannot be loaded. Links and images
// (by address) are made from the toolbar.
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

  // Link and Image ask for an address in the toolbar; the selection is kept meanwhile.
  const [asking, setAsking] = useState(null); // {kind: "link"|"image", range}
  const [address, setAddress] = useState("");
  const [alt, setAlt] = useState("");
  const [askError, setAskError] = useState("");
  function ask(kind) {
    const quill = editor.current;
    const range = quill.getSelection(true);
    if (kind === "link" && formats.link) {
      // On a link: the button removes it (the whole link when nothing is selected).
      const [leaf, offset] = quill.getLeaf(range.index);
      const whole = range.length ? range : { index: range.index - offset, length: leaf?.length() || 0 };
      quill.formatText(whole.index, whole.length, "link", false, "user");
      setFormats(quill.getFormat());
      return;
    }
    setAddress("");
    setAlt("");
    setAskError("");
    setAsking({ kind, range });
  }
  // Tables (Quill's table module): a 2x2 table, then rows and columns around the cell of the cursor.
  function table(action) {
    const quill = editor.current;
    quill.focus();
    const module = quill.getModule("table");
    if (action === "insert") module.insertTable(2, 2);
    else module[action]();
    setFormats(quill.getFormat());
  }
  const TABLE_TOOLS = [
    ["insertRowBelow", "Add row"], ["insertColumnRight", "Add column"],
    ["deleteRow", "Delete row"], ["deleteColumn", "Delete column"], ["deleteTable", "Delete table"],
  ];

  function insert() {
    const quill = editor.current;
    const url = address.trim();
    const { kind, range } = asking;
    // An image says what it shows to those who cannot see it (its alt text).
    if (kind === "image" && url && !alt.trim()) return setAskError("Describe the image (its alt text).");
    setAsking(null);
    quill.focus();
    if (!url) return;
    if (kind === "image") {
      quill.insertEmbed(range.index, "image", url, "user");
      quill.formatText(range.index, 1, "alt", alt.trim(), "user");
      quill.setSelection(range.index + 1, 0, "user");
    } else if (range.length) {
      quill.formatText(range.index, range.length, "link", url, "user");
    } else {
      quill.insertText(range.index, url, { link: url }, "user"); // nothing selected: the address is the text
      quill.setSelection(range.index + url.length, 0, "user");
    }
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
          <button type="button" class="secondary tool-link" aria-pressed={formats.link ? "true" : "false"}
            onMouseDown={(e) => e.preventDefault()} onClick={() => ask("link")}>
            Link
          </button>
          <button type="button" class="secondary" onMouseDown={(e) => e.preventDefault()} onClick={() => ask("image")}>
            Image
          </button>
          {formats.table ? TABLE_TOOLS.map(([action, title]) => (
            <button key={action} type="button" class="secondary" onMouseDown={(e) => e.preventDefault()}
              onClick={() => table(action)}>
              {title}
            </button>
          )) : (
            <button type="button" class="secondary" onMouseDown={(e) => e.preventDefault()} onClick={() => table("insert")}>
              Table
            </button>
          )}
        </div>
      )}
      {asking && (
        <div class="richtext-ask">
          <label>
            {asking.kind === "link" ? "Link address" : "Image address"}
            {/* Enter inserts here: it must not submit the record's form. */}
            <input type="url" value={address} autofocus placeholder="https://"
              onInput={(e) => setAddress(e.currentTarget.value)}
              onKeyDown={(e) => {
                if (e.key === "Enter") { e.preventDefault(); insert(); }
                if (e.key === "Escape") { e.preventDefault(); e.stopPropagation(); setAsking(null); }
              }} />
          </label>
          {asking.kind === "image" && (
            <label>
              Image description
              <input type="text" value={alt} aria-invalid={askError ? "true" : undefined}
                aria-describedby={askError ? id + "-ask-error" : undefined}
                onInput={(e) => setAlt(e.currentTarget.value)}
                onKeyDown={(e) => { if (e.key === "Enter") { e.preventDefault(); insert(); } }} />
            </label>
          )}
          {askError && <p class="field-error" id={id + "-ask-error"}>{askError}</p>}
          <button type="button" onClick={insert}>{asking.kind === "link" ? "Apply link" : "Insert image"}</button>
          <button type="button" class="secondary" onClick={() => { setAsking(null); editor.current.focus(); }}>Cancel</button>
        </div>
      )}
      {state === "loading" && <p class="muted">Loading the editor…</p>}
      <div ref={host} class="richtext-area" />
    </div>
  );
}
