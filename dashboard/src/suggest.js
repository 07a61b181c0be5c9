// Suggestions for the filter language at the caret: field names and relation paths
// (author.name, comments_via_post.title), @request.*, @collection.<name>.*, macros, modifiers and
// operators. Pure: given the text, the caret and the schema, it says what may come next and which
// part of the text a choice replaces.

export const MACROS = ["@now", "@second", "@minute", "@hour", "@weekday", "@day", "@month", "@year",
  "@yesterday", "@tomorrow", "@todayStart", "@todayEnd", "@monthStart", "@monthEnd", "@yearStart", "@yearEnd"];

export const OPERATORS = [
  ["=", "equal"], ["!=", "not equal"], [">", "greater than"], [">=", "greater than or equal"],
  ["<", "less than"], ["<=", "less than or equal"], ["~", "like / contains"], ["!~", "not like"],
  ["?=", "any equal"], ["?!=", "any not equal"], ["?>", "any greater than"], ["?>=", "any greater or equal"],
  ["?<", "any less than"], ["?<=", "any less or equal"], ["?~", "any like"], ["?!~", "any not like"],
  ["&&", "and"], ["||", "or"],
];

const MODIFIERS = [[":lower", "lower case"], [":length", "number of items"], [":each", "every item"]];
const BODY_MODIFIERS = [[":isset", "sent in the request"], [":changed", "sent and different"], ...MODIFIERS];
// Never worth suggesting from an auth record.
const SECRET = new Set(["password", "tokenKey"]);

const byId = (collections, idOrName) => collections.find((c) => c.id === idOrName || c.name === idOrName);

/** The names reachable from a collection one dot at a time: its fields, and back-relations. */
function members(collection, collections) {
  const out = [];
  for (const f of collection.fields || []) {
    if (!f.name || SECRET.has(f.name)) continue;
    out.push({ value: f.name, hint: f.type, target: f.type === "relation" ? byId(collections, f.collectionId) : null });
  }
  // Back-relations: other collections' relation fields that point here (comments_via_post).
  for (const other of collections) {
    for (const f of other.fields || []) {
      if (f.type === "relation" && collection.id && f.collectionId === collection.id) {
        out.push({ value: `${other.name}_via_${f.name}`, hint: "back-relation", target: other });
      }
    }
  }
  return out;
}

/** Walks "author.org." to the collection it ends in, or null. */
function walk(start, segments, collections) {
  let here = start;
  for (const name of segments) {
    const next = members(here, collections).find((m) => m.value === name);
    if (!next || !next.target) return null;
    here = next.target;
  }
  return here;
}

/** Every auth collection's fields as one, for @request.auth.* (the caller may be any of them). */
function authRecord(collections) {
  const fields = [{ name: "collectionId", type: "text" }, { name: "collectionName", type: "text" }];
  for (const c of collections.filter((c) => c.type === "auth")) {
    for (const f of c.fields || []) if (!fields.some((g) => g.name === f.name)) fields.push(f);
  }
  return { fields };
}

function insideString(before) {
  let quote = "";
  for (const ch of before) {
    if (quote) { if (ch === quote) quote = ""; } else if (ch === '"' || ch === "'") quote = ch;
  }
  return !!quote;
}

/** Completions of a dotted token: the part before its last dot walked, the last part matched. */
function pathItems(prefix, start, rest, collections, modifiers) {
  const parts = rest.split(".");
  const last = parts.pop();
  const at = walk(start, parts, collections);
  if (!at) return [];
  const [name, modifier] = last.split(":");
  const base = prefix + (parts.length ? parts.join(".") + "." : "");
  if (modifier !== undefined) return modifiers.map(([m, hint]) => ({ value: base + name + m, hint }));
  return members(at, collections).flatMap((m) => {
    const item = { value: base + m.value, hint: m.hint };
    return m.target ? [item, { value: base + m.value + ".", hint: "fields of " + m.target.name }] : [item];
  });
}

