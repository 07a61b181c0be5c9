// The signed-in layout: collections in a sidebar, the chosen collection's records beside it.
import { useEffect, useState } from "preact/hooks";
import { pb, errorsOf, isEditor, setEditorCollections } from "../pb.js";
import { navigate } from "../router.js";
import { Records } from "./Records.jsx";
import { Frame, useClosingOnNavigation } from "../frame.jsx";
import { CollectionPanel } from "./CollectionPanel.jsx";

// An editor (a user of an auth collection) cannot read /api/collections: its list comes from
// GET /api/dashboard/collections, the collections whose list rule is not superuser-only.
async function loadCollections() {
  if (!isEditor()) {
    setEditorCollections(null);
    return pb.collections.getFullList({ sort: "name" });
  }
  const { items } = await pb.send("/api/dashboard/collections", {});
  setEditorCollections(items);
  return items;
}

// Pinned collections (their ids) are kept in this browser, per signed-in superuser or editor.
const pinKey = () => "__kb_pinned_" + (pb.authStore.record?.collectionId || "") + "_" + (pb.authStore.record?.id || "");
function readPins() {
  try {
    const list = JSON.parse(localStorage.getItem(pinKey()) || "[]");
    return Array.isArray(list) ? list : [];
  } catch {
    return [];
  }
}

export function Collections({ name, superuser }) {
  const editor = isEditor();
  const [collections, setCollections] = useState(null);
  const [error, setError] = useState("");
  const [search, setSearch] = useState("");
  const [editing, setEditing] = useState(null); // null, "new" or a collection
  const [reload, setReload] = useState(0);
  const [listOpen, setListOpen] = useClosingOnNavigation(); // narrow screens only
  const [pins, setPins] = useState(readPins);
  function togglePin(id) {
    const next = pins.includes(id) ? pins.filter((p) => p !== id) : [...pins, id];
    setPins(next);
    try {
      localStorage.setItem(pinKey(), JSON.stringify(next));
    } catch {
      // No storage (private mode): the pin lasts until the page reloads.
    }
  }

  useEffect(() => {
    loadCollections()
      .then(setCollections)
      .catch((err) => setError(errorsOf(err).message));
  }, []);

  // The list is fetched before moving on, so the page never looks for a collection it has not heard of.
  async function closed(result) {
    setEditing(null);
    if (!result) return;
    try {
      setCollections(await loadCollections());
    } catch (err) {
      setError(errorsOf(err).message);
    }
    setReload((n) => n + 1);
    if (!result.deleted) navigate("/collections/" + encodeURIComponent(result.name));
  }

  const current = collections?.find((c) => c.name === name || c.id === name);
  useEffect(() => {
    if (collections && !current && collections.length && !editing) {
      const first = collections.find((c) => !c.system) || collections[0];
      navigate("/collections/" + encodeURIComponent(first.name));
    }
  }, [collections, current]);

  const shown = (collections || []).filter((c) => c.name.toLowerCase().includes(search.toLowerCase()));
  const pinned = shown.filter((c) => pins.includes(c.id));
  const unpinned = shown.filter((c) => !pins.includes(c.id));
  const groups = [["Pinned", pinned], ["Collections", unpinned.filter((c) => !c.system)], ["System", unpinned.filter((c) => c.system)]];

  const sidebar = (
    <div class={listOpen ? "side open" : "side"}>
    <button type="button" class="secondary sidebar-toggle" aria-expanded={listOpen ? "true" : "false"} aria-controls="collections-nav"
      onClick={() => setListOpen(!listOpen)}>Collections{current ? ": " + current.name : ""}</button>
    <nav class="sidebar" id="collections-nav" aria-label="Collections">
      <input type="search" placeholder="Search collections" aria-label="Search collections"
        value={search} onInput={(e) => setSearch(e.currentTarget.value)} />
      {error && <p role="alert" class="error">{error}</p>}
      {groups.map(([title, list]) => list.length > 0 && (
        <section key={title}>
          <h2>{title}</h2>
          <ul>
            {list.map((c) => (
              <li key={c.id} class="pinnable">
                <a href={"#/collections/" + encodeURIComponent(c.name)} onClick={() => setListOpen(false)}
                  aria-current={current?.id === c.id ? "page" : undefined}>
                  {c.name} <small class="kind">{c.type}</small>
                </a>
                <button type="button" class="pin" aria-pressed={pins.includes(c.id) ? "true" : "false"}
                  aria-label={(pins.includes(c.id) ? "Unpin " : "Pin ") + c.name}
                  title={pins.includes(c.id) ? "Unpin" : "Pin"} onClick={() => togglePin(c.id)}>
                  <span aria-hidden="true">{pins.includes(c.id) ? "\u2605" : "\u2606"}</span>
                </button>
              </li>
            ))}
          </ul>
        </section>
      ))}
      {!editor && <button type="button" class="new secondary" onClick={() => setEditing("new")}>New collection</button>}
      {!editor && <a class="diagram-link" href="#/diagram">Relations diagram</a>}
    </nav>
    </div>
  );
  return (
    <Frame section="collections" superuser={superuser} sidebar={sidebar}>
      {current
        ? <Records key={current.id + ":" + reload} collection={current} collections={collections} onEditCollection={editor ? null : () => setEditing(current)} />
        : collections && <p>{editor ? "No collection is open to you." : "No collection yet."}</p>}
      {editing && (
        <CollectionPanel key={editing === "new" ? "new" : editing.id} collection={editing === "new" ? null : editing}
          collections={collections || []} onClose={closed} />
      )}
    </Frame>
  );
}
