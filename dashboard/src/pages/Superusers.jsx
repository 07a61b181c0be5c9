// Settings → Superusers: the `_superusers` records, as PocketBase's system collection shows them,
// with the checks a person needs: the only superuser cannot be deleted, deleting yourself signs
// you out (after a warning), and changing your own password signs you in again with it.
import { useEffect, useState } from "preact/hooks";
import { pb, errorsOf } from "../pb.js";
import { Problem, invalid } from "./collection/controls.jsx";

const superusers = () => pb.collection("_superusers");

function Editor({ superuser, self, onClose }) {
  const isNew = !superuser;
  const [email, setEmail] = useState(superuser?.email || "");
  const [password, setPassword] = useState("");
  const [confirm, setConfirm] = useState("");
  const [errors, setErrors] = useState({});
  const [message, setMessage] = useState("");
  const [busy, setBusy] = useState(false);

  async function save(e) {
    e.preventDefault();
    setErrors({});
    setMessage("");
    if (password !== confirm) {
      setErrors({ passwordConfirm: "The passwords do not match." });
      return;
    }
    const body = { email };
    if (password) Object.assign(body, { password, passwordConfirm: confirm });
    setBusy(true);
    try {
      if (isNew) await superusers().create(body);
      else await superusers().update(superuser.id, body);
      // Your own new password ends your session's token: sign in again with it.
      if (self && password) await superusers().authWithPassword(email, password);
      else if (self) await superusers().authRefresh();
      onClose(true);
    } catch (err) {
      const { message: text, fields } = errorsOf(err);
      setErrors(fields);
      setMessage(text);
      setBusy(false);
    }
  }

  const title = isNew ? "New superuser" : `Edit superuser ${superuser.email}`;
  return (
    <div class="overlay" onClick={(e) => { if (e.target === e.currentTarget) onClose(false); }}>
      <div class="panel" role="dialog" aria-modal="true" aria-labelledby="superuser-title">
        <form onSubmit={save} noValidate>
          <h2 id="superuser-title">{title}</h2>
          <div class="field">
            <label for="superuser-email">Email</label>
            <input type="email" autocomplete="off" {...invalid("superuser-email", errors.email)} value={email}
              onInput={(e) => setEmail(e.currentTarget.value)} />
            <Problem id="superuser-email-error" message={errors.email} />
          </div>
          <div class="field">
            <label for="superuser-password">{isNew ? "Password" : "New password (empty: unchanged)"}</label>
            <input type="password" autocomplete="new-password" {...invalid("superuser-password", errors.password)} value={password}
              onInput={(e) => setPassword(e.currentTarget.value)} />
            <Problem id="superuser-password-error" message={errors.password} />
          </div>
          <div class="field">
            <label for="superuser-passwordConfirm">Password again</label>
            <input type="password" autocomplete="new-password" {...invalid("superuser-passwordConfirm", errors.passwordConfirm)}
              value={confirm} onInput={(e) => setConfirm(e.currentTarget.value)} />
            <Problem id="superuser-passwordConfirm-error" message={errors.passwordConfirm} />
          </div>
          {self && password && <p class="muted">Your other sessions end; this one signs in again with the new password.</p>}
          {message && <p class="error" role="alert">{message}</p>}
          <div class="actions">
            <button type="submit" disabled={busy}>{isNew ? "Create superuser" : "Save superuser"}</button>
            <button type="button" class="secondary" onClick={() => onClose(false)}>Cancel</button>
          </div>
        </form>
      </div>
    </div>
  );
}

export function Superusers() {
  const [list, setList] = useState(null);
  const [error, setError] = useState("");
  const [editing, setEditing] = useState(null); // "new" or a record
  const [deleting, setDeleting] = useState(null);
  const [busy, setBusy] = useState(false);
  const [reload, setReload] = useState(0);
  const me = pb.authStore.record?.id;

  useEffect(() => {
    superusers().getFullList({ sort: "email" }).then(setList).catch((err) => setError(errorsOf(err).message));
  }, [reload]);

  async function remove() {
    setBusy(true);
    setError("");
    const self = deleting.id === me;
    try {
      await superusers().delete(deleting.id);
      setDeleting(null);
      if (self) pb.authStore.clear();
      else setReload((n) => n + 1);
    } catch (err) {
      setError(errorsOf(err).message);
      setDeleting(null);
    } finally {
      setBusy(false);
    }
  }

  const only = list?.length === 1;
  return (
    <section aria-labelledby="superusers-title">
      <h2 id="superusers-title">Superusers</h2>
      <p class="muted">
        The records of the <code>_superusers</code> system collection: they sign in here and pass every API rule.
      </p>
      <button type="button" onClick={() => setEditing("new")}>New superuser</button>
      {error && <p role="alert" class="error">{error}</p>}
      <div class="grid-wrap" style="margin-top: .8rem">
        <table class="grid" aria-label="Superusers">
          <thead><tr><th>email</th><th>created</th><th><span class="sr-only">actions</span></th></tr></thead>
          <tbody>
            {list?.map((s) => (
              <tr key={s.id}>
                <td>{s.email}{s.id === me && <small class="kind"> (you)</small>}</td>
                <td>{s.created}</td>
                <td class="actions-cell">
                  <button type="button" class="secondary" onClick={() => setEditing(s)} aria-label={"Edit " + s.email}>Edit</button>
                  <button type="button" class="danger secondary" disabled={only} onClick={() => setDeleting(s)}
                    aria-label={"Delete " + s.email} title={only ? "The only superuser cannot be deleted." : undefined}>Delete</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {only && <p class="muted">The only superuser cannot be deleted: create another one first.</p>}
      {editing && (
        <Editor key={editing === "new" ? "new" : editing.id} superuser={editing === "new" ? null : editing}
          self={editing !== "new" && editing.id === me}
          onClose={(changed) => { setEditing(null); if (changed) setReload((n) => n + 1); }} />
      )}
      {deleting && (
        <div class="overlay" onClick={(e) => { if (e.target === e.currentTarget) setDeleting(null); }}>
          <div class="panel" role="dialog" aria-modal="true" aria-labelledby="delete-superuser-title">
            <h2 id="delete-superuser-title">Delete {deleting.email}?</h2>
            {deleting.id === me
              ? <p role="alert" class="error">This is your own account: you will be signed out at once and cannot sign in with it again.</p>
              : <p>This superuser can no longer sign in.</p>}
            <div class="actions">
              <button type="button" class="danger" disabled={busy} onClick={remove}>Yes, delete</button>
              <button type="button" class="secondary" onClick={() => setDeleting(null)}>Cancel</button>
            </div>
          </div>
        </div>
      )}
    </section>
  );
}
