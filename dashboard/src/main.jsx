import "./app.css";
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { pb, isEditor } from "./pb.js";
import { match, navigate, useHashPath } from "./router.js";
import { SignIn } from "./pages/SignIn.jsx";
import { Install } from "./pages/Install.jsx";
import { ConfirmVerification, ConfirmPasswordReset, ConfirmEmailChange } from "./pages/Confirm.jsx";
import { Collections } from "./pages/Collections.jsx";
import { Logs } from "./pages/Logs.jsx";
import { Health } from "./pages/Health.jsx";
import { Settings } from "./pages/Settings.jsx";
import { Backups, Crons } from "./pages/Operations.jsx";
import { ExportCollections, ImportCollections } from "./pages/SchemaTransfer.jsx";
import { Superusers } from "./pages/Superusers.jsx";
import { Frame } from "./frame.jsx";

// Pages that end users reach from the mails: no superuser session needed.
const PUBLIC = [
  ["/auth/confirm-verification/:token", ConfirmVerification],
  ["/auth/confirm-password-reset/:token", ConfirmPasswordReset],
  ["/auth/confirm-email-change/:token", ConfirmEmailChange],
  // The first-run link printed by `keelbase serve`.
  ["/install/:token", Install],
];

const SETTINGS_PAGES = [["/settings", "Application"], ["/settings/backups", "Backups"], ["/settings/crons", "Crons"], ["/settings/superusers", "Superusers"],
  ["/settings/export-collections", "Export collections"], ["/settings/import-collections", "Import collections"]];

function SettingsNav({ path }) {
  return (
    <nav class="subnav" aria-label="Settings pages">
      {SETTINGS_PAGES.map(([href, title]) => (
        <a key={href} href={"#" + href} aria-current={path === href ? "page" : undefined}>{title}</a>
      ))}
    </nav>
  );
}

/** A page fetched on first use (its own chunk): `load` resolves to the module, `name` its export. */
function Lazy({ load, name }) {
  const [Page, setPage] = useState(null);
  const [error, setError] = useState("");
  useEffect(() => {
    load().then((m) => setPage(() => m[name])).catch((err) => setError("Could not load the page: " + err.message));
  }, []);
  if (error) return <p role="alert" class="error">{error}</p>;
  return Page ? <Page /> : <p>Loading…</p>;
}

// The signed-in account: a superuser, or an editor (a user of an auth collection, see isEditor).
const signedIn = () => (pb.authStore.isValid ? pb.authStore.record : null);
function useAccount() {
  const [model, setModel] = useState(signedIn);
  useEffect(() => pb.authStore.onChange(() => setModel(signedIn())), []);
  return model;
}

function App() {
  const path = useHashPath();
  const superuser = useAccount();

  // Check a kept session once: an expired or revoked token sends us back to sign in.
  useEffect(() => {
    if (pb.authStore.isValid) {
      pb.collection(pb.authStore.record.collectionName).authRefresh().catch(() => pb.authStore.clear());
    }
  }, []);

  for (const [pattern, Page] of PUBLIC) {
    const params = match(pattern, path);
    if (params) return <Page token={params.token} />;
  }
  if (!superuser) return <SignIn />;
  // An editor has the records pages only: anything else leads to them.
  if (path === "/login" || path === "/" || (isEditor() && !match("/collections/:name", path) && path !== "/collections")) {
    navigate("/collections");
    return null;
  }
  if (path === "/logs") return <Frame section="logs" superuser={superuser}><Logs /></Frame>;
  if (path === "/diagram") {
    return (
      <Frame section="collections" superuser={superuser}>
        <Lazy load={() => import("./pages/Diagram.jsx")} name="Diagram" />
      </Frame>
    );
  }
  if (path === "/health") return <Frame section="health" superuser={superuser}><Health /></Frame>;
  const settingsPages = { "/settings": Settings, "/settings/backups": Backups, "/settings/crons": Crons, "/settings/superusers": Superusers,
    "/settings/export-collections": ExportCollections, "/settings/import-collections": ImportCollections };
  if (settingsPages[path]) {
    const Page = settingsPages[path];
    return (
      <Frame section="settings" superuser={superuser}>
        <SettingsNav path={path} />
        <Page />
      </Frame>
    );
  }
  const records = match("/collections/:name", path);
  return <Collections name={records ? records.name : ""} superuser={superuser} />;
}

render(<App />, document.getElementById("app"));
