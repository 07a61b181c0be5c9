// The rich text editor of `editor` fields: Quill 2 (core and a few formats, no theme), a chunk of
// its own, imported by richtext.jsx only when a record panel with an editor field opens.
import Quill from "quill/core";
import Bold from "quill/formats/bold";
import Italic from "quill/formats/italic";
import Underline from "quill/formats/underline";
import Link from "quill/formats/link";
import Header from "quill/formats/header";
import { ListContainer, default as ListItem } from "quill/formats/list";
import Strike from "quill/formats/strike";
import Blockquote from "quill/formats/blockquote";
import Image from "quill/formats/image";
import { Code, CodeBlockContainer, default as CodeBlock } from "quill/formats/code";
import Table from "quill/modules/table";

// The toolbar's formats, and a few more kept when a value written elsewhere is loaded and edited.
Quill.register({
  "formats/bold": Bold, "formats/italic": Italic, "formats/underline": Underline, "formats/link": Link,
  "formats/header": Header, "formats/list": ListItem, "formats/list-container": ListContainer,
  "formats/strike": Strike, "formats/blockquote": Blockquote, "formats/image": Image, "formats/code": Code,
  "formats/code-block": CodeBlock, "formats/code-block-container": CodeBlockContainer,
  "modules/table": Table, // registers the table formats too
}, true);

export const FORMATS = [
  "bold", "italic", "underline", "link", "header", "list", "strike", "blockquote", "image", "code", "code-block",
  "table", "table-row", "table-body", "table-container",
];

/**
 * An editor in `host` holding the HTML `value`; `onHtml(html)` after each change ("" when empty),
 * `onFormats(formats)` when the selection's formats change. The editing area is named by `attrs`.
 */
export function createEditor(host, value, attrs, onHtml, onFormats) {
  const quill = new Quill(host, { formats: FORMATS, modules: { table: true } });
  if (value) quill.setContents(quill.clipboard.convert({ html: value }), "silent");
  for (const [k, v] of Object.entries(attrs)) if (v) quill.root.setAttribute(k, v);
  quill.root.setAttribute("role", "textbox");
  quill.root.setAttribute("aria-multiline", "true");
  quill.on("text-change", () => {
    // Quill 2.0.3's getSemanticHTML writes every space as &nbsp; (core/editor.js, convertHTML): undone here. Only
    // its own entities are touched: text typed as "&nbsp;" comes out as "&amp;nbsp;".
    onHtml(quill.getLength() <= 1 ? "" : quill.getSemanticHTML().replaceAll("&nbsp;", " "));
  });
  quill.on("editor-change", () => {
    const range = quill.getSelection();
    if (range) onFormats(quill.getFormat(range));
  });
  return quill;
}
