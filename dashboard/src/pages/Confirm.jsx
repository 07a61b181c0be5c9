// The end-user pages linked from the verification, password reset and email change mails.
// The token names its collection (collectionId claim), as PocketBase's own pages rely on.
import { useEffect, useState } from "preact/hooks";
import { getTokenPayload } from "pocketbase";
import { pb, errorsOf } from "../pb.js";
import { FieldError } from "../ui.jsx";

function collectionOf(token) {
  return getTokenPayload(token).collectionId || "";
}

function Shell({ title, children }) {
  return (
    <main class="center">
      <section class="card" aria-labelledby="page-title">
        <h1 id="page-title">{title}</h1>
        {children}
      </section>
    </main>
  );
}

export function ConfirmVerification({ token }) {
  const [state, setState] = useState({ status: "working" });
  useEffect(() => {
    const collection = collectionOf(token);
    if (!collection) {
      setState({ status: "failed", message: "Invalid or expired verification token." });
      return;
    }
    pb.collection(collection).confirmVerification(token)
      .then(() => setState({ status: "done" }))
      .catch((err) => setState({ status: "failed", message: errorsOf(err).message }));
  }, [token]);
  return (
    <Shell title="Email verification">
      {state.status === "working" && <p role="status">Verifying your email address…</p>}
      {state.status === "done" && <p role="status" class="success">Successfully verified email address.</p>}
      {state.status === "failed" && <p role="alert" class="error">{state.message || "Invalid or expired verification token."}</p>}
    </Shell>
  );
}

export function ConfirmPasswordReset({ token }) {
  const [password, setPassword] = useState("");
  const [confirm, setConfirm] = useState("");
  const [error, setError] = useState(null);
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);
  const email = getTokenPayload(token).email;

  async function submit(e) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await pb.collection(collectionOf(token)).confirmPasswordReset(token, password, confirm);
      setDone(true);
    } catch (err) {
      setError(errorsOf(err));
    } finally {
      setBusy(false);
    }
  }

  if (done) {
    return (
      <Shell title="Reset password">
        <p role="status" class="success">Successfully changed the password. You can now sign in with your new password.</p>
      </Shell>
    );
  }
  return (
    <Shell title="Reset password">
      <form onSubmit={submit}>
        {email && <p>Choose a new password for <strong>{email}</strong>.</p>}
        <label>
          New password
          <input type="password" required autocomplete="new-password" autofocus
            value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        </label>
        <FieldError message={error?.fields.password} />
        <label>
          New password confirm
          <input type="password" required autocomplete="new-password"
            value={confirm} onInput={(e) => setConfirm(e.currentTarget.value)} />
        </label>
        <FieldError message={error?.fields.passwordConfirm} />
        {error && !error.fields.password && !error.fields.passwordConfirm &&
          <p role="alert" class="error">{error.fields.token || error.message}</p>}
        <button type="submit" disabled={busy}>Set new password</button>
      </form>
    </Shell>
  );
}

export function ConfirmEmailChange({ token }) {
  const [password, setPassword] = useState("");
  const [error, setError] = useState(null);
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);
  const newEmail = getTokenPayload(token).newEmail;

  async function submit(e) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await pb.collection(collectionOf(token)).confirmEmailChange(token, password);
      setDone(true);
    } catch (err) {
      setError(errorsOf(err));
    } finally {
      setBusy(false);
    }
  }

  if (done) {
    return (
      <Shell title="Confirm email change">
        <p role="status" class="success">Successfully changed the email address. You can now sign in with your new email address.</p>
      </Shell>
    );
  }
  return (
    <Shell title="Confirm email change">
      <form onSubmit={submit}>
        {newEmail && <p>Type your password to confirm changing your email address to <strong>{newEmail}</strong>.</p>}
        <label>
          Password
          <input type="password" required autocomplete="current-password" autofocus
            value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        </label>
        <FieldError message={error?.fields.password} />
        {error && !error.fields.password &&
          <p role="alert" class="error">{error.fields.token || error.message}</p>}
        <button type="submit" disabled={busy}>Confirm new email</button>
      </form>
    </Shell>
  );
}
