// The one API client: the official PocketBase JS SDK, pointed at the node that served us.
import PocketBase, { LocalAuthStore } from "pocketbase";

// The dashboard lives at <base>/_/, so the API is one folder up.
const base = new URL("../", window.location.origin + window.location.pathname).href.replace(/\/$/, "");

// A key of our own, so a superuser session never mixes with an app's user session on the same origin.
export const pb = new PocketBase(base, new LocalAuthStore("__kb_superuser_auth__"));
pb.autoCancellation(false);

/** The field errors of a failed request ({name: message}) and its general message. */
export function errorsOf(err) {
  const data = err?.response?.data || {};
  const fields = {};
  for (const [name, problem] of Object.entries(data)) {
    fields[name] = problem?.message || String(problem);
  }
  const message = err?.response?.message || err?.message || "Something went wrong.";
  return { message, fields };
}
