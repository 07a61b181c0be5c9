// The one API client: the official PocketBase JS SDK, pointed at the node that served us.
import PocketBase, { LocalAuthStore } from "pocketbase";

// The dashboard lives at <base>/_/, so the API is one folder up.
const base = new URL("../", window.location.origin + window.location.pathname).href.replace(/\/$/, "");

// A key of our own, so a superuser session never mixes with an app's user session on the same origin.
export const pb = new PocketBase(base, new LocalAuthStore("__kb_superuser_auth__"));
pb.autoCancellation(false);

/** Signed in as a user of an auth collection (an editor), not a superuser. */
export const isEditor = () => pb.authStore.isValid && !pb.authStore.isSuperuser;

// What an editor may do: the collections come from GET /api/dashboard/collections with `access`
// (for each action, whether its rule is not superuser-only); a superuser's collections have none.
const ALL = { list: true, view: true, create: true, update: true, delete: true };
export const accessOf = (collection) => collection.access || ALL;

// An editor cannot read /api/collections: the related collections come from the editor's list.
let editorCollections = null;
export const setEditorCollections = (list) => { editorCollections = list; };
export function collectionById(id) {
  if (!editorCollections) return pb.collections.getOne(id);
  const found = editorCollections.find((c) => c.id === id);
  return found ? Promise.resolve(found) : Promise.reject(new Error("not an editor's collection"));
}

/** The field errors of a failed request ({name: message}) and its general message. */
export function errorsOf(err) {
  const fields = {};
  // Nested errors (settings: {meta: {appName: {code, message}}}) become "meta.appName".
  const walk = (data, prefix) => {
    for (const [name, problem] of Object.entries(data || {})) {
      if (problem && typeof problem === "object" && !("message" in problem && "code" in problem)) {
        walk(problem, prefix + name + ".");
      } else {
        fields[prefix + name] = problem?.message || String(problem);
      }
    }
  };
  walk(err?.response?.data, "");
  const message = err?.response?.message || err?.message || "Something went wrong.";
  return { message, fields };
}
