// Settings → Rate limits: the rules as a form, one row a rule (label, most requests, period,
// audience), as PocketBase's dashboard shows them. The API checks them; its errors name
// "rateLimits.rules.N.field" and are shown next to that input.

const AUDIENCES = [["", "Everyone"], ["@guest", "Guests only"], ["@auth", "Signed-in only"]];

export function RateLimitRules({ rules, onChange, errors }) {
  const list = Array.isArray(rules) ? rules : [];
  const change = (i, name, value) => onChange(list.map((r, j) => (j === i ? { ...r, [name]: value } : r)));
  const input = (i, name, label, props) => {
    const id = `rate-rule-${i}-${name}`;
    const error = errors[`rateLimits.rules.${i}.${name}`];
    return (
      <td>
        <input id={id} aria-label={`${label} (rule ${i + 1})`} value={list[i][name] ?? ""}
          aria-invalid={error ? "true" : undefined} aria-describedby={error ? id + "-error" : undefined}
          {...props} />
        {error && <p class="field-error" id={id + "-error"} role="alert">{error}</p>}
      </td>
    );
  };
  return (
    <div class="field rate-rules">
      <table>
        <caption>Rules: a label is a path prefix (<code>/api/</code>), a method and path
          (<code>POST /api/batch</code>) or a collection and action (<code>posts:create</code>,{" "}
          <code>*:auth</code>)</caption>
        <thead>
          <tr><th scope="col">Label</th><th scope="col">Most requests</th><th scope="col">Per seconds</th>
            <th scope="col">Audience</th><th scope="col"><span class="sr-only">Remove</span></th></tr>
        </thead>
        <tbody>
          {list.map((rule, i) => (
            <tr key={i}>
              {input(i, "label", "Label", { type: "text", onInput: (e) => change(i, "label", e.currentTarget.value) })}
              {input(i, "maxRequests", "Most requests", {
                type: "number", min: 1, onInput: (e) => change(i, "maxRequests", Number(e.currentTarget.value)) })}
              {input(i, "duration", "Per seconds", {
                type: "number", min: 1, onInput: (e) => change(i, "duration", Number(e.currentTarget.value)) })}
              <td>
                <select aria-label={`Audience (rule ${i + 1})`} value={rule.audience || ""}
                  onChange={(e) => change(i, "audience", e.currentTarget.value)}>
                  {AUDIENCES.map(([value, text]) => <option key={value} value={value}>{text}</option>)}
                </select>
              </td>
              <td>
                <button type="button" class="secondary" aria-label={`Remove rule ${i + 1}`}
                  onClick={() => onChange(list.filter((_, j) => j !== i))}>
                  Remove
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <button type="button" class="secondary"
        onClick={() => onChange([...list, { label: "", maxRequests: 100, duration: 60, audience: "" }])}>
        Add rule
      </button>
    </div>
  );
}
