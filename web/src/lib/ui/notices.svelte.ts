// The banner area at the top of every page (aria-live): connection lost, a call that failed,
// a short confirmation. Any screen (or the websocket client) may show and clear its notice.

export type NoticeKind = "error" | "warning" | "info" | "success";

export interface Notice {
  id: string;
  kind: NoticeKind;
  text: string;
}

class Notices {
  list = $state<Notice[]>([]);
  private timers = new Map<string, ReturnType<typeof setTimeout>>();

  /** Shows (or replaces) the notice `id`; `forMs` hides it after a while. */
  show(id: string, text: string, kind: NoticeKind = "info", forMs?: number): void {
    const notice = { id, kind, text };
    const at = this.list.findIndex((n) => n.id === id);
    if (at >= 0) this.list[at] = notice;
    else this.list.push(notice);
    clearTimeout(this.timers.get(id));
    if (forMs)
      this.timers.set(
        id,
        setTimeout(() => this.clear(id), forMs),
      );
  }

  clear(id: string): void {
    clearTimeout(this.timers.get(id));
    this.timers.delete(id);
    this.list = this.list.filter((n) => n.id !== id);
  }
}

export const notices = new Notices();
