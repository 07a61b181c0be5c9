// Hash routes (#/collections/posts): the mail templates link to /_/#/auth/..., so hash routing
// is part of the public contract, and it needs nothing from the server.
import { useEffect, useState } from "preact/hooks";

// Hash changes so far, counted before any component hears of one.
let navigations = 0;
window.addEventListener("hashchange", () => navigations++);
export const navigationCount = () => navigations;

export function currentPath() {
  return window.location.hash.replace(/^#/, "") || "/";
}

export function useHashPath() {
  const [path, setPath] = useState(currentPath());
  useEffect(() => {
    const update = () => setPath(currentPath());
    window.addEventListener("hashchange", update);
    // A change made before this effect ran (a navigate() during the first render, when a kept
    // session opens /_/) fired no event we heard: read the hash once now.
    update();
    return () => window.removeEventListener("hashchange", update);
  }, []);
  return path;
}

export function navigate(path) {
  window.location.hash = "#" + path;
}

/** Match "/collections/:name" against a path; returns the params or null. */
export function match(pattern, path) {
  const want = pattern.split("/");
  const got = path.split("?")[0].split("/");
  if (want.length !== got.length) return null;
  const params = {};
  for (let i = 0; i < want.length; i++) {
    if (want[i].startsWith(":")) params[want[i].slice(1)] = decodeURIComponent(got[i]);
    else if (want[i] !== got[i]) return null;
  }
  return params;
}
