// The one API client: the official PocketBase JS SDK, pointed at the node that served us.
import PocketBase, { LocalAuthStore } from "pocketbase";

// The dashboard lives at <base>/_/, so the API is one folder up.
const base = new URL("../", window.location.origin + window.location.pathname).href.replace(/\/$/, "");

// A key of our own, so a superuser session never mixes with an app's user session on the same origin.
export const pb = new PocketBase(base, new LocalAuthStore("__kb_superuser_auth__"));
pb.autoCancellation(false);

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
