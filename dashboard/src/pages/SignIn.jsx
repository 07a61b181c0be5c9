// Sign in: password, a one-time code by mail, OAuth2 (a popup, for collections with providers on),
// or two of them when the collection requires MFA. A superuser (_superusers) by default; an editor
// signs in to an auth collection chosen from the list the server offers (docs/dashboard.md).
import { useEffect, useState } from "preact/hooks";
import { pb, errorsOf } from "../pb.js";
import { FieldError } from "../ui.jsx";

// The second factor names the first one's MFA id (a query parameter, as the API allows).
const withMfa = (mfaId) => (mfaId ? { query: { mfaId } } : {});

/** The auth collections an editor may sign in to: null while asked for, [] when none is known (the name is typed). */
function useAuthCollections(wanted) {
  const [names, setNames] = useState(null);
  useEffect(() => {
    if (!wanted || names) return;
    pb.send("/api/dashboard/auth-collections", {})
      .then(({ items }) => setNames(items.map((c) => c.name)))
      .catch(() => setNames([]));
  }, [wanted]);
  return names;
}

export function SignIn() {
  const [editor, setEditor] = useState(false);
  const [authCollection, setAuthCollection] = useState("users");
  const choices = useAuthCollections(editor);
  const source = editor ? authCollection.trim() : "_superusers";
  const collection = () => pb.collection(source);
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [code, setCode] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [methods, setMethods] = useState(null);
  // The code step: the OTP request's id, and the MFA id when another method was the first factor.
  const [otp, setOtp] = useState(null);
  // After a first factor when the collection requires MFA: {mfaId, first: "password"|"otp"|"oauth2"}.
  const [mfa, setMfa] = useState(null);

  useEffect(() => {
    if (choices?.length && !choices.includes(authCollection)) setAuthCollection(choices[0]);
  }, [choices]);

  useEffect(() => {
    setMfa(null);
    setOtp(null);
    if (!source) return;
    collection().listAuthMethods().then(setMethods).catch(() => setMethods(null));
  }, [source]);

  async function run(action) {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (err) {
      setError(errorsOf(err));
    } finally {
      setBusy(false);
    }
  }

  // A first factor that MFA asks to complete: the API answers 401 with an mfaId.
  async function factor(first, attempt) {
    try {
      await attempt();
    } catch (err) {
      const mfaId = err?.response?.mfaId;
      if (!mfaId || mfa) throw err;
      // A right password goes on to a mailed code at once when OTP is on (as PocketBase's dashboard);
      // the methods are asked for again if the page's request has not answered yet.
      const known = methods || (await collection().listAuthMethods().catch(() => null));
      if (first === "password" && known?.otp?.enabled) return sendCode(mfaId);
      setOtp(null);
      setCode("");
      setMfa({ mfaId, first });
    }
  }

  async function sendCode(mfaId) {
    const { otpId } = await collection().requestOTP(email);
    setOtp({ otpId, mfaId });
  }

  const startAgain = () => { setOtp(null); setMfa(null); setCode(""); setError(null); };

  const signInWithPassword = (e) => {
    e.preventDefault();
    run(() => factor("password", () => collection().authWithPassword(email, password, withMfa(mfa?.mfaId))));
  };

  const signInWithCode = (e) => {
    e.preventDefault();
    run(() => factor("otp", () => collection().authWithOTP(otp.otpId, code, withMfa(otp.mfaId))));
  };

  // Not async before authWithOAuth2: the SDK opens its popup in the click's own turn (popup blockers).
  const signInWithOAuth2 = (provider) =>
    run(() => factor("oauth2", () => collection().authWithOAuth2({ provider, ...withMfa(mfa?.mfaId) })));

  const title = <h1 id="signin-title">{editor ? "Editor sign in" : "Superuser sign in"}</h1>;

  if (otp) {
    return (
      <main class="center">
        <form class="card" onSubmit={signInWithCode} aria-labelledby="signin-title">
          {title}
          <p role="status">
            {otp.mfaId ? "A second step is required: we" : "We"} sent a one-time code to <strong>{email}</strong>.
          </p>
          <label>
            One-time code
            <input type="text" inputMode="numeric" autocomplete="one-time-code" required autofocus
              value={code} onInput={(e) => setCode(e.currentTarget.value)} />
          </label>
          <FieldError message={error?.fields.password} />
          {error && !error.fields.password && <p class="error" role="alert">{error.message}</p>}
          <button type="submit" disabled={busy}>Sign in with the code</button>
          <button type="button" class="link" onClick={startAgain}>Start again</button>
        </form>
      </main>
    );
  }

  const used = mfa?.first;
  const passwordOn = (methods ? methods.password?.enabled !== false : true) && used !== "password";
  const otpOn = !!methods?.otp?.enabled && used !== "otp";
  const providers = (methods?.oauth2?.enabled && used !== "oauth2" && methods.oauth2.providers) || [];
  return (
    <main class="center">
      <form class="card" onSubmit={signInWithPassword} aria-labelledby="signin-title">
        {title}
        {mfa ? (
          <p role="status">A second step is required: sign in again with another method.</p>
        ) : (
          <label class="inline">
            <input type="checkbox" checked={editor} onChange={(e) => { setEditor(e.currentTarget.checked); setError(null); }} />
            Sign in as a user of an auth collection (editor)
          </label>
        )}
        {editor && !mfa && (choices?.length !== 0 ? (
          <>
            {/* Not wrapping the select: its chosen option would join the label's name. */}
            <label for="signin-collection">Auth collection</label>
            <select id="signin-collection" name="collection" value={authCollection} disabled={!choices}
              onChange={(e) => setAuthCollection(e.currentTarget.value)}>
              {(choices || []).map((name) => <option key={name} value={name}>{name}</option>)}
            </select>
          </>
        ) : (
          <label>
            Auth collection
            <input type="text" name="collection" required value={authCollection}
              onInput={(e) => setAuthCollection(e.currentTarget.value)} />
          </label>
        ))}
        {(passwordOn || otpOn) && (
          <label>
            Email
            <input type="email" name="email" required autocomplete="username" autofocus
              value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
          </label>
        )}
        <FieldError message={error?.fields.identity || error?.fields.email} />
        {passwordOn && (
          <label>
            Password
            <input type="password" name="password" required autocomplete="current-password"
              value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
          </label>
        )}
        <FieldError message={error?.fields.password} />
        {error && <p class="error" role="alert">{error.message}</p>}
        {passwordOn && <button type="submit" disabled={busy}>{busy ? "Signing in…" : "Sign in"}</button>}
        {otpOn && (
          <button type="button" class={passwordOn ? "secondary wide" : "wide"} disabled={busy || !email}
            onClick={() => run(() => sendCode(mfa?.mfaId || ""))}>
            Email me a one-time code
          </button>
        )}
        {providers.map((p) => (
          <button key={p.name} type="button" class="secondary wide" disabled={busy}
            onClick={() => signInWithOAuth2(p.name)}>
            Sign in with {p.displayName || p.name}
          </button>
        ))}
        {mfa && <button type="button" class="link" onClick={startAgain}>Start again</button>}
      </form>
    </main>
  );
}
