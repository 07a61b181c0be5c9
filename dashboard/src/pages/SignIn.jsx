// Sign in: password, a one-time code by mail, or both when the collection requires MFA. A superuser
// (_superusers) by default; an editor signs in to an auth collection it names (docs/dashboard.md).
import { useEffect, useState } from "preact/hooks";
import { pb, errorsOf } from "../pb.js";
import { FieldError } from "../ui.jsx";

export function SignIn() {
  const [editor, setEditor] = useState(false);
  const [authCollection, setAuthCollection] = useState("users");
  const source = editor ? authCollection.trim() : "_superusers";
  const superusers = () => pb.collection(source);
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [code, setCode] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [methods, setMethods] = useState(null);
  // The code step: the OTP request's id, and the MFA id when the password was the first factor.
  const [otp, setOtp] = useState(null);

  useEffect(() => {
    if (!source) return;
    superusers().listAuthMethods().then(setMethods).catch(() => setMethods(null));
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

  async function sendCode(mfaId) {
    const { otpId } = await superusers().requestOTP(email);
    setOtp({ otpId, mfaId });
  }

  const signInWithPassword = (e) => {
    e.preventDefault();
    run(async () => {
      try {
        await superusers().authWithPassword(email, password);
      } catch (err) {
        const mfaId = err?.response?.mfaId;
        if (!mfaId) throw err;
        await sendCode(mfaId); // the password was right; a second factor is required
      }
    });
  };

  const signInWithCode = (e) => {
    e.preventDefault();
    run(() => superusers().authWithOTP(otp.otpId, code, otp.mfaId ? { mfaId: otp.mfaId } : {}));
  };

  if (otp) {
    return (
      <main class="center">
        <form class="card" onSubmit={signInWithCode} aria-labelledby="signin-title">
          <h1 id="signin-title">{editor ? "Editor sign in" : "Superuser sign in"}</h1>
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
          <button type="button" class="link" onClick={() => { setOtp(null); setCode(""); setError(null); }}>
            Start again
          </button>
        </form>
      </main>
    );
  }

  const passwordOn = methods ? methods.password?.enabled !== false : true;
  const otpOn = !!methods?.otp?.enabled;
  return (
    <main class="center">
      <form class="card" onSubmit={signInWithPassword} aria-labelledby="signin-title">
        <h1 id="signin-title">{editor ? "Editor sign in" : "Superuser sign in"}</h1>
        <label class="inline">
          <input type="checkbox" checked={editor} onChange={(e) => { setEditor(e.currentTarget.checked); setError(null); }} />
          Sign in as a user of an auth collection (editor)
        </label>
        {editor && (
          <label>
            Auth collection
            <input type="text" name="collection" required value={authCollection}
              onInput={(e) => setAuthCollection(e.currentTarget.value)} />
          </label>
        )}
        <label>
          Email
          <input type="email" name="email" required autocomplete="username" autofocus
            value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
        </label>
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
            onClick={() => run(() => sendCode(""))}>
            Email me a one-time code
          </button>
        )}
      </form>
    </main>
  );
}
