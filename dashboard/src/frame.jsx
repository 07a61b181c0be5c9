// The signed-in frame: the top bar with the main sections and the sign-out button.
import { pb } from "./pb.js";

const SECTIONS = [
  ["collections", "Collections"], ["logs", "Logs"], ["health", "Health"], ["settings", "Settings"],
];

export function Frame({ section, superuser, sidebar, children }) {
  return (
    <div class={sidebar ? "layout" : "layout wide"}>
      <header class="topbar">
        <span class="brand">Keelbase</span>
        <nav aria-label="Sections" class="sections">
          {SECTIONS.map(([path, title]) => (
            <a key={path} href={"#/" + path} aria-current={section === path ? "page" : undefined}>{title}</a>
          ))}
          <a href="./api-docs/">API reference</a>
        </nav>
        <span class="who">{superuser.email}</span>
        <button type="button" class="secondary" onClick={() => pb.authStore.clear()}>Sign out</button>
      </header>
      {sidebar}
      <main class="content">{children}</main>
    </div>
  );
}
