// A small history router: real paths (`/article/<slug>`), no hash. Links are plain <a href>;
// a click on one of ours is caught once for the whole page (see `interceptLinks`).

export interface Location {
  path: string;
  query: URLSearchParams;
}

class Router {
  path = $state("/");
  query = $state(new URLSearchParams());
  /** Increases on every navigation, so screens can tell a new visit from a re-render. */
  visit = $state(0);

  constructor() {
    if (typeof window !== "undefined") {
      this.read();
      window.addEventListener("popstate", () => this.read());
    }
  }

  private read(): void {
    this.path = decodeURI(window.location.pathname) || "/";
    this.query = new URLSearchParams(window.location.search);
    this.visit += 1;
  }

  /** Goes to `to` (a path with an optional query), adding a history entry unless `replace`. */
  navigate(to: string, { replace = false }: { replace?: boolean } = {}): void {
    const url = new URL(to, window.location.href);
    if (url.origin !== window.location.origin) {
      window.location.assign(url.href);
      return;
    }
    const target = url.pathname + url.search + url.hash;
    if (replace) window.history.replaceState(null, "", target);
    else window.history.pushState(null, "", target);
    this.read();
  }
}

export const router = new Router();

export function navigate(to: string, options?: { replace?: boolean }): void {
  router.navigate(to, options);
}

/**
 * Matches a path against a pattern with `:name` segments and a trailing `*` (the rest of the
 * path): `match("/article/:slug", "/article/pie")` is `{ slug: "pie" }`, null when it differs.
 */
export function match(pattern: string, path: string): Record<string, string> | null {
  const parts = pattern.split("/").filter(Boolean);
  const segments = path.split("/").filter(Boolean);
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (part === "*") {
      params["rest"] = segments.slice(i).join("/");
      return params;
    }
    const segment = segments[i];
    if (segment === undefined) return null;
    if (part.startsWith(":")) params[part.slice(1)] = segment;
    else if (part !== segment) return null;
  }
  return segments.length === parts.length ? params : null;
}

/** Routes clicks on same-origin links through the router (not new tabs, downloads, modified clicks). */
export function interceptLinks(root: HTMLElement | Document = document): () => void {
  const onClick = (event: Event) => {
    const mouse = event as MouseEvent;
    if (mouse.defaultPrevented || mouse.button !== 0) return;
    if (mouse.metaKey || mouse.ctrlKey || mouse.shiftKey || mouse.altKey) return;
    const anchor = (mouse.target as Element | null)?.closest?.("a");
    if (!anchor || anchor.hasAttribute("download") || anchor.dataset["external"] !== undefined) {
      return;
    }
    if (anchor.target && anchor.target !== "_self") return;
    const href = anchor.getAttribute("href");
    if (!href || href.startsWith("#")) return;
    const url = new URL(anchor.href, window.location.href);
    if (url.origin !== window.location.origin || url.pathname.startsWith("/api/")) return;
    mouse.preventDefault();
    navigate(url.pathname + url.search + url.hash);
  };
  root.addEventListener("click", onClick);
  return () => root.removeEventListener("click", onClick);
}
