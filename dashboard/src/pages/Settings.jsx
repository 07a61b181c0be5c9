// Application and mail settings (GET/PATCH /api/settings), and a test mail through the SMTP server.
import { useEffect, useState } from "preact/hooks";
import { pb, errorsOf } from "../pb.js";

const TEXT = "text";

const SECTIONS = [
  ["meta", "Application", [
    ["appName", "Application name", TEXT],
    ["appURL", "Application URL", "url"],
    ["senderName", "Sender name", TEXT],
    ["senderAddress", "Sender address", "email"],
    ["hideControls", "Hide collection create and edit controls", "bool"],
  ]],
  ["smtp", "Mail server (SMTP)", [
    ["enabled", "Use an SMTP server", "bool"],
    ["host", "SMTP host", TEXT],
    ["port", "SMTP port", "number"],
    ["username", "SMTP username", TEXT],
    ["password", "SMTP password", "password"],
    ["tls", "Always use TLS", "bool"],
  ]],
];

export function Settings() {
  const [settings, setSettings] = useState(null);
  const [errors, setErrors] = useState({});
  const [message, setMessage] = useState("");
  const [saved, setSaved] = useState("");
  const [busy, setBusy] = useState(false);
  const [testTo, setTestTo] = useState("");
  const [testState, setTestState] = useState("");

  useEffect(() => {
    pb.settings.getAll().then(setSettings).catch((err) => setMessage(errorsOf(err).message));
  }, []);

  const set = (group, name, value) => setSettings((s) => ({ ...s, [group]: { ...s[group], [name]: value } }));

  async function save(e) {
    e.preventDefault();
    setBusy(true);
    setErrors({});
    setMessage("");
    setSaved("");
    const body = {};
    for (const [group, , fields] of SECTIONS) {
      body[group] = {};
      for (const [name, , kind] of fields) {
        // An empty password keeps the stored one (the API never sends it back).
        if (kind === "password" && !settings[group][name]) continue;
        body[group][name] = settings[group][name];
      }
    }
    try {
      setSettings(await pb.settings.update(body));
      setSaved("Settings saved.");
    } catch (err) {
      const { message: text, fields } = errorsOf(err);
      setErrors(fields);
      setMessage(text);
    } finally {
      setBusy(false);
    }
  }

  async function sendTest(e) {
    e.preventDefault();
    setTestState("Sending…");
    try {
      await pb.settings.testEmail("_superusers", testTo, "verification");
      setTestState("Test mail sent to " + testTo + ".");
    } catch (err) {
      setTestState("Could not send: " + errorsOf(err).message);
    }
  }

  if (!settings) return message ? <p role="alert" class="error">{message}</p> : <p>Loading…</p>;
  return (
    <section class="settings" aria-labelledby="settings-title">
      <h1 id="settings-title">Settings</h1>
      <form onSubmit={save} noValidate>
        {SECTIONS.map(([group, title, fields]) => (
          <fieldset key={group}>
            <legend>{title}</legend>
            {fields.map(([name, label, kind]) => {
              const id = `setting-${group}-${name}`;
              const error = errors[`${group}.${name}`];
              const value = settings[group]?.[name];
              const aria = {
                id, "aria-invalid": error ? "true" : undefined,
                "aria-describedby": error ? id + "-error" : undefined,
              };
              const problem = error && <p class="field-error" id={id + "-error"} role="alert">{error}</p>;
              if (kind === "bool") {
                return (
                  <div class="field checkbox" key={name}>
                    <input type="checkbox" {...aria} checked={!!value} onChange={(e) => set(group, name, e.currentTarget.checked)} />
                    <label for={id}>{label}</label>
                    {problem}
                  </div>
                );
              }
              return (
                <div class="field" key={name}>
                  <label for={id}>{label}</label>
                  <input type={kind} {...aria} value={value ?? ""}
                    autocomplete={kind === "password" ? "new-password" : undefined}
                    placeholder={kind === "password" ? "unchanged" : undefined}
                    onInput={(e) => set(group, name, kind === "number" ? Number(e.currentTarget.value) : e.currentTarget.value)} />
                  {problem}
                </div>
              );
            })}
          </fieldset>
        ))}
        {message && <p role="alert" class="error">{message}</p>}
        {saved && <p role="status" class="success">{saved}</p>}
        <button type="submit" disabled={busy}>Save settings</button>
      </form>
      <form class="filter" onSubmit={sendTest} style="margin-top: 1.5rem">
        <input type="email" required aria-label="Send a test mail to" placeholder="Send a test mail to"
          value={testTo} onInput={(e) => setTestTo(e.currentTarget.value)} />
        <button type="submit" class="secondary">Send test mail</button>
      </form>
      {testState && <p role="status">{testState}</p>}
    </section>
  );
}
