// Backups (pb.backups: list, create, download, upload, restore, delete) and cron jobs
// (pb.crons: list, run now): the running server's housekeeping, under Settings.
import { useEffect, useState } from "preact/hooks";
import { pb, errorsOf } from "../pb.js";

function size(bytes) {
  if (bytes < 1024) return bytes + " B";
  if (bytes < 1024 * 1024) return (bytes / 1024).toFixed(1) + " KB";
  if (bytes < 1024 * 1024 * 1024) return (bytes / 1024 / 1024).toFixed(1) + " MB";
  return (bytes / 1024 / 1024 / 1024).toFixed(2) + " GB";
}

export function Backups() {
  const [list, setList] = useState(null);
  const [error, setError] = useState("");
  const [status, setStatus] = useState("");
  const [busy, setBusy] = useState(false);
  const [name, setName] = useState("");
  const [confirm, setConfirm] = useState(null); // {action: "restore"|"delete", key}
  const [reload, setReload] = useState(0);

  useEffect(() => {
    pb.backups.getFullList()
      .then((items) => setList(items.sort((a, b) => (a.modified < b.modified ? 1 : -1))))
      .catch((err) => setError(errorsOf(err).message));
  }, [reload]);

  async function run(label, action) {
    setBusy(true);
    setError("");
    setStatus(label + "…");
    try {
      await action();
      setStatus(label + ": done.");
    } catch (err) {
      setStatus("");
      setError(errorsOf(err).message);
    } finally {
      setBusy(false);
      setConfirm(null);
      setReload((n) => n + 1);
    }
  }

  const create = (e) => {
    e.preventDefault();
    const basename = name.trim();
    run("Creating the backup", () => pb.backups.create(basename)).then(() => setName(""));
  };

  async function download(key) {
    const token = await pb.files.getToken();
    window.location.href = pb.backups.getDownloadURL(token, key);
  }

  function upload(e) {
    const file = e.currentTarget.files[0];
    e.currentTarget.value = "";
    if (!file) return;
    const form = new FormData();
    form.append("file", file);
    run("Uploading " + file.name, () => pb.backups.upload(form));
  }

  return (
    <section aria-labelledby="backups-title">
      <h2 id="backups-title">Backups</h2>
      <p class="muted">
        A backup is a zip of the data and the stored files, taken without stopping writers. Restoring one
        replaces all current data; the server keeps the current data aside until the restored one answers.
      </p>
      <form class="filter" onSubmit={create}>
        <input type="text" aria-label="Backup name" placeholder="Name (optional, e.g. before_migration.zip)"
          value={name} onInput={(e) => setName(e.currentTarget.value)} />
        <button type="submit" disabled={busy}>Create backup</button>
      </form>
      <label class="secondary-upload">
        Upload a backup <input type="file" accept=".zip,application/zip" disabled={busy} onChange={upload} />
      </label>
      {status && <p role="status">{status}</p>}
      {error && <p role="alert" class="error">{error}</p>}
      <div class="grid-wrap">
        <table class="grid" aria-label="Backups">
          <thead><tr><th>name</th><th>size</th><th>modified</th><th><span class="sr-only">actions</span></th></tr></thead>
          <tbody>
            {list?.map((b) => (
              <tr key={b.key}>
                <td><code>{b.key}</code></td>
                <td>{size(b.size)}</td>
                <td>{b.modified}</td>
                <td class="actions-cell">
                  <button type="button" class="secondary" onClick={() => download(b.key)} aria-label={"Download " + b.key}>Download</button>
                  <button type="button" class="secondary" disabled={busy} onClick={() => setConfirm({ action: "restore", key: b.key })}
                    aria-label={"Restore " + b.key}>Restore</button>
                  <button type="button" class="danger secondary" disabled={busy} onClick={() => setConfirm({ action: "delete", key: b.key })}
                    aria-label={"Delete " + b.key}>Delete</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {list && list.length === 0 && <p class="empty">No backups yet.</p>}
      </div>
      {confirm && (
        <div class="overlay" onClick={(e) => { if (e.target === e.currentTarget) setConfirm(null); }}>
          <div class="panel" role="dialog" aria-modal="true" aria-labelledby="confirm-title">
            <h2 id="confirm-title">{confirm.action === "restore" ? "Restore" : "Delete"} {confirm.key}?</h2>
            <p>
              {confirm.action === "restore"
                ? "All current data is replaced by this backup's. The server restarts its data; requests wait meanwhile."
                : "The backup file is deleted for good."}
            </p>
            <div class="actions">
              <button type="button" class="danger" disabled={busy}
                onClick={() => confirm.action === "restore"
                  ? run("Restoring " + confirm.key, () => pb.backups.restore(confirm.key))
                  : run("Deleting " + confirm.key, () => pb.backups.delete(confirm.key))}>
                Yes, {confirm.action}
              </button>
              <button type="button" class="secondary" onClick={() => setConfirm(null)}>Cancel</button>
            </div>
          </div>
        </div>
      )}
    </section>
  );
}

export function Crons() {
  const [jobs, setJobs] = useState(null);
  const [error, setError] = useState("");
  const [status, setStatus] = useState("");

  useEffect(() => {
    pb.crons.getFullList().then(setJobs).catch((err) => setError(errorsOf(err).message));
  }, []);

  async function runNow(id) {
    setError("");
    try {
      await pb.crons.run(id);
      setStatus(`Started ${id}.`);
    } catch (err) {
      setError(errorsOf(err).message);
    }
  }

  return (
    <section aria-labelledby="crons-title">
      <h2 id="crons-title">Cron jobs</h2>
      <p class="muted">Your hooks' jobs, then the system's. Once per tick across all nodes.</p>
      {status && <p role="status">{status}</p>}
      {error && <p role="alert" class="error">{error}</p>}
      <div class="grid-wrap">
        <table class="grid" aria-label="Cron jobs">
          <thead><tr><th>job</th><th>schedule</th><th><span class="sr-only">actions</span></th></tr></thead>
          <tbody>
            {jobs?.map((job) => (
              <tr key={job.id}>
                <td><code>{job.id}</code></td>
                <td><code>{job.expression}</code></td>
                <td><button type="button" class="secondary" onClick={() => runNow(job.id)} aria-label={"Run now: " + job.id}>Run now</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
