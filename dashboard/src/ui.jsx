// Small shared pieces.

export function FieldError({ message, id }) {
  if (!message) return null;
  return <p class="field-error" id={id} role="alert">{message}</p>;
}
