// The signed-in frame: the top bar with the main sections and the sign-out button. On a narrow
// screen the sections, the account and sign out sit behind a Menu button (closed on navigation).
import { useState } from "preact/hooks";
import { navigationCount, useHashPath } from "./router.js";
import { pb, isEditor } from "./pb.js";
import { Shortcuts } from "./shortcuts.jsx";

const SECTIONS = [
  ["collections", "Collections"], ["logs", "Logs"], ["health", "Health"], ["settings", "Settings"],
];

/** Open/closed state that any navigation (a hash change) closes, even back to the same route. */
export function useClosingOnNavigation() {
  useHashPath(); // re-rendered on every hash change
  const [openAt, setOpenAt] = useState(-1);
  return [openAt === navigationCount(), (on) => setOpenAt(on ? navigationCount() : -1)];
}

export function Frame({ section, superuser, sidebar, children }) {
  const [open, setOpen] = useClosingOnNavigation();
  return (
    <div class={sidebar ? "layout" : "layout wide"}>
      <header class={open ? "topbar open" : "topbar"}>
        <span class="brand">Keelbase</span>
        <button type="button" class="secondary menu-toggle" aria-expanded={open ? "true" : "false"} aria-controls="topbar-menu"
          onClick={() => setOpen(!open)}>Menu</button>
        <div class="menu" id="topbar-menu">
          <nav aria-label="Sections" class="sections">
            {(isEditor() ? SECTIONS.slice(0, 1) : SECTIONS).map(([path, title]) => (
              <a key={path} href={"#/" + path} aria-current={section === path ? "page" : undefined}>{title}</a>
            ))}
            {!isEditor() && <a href="./api-docs/">API reference</a>}
          </nav>
          <span class="who">{superuser.email}</span>
          <button type="button" class="secondary" onClick={() => pb.authStore.clear()}>Sign out</button>
        </div>
      </header>
      {sidebar}
      <main class="content">{children}</main>
      <Shortcuts />
    </div>
  );
}
