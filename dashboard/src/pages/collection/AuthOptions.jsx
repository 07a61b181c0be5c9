// The options of an auth collection, as the API shapes them: password auth, OTP, MFA, token
// durations, OAuth2 providers (client secrets are write-only) and mail templates with a preview.
import { useEffect, useState } from "preact/hooks";
import { pb } from "../../pb.js";
import { TextOption, NumberOption, CheckOption, ListOption } from "./controls.jsx";

const TOKENS = [["authToken", "Auth token"], ["verificationToken", "Verification token"],
  ["passwordResetToken", "Password reset token"], ["emailChangeToken", "Email change token"], ["fileToken", "File token"]];
// [label, path of the template in the collection JSON]
const TEMPLATES = [["Verification", "verificationTemplate"], ["Password reset", "resetPasswordTemplate"],
  ["Email change", "confirmEmailChangeTemplate"], ["OTP", "otp.emailTemplate"], ["Login alert", "authAlert.emailTemplate"]];
const SAMPLE = { "{APP_NAME}": "Acme", "{APP_URL}": "https://example.com", "{TOKEN}": "TOKEN", "{OTP}": "12345678",
  "{OTP_ID}": "OTPID", "{ALERT_INFO}": "a new location", "{RECORD:email}": "jane@example.com", "{RECORD:id}": "RECORDID" };

const get = (obj, path) => path.split(".").reduce((o, k) => (o == null ? undefined : o[k]), obj);
function setIn(obj, path, value) {
  const [head, ...rest] = path.split(".");
  if (!rest.length) return { ...obj, [head]: value };
  return { ...obj, [head]: setIn(obj?.[head] || {}, rest.join("."), value) };
}

// A mail as text: sample values for the placeholders, HTML reduced to its text (never run).
export function previewOf(text) {
  let out = text || "";
  for (const [key, value] of Object.entries(SAMPLE)) out = out.split(key).join(value);
  out = out.replace(/\{RECORD:\w+\}/g, "…");
  const doc = new DOMParser().parseFromString(out.replace(/<br\s*\/?>|<\/p>/gi, "\n"), "text/html");
  return (doc.body.textContent || "").replace(/\n\s*\n+/g, "\n\n").trim();
}

const escapeHtml = (text) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

// A mail as HTML, for a sandboxed frame (no scripts, no access to this page): the sample
// values go in escaped, as the server escapes a record's values.
export function htmlPreviewOf(text) {
  let out = text || "";
  for (const [key, value] of Object.entries(SAMPLE)) out = out.split(key).join(escapeHtml(value));
  return out.replace(/\{RECORD:\w+\}/g, "…");
}

export function AuthOptions({ draft, errors, onChange }) {
  const bind = (path, label, extra = {}) => ({ path, label, value: get(draft, path), errors,
    onChange: (v) => onChange((d) => setIn(d, path, v)), ...extra });
  return (
    <>
      <fieldset class="field">
        <legend>Password sign-in</legend>
        <CheckOption {...bind("passwordAuth.enabled", "Password sign-in enabled")} />
        <ListOption {...bind("passwordAuth.identityFields", "Identity fields (comma separated)")} placeholder="email, username" />
      </fieldset>
      <fieldset class="field">
        <legend>One-time password (OTP)</legend>
        <CheckOption {...bind("otp.enabled", "OTP enabled")} />
        <NumberOption {...bind("otp.duration", "OTP duration (seconds)")} min="0" step="1" />
        <NumberOption {...bind("otp.length", "OTP length")} min="0" step="1" />
      </fieldset>
      <fieldset class="field">
        <legend>Multi-factor authentication (MFA)</legend>
        <CheckOption {...bind("mfa.enabled", "MFA enabled")} />
        <NumberOption {...bind("mfa.duration", "MFA duration (seconds)")} min="0" step="1" />
        <TextOption {...bind("mfa.rule", "MFA rule (empty: always)")} mono />
      </fieldset>
      <fieldset class="field">
        <legend>Token durations (seconds)</legend>
        <div class="options-grid">
          {TOKENS.map(([key, label]) => <NumberOption key={key} {...bind(key + ".duration", label + " duration")} min="0" step="1" />)}
        </div>
      </fieldset>
      <OAuth2 draft={draft} errors={errors} bind={bind} onChange={onChange} />
      <fieldset class="field">
        <legend>Mail templates</legend>
        <CheckOption {...bind("authAlert.enabled", "Login alert mail enabled")} />
        {TEMPLATES.map(([label, path]) => <Template key={path} label={label} path={path} bind={bind} draft={draft} />)}
      </fieldset>
    </>
  );
}

