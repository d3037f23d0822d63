export { isSafeUrl, renderMarkdown } from "./markdown";
