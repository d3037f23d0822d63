// Where images come from: the API's own paths, made relative so they load from the page's
// origin (the Content-Security-Policy allows nothing else), whatever host the API wrote in.

const OWN_PATHS = ["/api/static/", "/api/media/", "/api/chat/attachments/"];

/** The URL to put in an <img src>, or null for none (nothing from another origin is loaded). */
export function imageSrc(url: string | null | undefined): string | null {
  if (!url) return null;
  if (url.startsWith("/") && !url.startsWith("//")) return url;
  try {
    const parsed = new URL(url);
    if (OWN_PATHS.some((p) => parsed.pathname.startsWith(p)))
      return parsed.pathname + parsed.search;
    if (typeof window !== "undefined" && parsed.origin === window.location.origin) {
      return parsed.pathname + parsed.search;
    }
  } catch {
    return null;
  }
  return null;
}

/** The image of an article's media id. */
export function mediaSrc(id: string): string {
  return `/api/media/${encodeURIComponent(id)}`;
}

export const DEFAULT_AVATAR = "/api/static/avatar.svg";

export function avatarSrc(url: string | null | undefined): string {
  return imageSrc(url) ?? DEFAULT_AVATAR;
}
