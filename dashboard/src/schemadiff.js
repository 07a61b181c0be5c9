// What an import of collections would change: the current collections against the imported
// JSON, matched as the server matches them (by id, then by name), fields likewise. Pure
// functions, so the page shows exactly what it sends.

// Kept by the server, never part of a change.
const BOOKKEEPING = new Set(["created", "updated", "collectionId", "collectionName", "expand"]);

const find = (list, item) =>
  (item.id && list.find((x) => x.id === item.id)) || (item.name && list.find((x) => x.name === item.name)) || null;

const shown = (value) => (value === undefined ? "(none)" : JSON.stringify(value));
const same = (a, b) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** The collections as exported: every key but the server's timestamps. */
export function exportable(collections) {
  return collections.map(({ created, updated, ...rest }) => rest);
}

/** Reads pasted or loaded text: an array of collections (or {collections: [...]}); throws with a readable message. */
export function parseImport(text) {
  let data;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new Error("Not valid JSON: " + err.message);
  }
  if (data && !Array.isArray(data) && Array.isArray(data.collections)) data = data.collections;
  if (!Array.isArray(data)) throw new Error("Expected a JSON array of collections.");
  if (!data.length) throw new Error("The list of collections is empty.");
  data.forEach((c, i) => {
    if (!c || typeof c !== "object" || Array.isArray(c)) throw new Error(`Item ${i + 1} is not a collection object.`);
    if (!c.name && !c.id) throw new Error(`Item ${i + 1} has neither a name nor an id.`);
  });
  return data;
}

/**
 * The collections to send. Without deleteMissing, the fields an existing collection has and
 * the import lacks are kept (appended), so nothing is deleted; with it, the import is sent as is.
 */
export function toSend(current, imported, deleteMissing) {
  if (deleteMissing) return imported;
  return imported.map((item) => {
    const old = find(current, item);
    if (!old || !Array.isArray(item.fields)) return item;
    const kept = (old.fields || []).filter((f) => !find(item.fields, f));
    return kept.length ? { ...item, fields: [...item.fields, ...kept] } : item;
  });
}

function optionChanges(before, after, skip) {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((k) => !skip.has(k)).sort();
  return keys.filter((k) => k in after && !same(before[k], after[k]))
    .map((k) => ({ key: k, before: shown(before[k]), after: shown(after[k]) }));
}

/**
 * The changes, as {added: [collection], changed: [{name, renamed, options, fields: {added, deleted, changed}}],
 * deleted: [collection], unchanged: n}. `sent` is what toSend() gives.
 */
export function diffCollections(current, sent, deleteMissing) {
  const result = { added: [], changed: [], deleted: [], unchanged: 0 };
  const matched = new Set();
  for (const item of sent) {
    const old = find(current, item);
    if (!old) {
      result.added.push(item);
      continue;
    }
    matched.add(old.id);
    const options = optionChanges(old, item, new Set([...BOOKKEEPING, "id", "name", "fields", "system"]));
    const fields = { added: [], deleted: [], changed: [] };
    if (Array.isArray(item.fields)) {
      const seen = new Set();
      for (const f of item.fields) {
        const before = find(old.fields || [], f);
        if (!before) {
          fields.added.push(f);
          continue;
        }
        seen.add(before.id || before.name);
        const changes = optionChanges(before, f, new Set(["id"]));
        if (changes.length) fields.changed.push({ name: before.name, changes });
      }
      fields.deleted = (old.fields || []).filter((f) => !seen.has(f.id || f.name));
      // Same fields, another order: shown as a change of the order.
      const order = (list) => list.map((f) => f.name).join(", ");
      const kept = item.fields.map((f) => find(old.fields || [], f)).filter(Boolean);
      const before = (old.fields || []).filter((f) => kept.includes(f));
      if (order(kept) !== order(before)) options.push({ key: "field order", before: order(before), after: order(kept) });
    }
    const renamed = item.name && item.name !== old.name ? item.name : "";
    if (renamed || options.length || fields.added.length || fields.deleted.length || fields.changed.length) {
      result.changed.push({ name: old.name, renamed, options, fields });
    } else {
      result.unchanged++;
    }
  }
  if (deleteMissing) result.deleted = current.filter((c) => !c.system && !matched.has(c.id));
  return result;
}