function identifierItems(token, { collection, collections, rules }) {
  if (token.startsWith("@request.auth.")) {
    return pathItems("@request.auth.", authRecord(collections), token.slice(14), collections, MODIFIERS);
  }
  if (token.startsWith("@request.body.")) {
    return pathItems("@request.body.", collection, token.slice(14), collections, BODY_MODIFIERS);
  }
  if (token.startsWith("@collection.")) {
    const rest = token.slice(12);
    const dot = rest.indexOf(".");
    if (dot < 0) return collections.map((c) => ({ value: "@collection." + c.name + ".", hint: c.type + " collection" }));
    const target = byId(collections, rest.slice(0, dot).split(":")[0]);
    if (!target) return [];
    return pathItems("@collection." + rest.slice(0, dot + 1), target, rest.slice(dot + 1), collections, MODIFIERS);
  }
  if (token.startsWith("@")) {
    const request = rules
      ? [["@request.auth.", "the signed-in record"], ["@request.body.", "the sent data"],
        ["@request.query.", "query parameters"], ["@request.headers.", "headers (lower case, _ for -)"],
        ["@request.method", "GET, POST…"], ["@request.context", "default, oauth2, otp, password, realtime, protectedFile"]]
      : [["@request.auth.", "the signed-in record"]];
    return [...request.map(([value, hint]) => ({ value, hint })),
      { value: "@collection.", hint: "another collection" },
      ...MACROS.map((value) => ({ value, hint: "macro" }))];
  }
  const items = pathItems("", collection, token, collections, MODIFIERS);
  if (!token.includes(".") && !token.includes(":")) {
    items.push({ value: "@request.auth.", hint: "the signed-in record" });
    if (rules) items.push({ value: "@request.body.", hint: "the sent data" });
    items.push({ value: "@collection.", hint: "another collection" }, ...MACROS.map((value) => ({ value, hint: "macro" })));
  }
  return items;
}

/**
 * What may come at `caret` in `text`. Returns {items: [{value, hint}], from, to, auto}: a chosen
 * value replaces text[from:to]; `auto` says whether to open the list unasked (while a name is
 * typed, or after "name " where an operator comes), so pasting a whole filter opens nothing.
 */
export function suggest(text, caret, context) {
  const before = text.slice(0, caret);
  const none = { items: [], from: caret, to: caret, auto: false };
  if (insideString(before)) return none;
  const token = /[\w.@:]*$/.exec(before)[0];
  const from = caret - token.length;
  const after = /^[\w.@:]*/.exec(text.slice(caret))[0];
  const to = caret + after.length;
  if (!token) {
    const previous = /(\S+)\s*$/.exec(before)?.[1] || "";
    const afterOperand = previous && !/^[=!<>~?&|(]+$/.test(previous) && !/[(,]$/.test(previous);
    if (afterOperand && /\s$/.test(before)) {
      return { items: OPERATORS.map(([value, hint]) => ({ value, hint, operator: true })), from, to: caret, auto: true };
    }
    if (afterOperand) return none;
    return { items: identifierItems("", context), from, to, auto: false };
  }
  if (/^[\d.]+$/.test(token)) return none;
  const lower = token.toLowerCase();
  const all = identifierItems(token, context);
  const starts = all.filter((i) => i.value.toLowerCase().startsWith(lower));
  const contains = all.filter((i) => !starts.includes(i) && i.value.toLowerCase().includes(lower));
  const items = [...starts, ...contains].filter((i) => i.value !== token).slice(0, 50);
  return { items, from, to, auto: items.length > 0 };
}

/** The text after choosing `item`, and where the caret goes. */
export function apply(text, found, item) {
  let value = item.value;
  let head = text.slice(0, found.from);
  if (item.operator) {
    if (head && !/\s$/.test(head)) head += " ";
    value += " ";
  }
  const next = head + value + text.slice(found.to);
  return { text: next, caret: head.length + value.length };
}
