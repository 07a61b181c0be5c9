// Keyboard shortcuts of every signed-in page: "?" shows them all, "g" then a letter goes to a
// section. The records page's own ("/", "n", Enter, Escape) live in pages/Records.jsx; the list
// below names them too, so the help is the one place that lists every shortcut.
import { useLayoutEffect, useRef, useState } from "preact/hooks";
import { isEditor } from "./pb.js";
import { navigate } from "./router.js";

const GO = { c: ["/collections", "Collections"], l: ["/logs", "Logs"], s: ["/settings", "Settings"] };
// How long after "g" the second key counts.
const GO_WINDOW_MS = 1500;

const PAGE_KEYS = [
  [["?"], "Show this list of shortcuts"],
  [["/"], "Records: focus the filter"],
  [["n"], "Records: new record"],
  [["Enter"], "Records: open the focused row"],
  [["Escape"], "Close the open panel or dialog"],
];

/** Whether a key press belongs to what is being typed (an input, a text area, an editor). */
function typing(target) {
  return !!target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
}

export function Shortcuts() {
  const [open, setOpen] = useState(false);
  const goAt = useRef(0);
  const back = useRef(null); // the element focused before the help opened
  const closeButton = useRef(null);
  const sections = Object.entries(GO).filter(([key]) => key === "c" || !isEditor());

  // Registered before paint, as the panels' own keys are.
  useLayoutEffect(() => {
    const onKey = (e) => {
      if (open) {
        if (e.key === "Escape") { e.preventDefault(); close(); }
        return;
      }
      if (e.ctrlKey || e.metaKey || e.altKey || typing(e.target) || document.querySelector('[aria-modal="true"]')) return;
      if (e.key === "?") {
        e.preventDefault();
        back.current = document.activeElement;
        setOpen(true);
      } else if (e.key === "g") {
        goAt.current = Date.now();
      } else if (goAt.current && Date.now() - goAt.current < GO_WINDOW_MS && sections.some(([key]) => key === e.key)) {
        e.preventDefault();
        goAt.current = 0;
        navigate(GO[e.key][0]);
      } else {
        goAt.current = 0;
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [open]);

  useLayoutEffect(() => { if (open) closeButton.current?.focus(); }, [open]);

  function close() {
    setOpen(false);
    if (back.current && back.current.isConnected) back.current.focus();
  }

  if (!open) return null;
  const rows = [...PAGE_KEYS, ...sections.map(([key, [, title]]) => [["g", key], "Go to " + title])];
  return (
    <div class="overlay" onClick={(e) => { if (e.target === e.currentTarget) close(); }}>
      <div class="panel" role="dialog" aria-modal="true" aria-labelledby="shortcuts-title">
        <h2 id="shortcuts-title">Keyboard shortcuts</h2>
        <table class="grid" aria-label="Keyboard shortcuts">
          <thead><tr><th scope="col">Keys</th><th scope="col">Does</th></tr></thead>
          <tbody>
            {rows.map(([keys, what]) => (
              <tr key={keys.join(" ")}>
                <td>{keys.map((k, i) => <span key={k}>{i > 0 && " then "}<kbd>{k}</kbd></span>)}</td>
                <td>{what}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <p class="muted">Not while typing in a field.</p>
        <div class="actions">
          <button type="button" ref={closeButton} onClick={close}>Close</button>
        </div>
      </div>
    </div>
  );
}
