// Small shared pieces.

export function FieldError({ message, id }) {
  if (!message) return null;
  return <p class="field-error" id={id} role="alert">{message}</p>;
}

/**
 * Whether what was loaded has been changed since: by its `updated` date when it has one, else by
 * its content (the SDK's `expand` aside). PocketBase's API has no If-Match, so the panels compare
 * just before saving: a change landing between that look and the save still goes unnoticed.
 */
export function changedSince(loaded, current) {
  if (loaded.updated !== undefined || current.updated !== undefined) return loaded.updated !== current.updated;
  const plain = ({ expand, ...rest }) => JSON.stringify(rest);
  return plain(loaded) !== plain(current);
}

/** The warning of a panel whose record or collection changed since it was opened. */
export function ConflictAlert({ busy, onReload, onSaveAnyway }) {
  return (
    <div class="conflict" role="alert">
      <p><strong>Changed by someone else since you opened it.</strong> Reload to see their change (yours are lost),
        or save anyway to overwrite it.</p>
      <div class="actions">
        <button type="button" class="secondary" disabled={busy} onClick={onReload}>Reload</button>
        <button type="button" class="danger secondary" disabled={busy} onClick={onSaveAnyway}>Save anyway</button>
      </div>
    </div>
  );
}