function Template({ label, path, bind, draft }) {
  const [preview, setPreview] = useState(false);
  const tpl = get(draft, path) || {};
  return (
    <details class="template">
      <summary>{label} mail</summary>
      <TextOption {...bind(path + ".subject", `${label} mail subject`)} />
      <TextOption {...bind(path + ".body", `${label} mail body (HTML)`)} area />
      <button type="button" class="secondary" aria-expanded={preview} onClick={() => setPreview(!preview)}>
        {preview ? "Hide preview" : "Preview"} <span class="sr-only">{label} mail</span>
      </button>
      {preview && (
        <section class="mail-preview" aria-label={`${label} mail preview`}>
          <p><strong>{previewOf(tpl.subject)}</strong></p>
          <iframe class="mail-frame" title={`${label} mail as HTML`} sandbox="" srcdoc={htmlPreviewOf(tpl.body)} />
          <p class="muted">As text, for mail clients that show no HTML:</p>
          <pre>{previewOf(tpl.body)}</pre>
        </section>
      )}
    </details>
  );
}

const PROVIDER_KEYS = [["clientId", "Client id"], ["authURL", "Auth URL"], ["tokenURL", "Token URL"],
  ["userInfoURL", "User info URL"], ["displayName", "Display name"]];

// The providers the server knows (name, displayName, logo), asked once per page load.
let catalogAsked = null;
function useProviderCatalog() {
  const [catalog, setCatalog] = useState([]);
  useEffect(() => {
    catalogAsked = catalogAsked || pb.send("/api/collections/meta/oauth2-providers", {})
      .then((list) => (Array.isArray(list) ? list : list?.items || []))
      .catch(() => { catalogAsked = null; return []; });
    catalogAsked.then(setCatalog);
  }, []);
  return catalog;
}

function OAuth2({ draft, errors, bind, onChange }) {
  const providers = draft.oauth2?.providers || [];
  const catalog = useProviderCatalog();
  const [toAdd, setToAdd] = useState("");
  const displayName = (name) => catalog.find((c) => c.name === name)?.displayName;
  const setProviders = (list) => onChange((d) => setIn(d, "oauth2.providers", list));
  const setProvider = (i, patch) => setProviders(providers.map((p, j) => (j === i ? { ...p, ...patch } : p)));
  return (
    <fieldset class="field">
      <legend>OAuth2</legend>
      <CheckOption {...bind("oauth2.enabled", "OAuth2 enabled")} />
      {providers.map((p, i) => {
        const base = `oauth2.providers.${i}.`;
        const opt = (key, label) => ({ path: base + key, label: `${label} (provider ${i + 1})`, value: p[key], errors,
          onChange: (v) => setProvider(i, { [key]: v }) });
        return (
          <fieldset key={i} class="provider">
            <legend>Provider {i + 1}{p.name ? `: ${displayName(p.name) || p.name}` : ""}</legend>
            <TextOption {...opt("name", "Name")} placeholder="google, github, oidc, ..." list="oauth2-provider-names" />
            {PROVIDER_KEYS.map(([key, label]) => <TextOption key={key} {...opt(key, label)} />)}
            {/* Never shown by the API; empty keeps the stored one. */}
            <TextOption {...opt("clientSecret", "Client secret")} placeholder="unchanged when empty" />
            <CheckOption {...opt("pkce", "PKCE")} />
            <button type="button" class="danger secondary" onClick={() => setProviders(providers.filter((_, j) => j !== i))}>
              Remove provider {i + 1}
            </button>
          </fieldset>
        );
      })}
      <datalist id="oauth2-provider-names">
        {catalog.map((c) => <option key={c.name} value={c.name}>{c.displayName}</option>)}
      </datalist>
      <div class="field">
        <label for="oauth2-provider-to-add">OAuth2 provider to add</label>
        <select id="oauth2-provider-to-add" value={toAdd} onChange={(e) => setToAdd(e.currentTarget.value)}>
          <option value="">Other (type its name)</option>
          {catalog.map((c) => (
            <option key={c.name} value={c.name} disabled={providers.some((p) => p.name === c.name)}>{c.displayName}</option>
          ))}
        </select>
      </div>
      <button type="button" class="secondary" onClick={() => {
        setProviders([...providers, { name: toAdd, clientId: "", clientSecret: "" }]);
        setToAdd("");
      }}>
        Add OAuth2 provider
      </button>
      <div class="options-grid">
        {["id", "name", "username", "avatarURL"].map((k) => (
          <TextOption key={k} {...bind("oauth2.mappedFields." + k, `Field mapped from the provider's ${k}`)} />
        ))}
      </div>
    </fieldset>
  );
}

// The body sent to the API: a provider's empty secret is left out, so the stored one stays.
export function authBody(draft) {
  const providers = (draft.oauth2?.providers || []).map((p) => {
    const out = { ...p };
    if (!out.clientSecret) delete out.clientSecret;
    return out;
  });
  return { ...draft, oauth2: { ...(draft.oauth2 || {}), providers } };
}
