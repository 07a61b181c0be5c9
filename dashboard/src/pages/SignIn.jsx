import { useState } from "preact/hooks";
import { pb, errorsOf } from "../pb.js";
import { FieldError } from "../ui.jsx";

export function SignIn() {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);

  async function submit(e) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await pb.collection("_superusers").authWithPassword(email, password);
    } catch (err) {
      setError(errorsOf(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main class="center">
      <form class="card" onSubmit={submit} aria-labelledby="signin-title">
        <h1 id="signin-title">Superuser sign in</h1>
        <label>
          Email
          <input type="email" name="email" required autocomplete="username" autofocus
            value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
        </label>
        <FieldError message={error?.fields.identity} />
        <label>
          Password
          <input type="password" name="password" required autocomplete="current-password"
            value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        </label>
        <FieldError message={error?.fields.password} />
        {error && <p class="error" role="alert">{error.message}</p>}
        <button type="submit" disabled={busy}>{busy ? "Signing in…" : "Sign in"}</button>
      </form>
    </main>
  );
}
