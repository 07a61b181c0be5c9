// An input with suggestions for the filter language (./suggest.js), following the ARIA combobox
// pattern: role=combobox on the input, a listbox of options, aria-activedescendant for the
// highlighted one. Keys: ArrowDown/ArrowUp move (ArrowDown or Ctrl+Space opens), Enter or Tab
// takes the highlighted option, Escape closes. Nothing is highlighted until an arrow key is
// pressed, so Enter still submits the form and Tab still moves on.
import { useLayoutEffect, useRef, useState } from "preact/hooks";
import { apply, suggest } from "./suggest.js";

let lastId = 0;

export function FilterInput({ id, value, onChange, context, inputRef, class: className, ...rest }) {
  const [list, setList] = useState(null); // {items, from, to} while open
  const [active, setActive] = useState(-1);
  const [caret, setCaret] = useState(null);
  const own = useRef(null);
  const input = inputRef || own;
  const [listId] = useState(() => "suggestions-" + ++lastId);

  // After a choice, the caret goes after the inserted text.
  useLayoutEffect(() => {
    if (caret !== null && input.current) {
      input.current.setSelectionRange(caret, caret);
      setCaret(null);
    }
  }, [caret]);

  function open(text, at, asked) {
    const found = suggest(text, at, context);
    if (found.items.length && (asked || found.auto)) {
      setList(found);
      setActive(asked ? 0 : -1);
    } else {
      setList(null);
      setActive(-1);
    }
  }

  function choose(item) {
    const next = apply(value, list, item);
    onChange(next.text);
    setCaret(next.caret);
    // A path ("author.") goes on: its members are suggested at once.
    if (item.value.endsWith(".")) open(next.text, next.caret, false);
    else close();
  }

  function close() {
    setList(null);
    setActive(-1);
  }

  function onKeyDown(e) {
    if (e.key === "ArrowDown" || (e.key === " " && e.ctrlKey)) {
      e.preventDefault();
      if (!list) open(value, e.currentTarget.selectionStart, true);
      else setActive((i) => (i + 1) % list.items.length);
    } else if (e.key === "ArrowUp" && list) {
      e.preventDefault();
      setActive((i) => (i <= 0 ? list.items.length - 1 : i - 1));
    } else if ((e.key === "Enter" || e.key === "Tab") && list && active >= 0) {
      e.preventDefault();
      choose(list.items[active]);
    } else if (e.key === "Escape" && list) {
      // Only the list closes, not the panel around the input.
      e.preventDefault();
      e.stopPropagation();
      close();
    } else if (e.key === "Enter") {
      close();
    }
  }

  const shown = list ? list.items : [];
  return (
    <div class={"autocomplete " + (className || "")}>
      <input type="text" {...rest} id={id} ref={input} value={value} class="mono" autocomplete="off" spellcheck={false}
        role="combobox" aria-autocomplete="list" aria-expanded={list ? "true" : "false"} aria-controls={listId}
        aria-activedescendant={list && active >= 0 ? `${listId}-${active}` : undefined}
        onInput={(e) => {
          onChange(e.currentTarget.value);
          open(e.currentTarget.value, e.currentTarget.selectionStart, false);
        }}
        onKeyDown={onKeyDown} onBlur={close} />
      <ul id={listId} role="listbox" aria-label="Suggestions" class="suggestions" hidden={!list}>
        {shown.map((item, i) => (
          <li key={item.value} id={`${listId}-${i}`} role="option" aria-selected={i === active ? "true" : "false"}
            class={i === active ? "active" : undefined}
            ref={(el) => { if (el && i === active) el.scrollIntoView({ block: "nearest" }); }}
            onMouseDown={(e) => { e.preventDefault(); choose(item); }}>
            <code>{item.value}</code> <small>{item.hint}</small>
          </li>
        ))}
      </ul>
    </div>
  );
}
