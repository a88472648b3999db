import DOMPurify from "dompurify";
import { marked } from "marked";
import { useMemo } from "react";

/** A report's Markdown as HTML, sanitised: its narrative comes from an LLM. */
export function Markdown({ source }: { source: string }) {
  const html = useMemo(
    () => DOMPurify.sanitize(marked.parse(source, { async: false, gfm: true })),
    [source],
  );
  return <div className="markdown" dangerouslySetInnerHTML={{ __html: html }} />;
}
