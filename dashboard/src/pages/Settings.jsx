// The settings (GET/PATCH /api/settings): application, mail, files storage, backups schedule, logs,
// batch, trusted proxy and rate limits; a test mail through the SMTP server and an S3 check.
import { useEffect, useState } from "preact/hooks";
import { pb, errorsOf } from "../pb.js";
import { RateLimitRules } from "./RateLimitRules.jsx";

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
  ["s3", "Files storage (S3)", [
    ["enabled", "Store uploaded files in S3", "bool"],
    ["bucket", "Bucket", TEXT],
    ["region", "Region", TEXT],
    ["endpoint", "Endpoint", "url"],
    ["accessKey", "Access key", TEXT],
    ["secret", "Secret", "password"],
    ["forcePathStyle", "Force path-style addressing", "bool"],
  ]],
  ["backups", "Automatic backups", [
    ["cron", "Schedule (cron expression, empty: off)", TEXT],
    ["cronMaxKeep", "Automatic backups kept", "number"],
  ]],
  ["logs", "Logs", [
    ["maxDays", "Days kept (0: request logs off)", "number"],
    ["minLevel", "Lowest level kept (-4 debug, 0 info, 4 warn, 8 error)", "number"],
    ["logIP", "Keep client IP addresses", "bool"],
    ["logAuthId", "Keep the auth record id", "bool"],
  ]],
  ["batch", "Batch requests", [
    ["enabled", "Allow batch requests", "bool"],
    ["maxRequests", "Most requests in a batch", "number"],
    ["timeout", "Timeout (seconds)", "number"],
    ["maxBodySize", "Largest body (bytes, 0: default)", "number"],
  ]],
  ["trustedProxy", "Trusted proxy", [
    ["headers", "Client IP headers (comma separated, e.g. X-Forwarded-For)", "list"],
    ["useLeftmostIP", "Use the leftmost IP of the header", "bool"],
  ]],
  ["rateLimits", "Rate limits", [
    ["enabled", "Limit request rates", "bool"],
    ["rules", "Rules", "rules"],
    ["excludedIPs", "Never limited: IPs or subnets (comma separated, e.g. 10.0.0.0/8)", "list"],
  ]],
];

// How a setting is shown in its input, and read back from it.
const shown = (kind, value) => (kind === "list" ? (value || []).join(", ") : value ?? "");
function parsed(kind, text) {
  if (kind === "number") return Number(text);
  if (kind === "list") return text.split(",").map((t) => t.trim()).filter(Boolean);
  return text;
}

export function Settings() {
  const [settings, setSettings] = useState(null);
  const [errors, setErrors] = useState({});
  const [message, setMessage] = useState("");
  const [saved, setSaved] = useState("");
  const [busy, setBusy] = useState(false);
  const [testTo, setTestTo] = useState("");
  const [testState, setTestState] = useState("");
  const [s3State, setS3State] = useState("");

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
        if (kind === "password" && !settings[group]?.[name]) continue;
        body[group][name] = settings[group]?.[name];
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

  async function testS3(e) {
    e.preventDefault();
    setS3State("Testing…");
    try {
      await pb.settings.testS3("storage");
      setS3State("The S3 storage answered.");
    } catch (err) {
      setS3State("S3 failed: " + errorsOf(err).message);
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
              if (kind === "rules") {
                return <RateLimitRules key={name} rules={value} errors={errors}
                  onChange={(rules) => set(group, name, rules)} />;
              }
              return (
                <div class="field" key={name}>
                  <label for={id}>{label}</label>
                  <input type={kind === "list" ? "text" : kind} {...aria} value={shown(kind, value)}
                    autocomplete={kind === "password" ? "new-password" : undefined}
                    placeholder={kind === "password" ? "unchanged" : undefined}
                    onInput={(e) => set(group, name, parsed(kind, e.currentTarget.value))} />
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
      <form class="filter" onSubmit={testS3}>
        <button type="submit" class="secondary">Test S3 connection</button>
      </form>
      {s3State && <p role="status">{s3State}</p>}
    </section>
  );
}
