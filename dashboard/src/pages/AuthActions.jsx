// Actions on an auth record: mail it a verification or password reset link, or impersonate it.
import { useState } from "preact/hooks";
import { pb, errorsOf } from "../pb.js";

export function AuthActions({ collection, record }) {
  const [status, setStatus] = useState("");
  const [token, setToken] = useState("");
  const records = pb.collection(collection.name);

  async function run(action, done) {
    setStatus("");
    try {
      await action();
      setStatus(done);
    } catch (err) {
      setStatus("Failed: " + errorsOf(err).message);
    }
  }

  const impersonate = () => run(async () => {
    // A separate client: impersonating must not replace the superuser's own session.
    const client = await records.impersonate(record.id, 3600);
    setToken(client.authStore.token);
  }, "Token made for one hour.");

  return (
    <fieldset class="field">
      <legend>Auth actions</legend>
      <div class="actions">
        <button type="button" class="secondary" disabled={!record.email}
          onClick={() => run(() => records.requestVerification(record.email), "Verification mail sent to " + record.email + ".")}>
          Send verification mail
        </button>
        <button type="button" class="secondary" disabled={!record.email}
          onClick={() => run(() => records.requestPasswordReset(record.email), "Password reset mail sent to " + record.email + ".")}>
          Send password reset mail
        </button>
        <button type="button" class="secondary" onClick={impersonate}>Impersonate</button>
      </div>
      {status && <p role="status">{status}</p>}
      {token && (
        <div class="field">
          <label for="impersonate-token">Auth token of {record.email || record.id}</label>
          <textarea id="impersonate-token" class="mono" rows={4} readOnly value={token}
            onFocus={(e) => e.currentTarget.select()} />
        </div>
      )}
    </fieldset>
  );
}
