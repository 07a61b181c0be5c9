// The first-run page: `keelbase serve` prints a one-time link to it while no superuser exists.
// The link's token can only create that first superuser; then we sign in with it as usual.
import { useEffect, useState } from "preact/hooks";
import { pb, errorsOf } from "../pb.js";
import { navigate } from "../router.js";
import { FieldError } from "../ui.jsx";

const post = (path, body) => pb.send(path, { method: "POST", body });

export function Install({ token }) {
  const [usable, setUsable] = useState(null); // null: checking; true; or the API's message
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [confirm, setConfirm] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);

  useEffect(() => {
    post("/api/installer/check", { token })
      .then(() => setUsable(true))
      .catch((err) => setUsable(errorsOf(err).message));
  }, [token]);

  async function submit(e) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await post("/api/installer", { token, email, password, passwordConfirm: confirm });
    } catch (err) {
      setError(errorsOf(err));
      setBusy(false);
      return;
    }
    try {
      await pb.collection("_superusers").authWithPassword(email, password);
      navigate("/collections");
    } catch {
      navigate("/login"); // created; a second factor (MFA) or a rule needs the sign-in page
    }
  }

  return (
    <main class="center">
      <form class="card" onSubmit={submit} aria-labelledby="install-title">
        <h1 id="install-title">Create your first superuser</h1>
        {usable === null && <p role="status">Checking the link…</p>}
        {typeof usable === "string" && (
          <>
            <p class="error" role="alert">{usable}</p>
            <a href="#/login">Go to sign in</a>
          </>
        )}
        {usable === true && (
          <>
            <p>This account manages the whole server: collections, records, settings and other superusers.</p>
            <label>
              Email
              <input type="email" name="email" required autocomplete="username" autofocus
                value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
            </label>
            <FieldError message={error?.fields.email} />
            <label>
              Password
              <input type="password" name="password" required minLength={8} autocomplete="new-password"
                value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
            </label>
            <FieldError message={error?.fields.password} />
            <label>
              Password again
              <input type="password" name="passwordConfirm" required autocomplete="new-password"
                value={confirm} onInput={(e) => setConfirm(e.currentTarget.value)} />
            </label>
            <FieldError message={error?.fields.passwordConfirm} />
            {error && <p class="error" role="alert">{error.message}</p>}
            <button type="submit" disabled={busy}>{busy ? "Creating…" : "Create superuser and sign in"}</button>
          </>
        )}
      </form>
    </main>
  );
}
