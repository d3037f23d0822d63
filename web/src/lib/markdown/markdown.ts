// Markdown of recipes and comments to HTML that is safe to insert: raw HTML in the source is shown
// as text (markdown-it with `html: false`), links go only to http(s), mailto or our own paths,
// and images load only from our own origin (anything else becomes a plain link).
import MarkdownIt from "markdown-it";

const SAFE_URL = /^(https?:\/\/|mailto:|\/(?!\/)|#|\.{0,2}\/|[^:/?#]+(?:[/?#]|$))/i;

/** True for a link target we allow: http(s), mailto, or a relative URL (no script schemes). */
export function isSafeUrl(url: string): boolean {
  // Browsers ignore tabs, newlines and leading control characters in a scheme: "java\tscript:".
  // eslint-disable-next-line no-control-regex
  const compact = url.replace(/[\u0000-\u0020\u007f-\u009f]/g, "");
  if (!compact) return false;
  return SAFE_URL.test(compact);
}

function isOwnPath(url: string): boolean {
  return url.startsWith("/") && !url.startsWith("//") && !url.startsWith("/\\");
}

const md = new MarkdownIt({ html: false, linkify: true, typographer: true, breaks: false });

md.validateLink = isSafeUrl;

const defaultLinkOpen =
  md.renderer.rules.link_open ??
  ((tokens, idx, options, _env, self) => self.renderToken(tokens, idx, options));

md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
  const token = tokens[idx]!;
  const href = String(token.attrGet("href") ?? "");
  if (/^https?:\/\//i.test(href)) {
    token.attrSet("rel", "nofollow noopener noreferrer");
    token.attrSet("target", "_blank");
  }
  return defaultLinkOpen(tokens, idx, options, env, self);
};

md.renderer.rules.image = (tokens, idx, options, _env, self) => {
  const token = tokens[idx]!;
  const src = String(token.attrGet("src") ?? "");
  const alt = String(self.renderInlineAsText(token.children ?? [], options, _env));
  if (isOwnPath(src)) {
    return `<img src="${md.utils.escapeHtml(src)}" alt="${md.utils.escapeHtml(alt)}" loading="lazy">`;
  }
  // Pictures from elsewhere are not loaded (our pages load nothing from another origin).
  const label = md.utils.escapeHtml(alt || src);
  return `<a href="${md.utils.escapeHtml(src)}" rel="nofollow noopener noreferrer" target="_blank">${label}</a>`;
};

/** The HTML of a Markdown text; safe to insert with {@html}. */
export function renderMarkdown(source: string): string {
  return md.render(source);
}
