// One list of articles page by page: the first page, then "Load more" with the answer's
// nextCursor (as `before`), or with offsets where the API gives no cursor (search).
import { ApiError, call, client, errorSentence, type Article } from "$lib/api";

export interface ArticleQuery {
  /** Followed authors' articles (`/api/articles/feed`) instead of everyone's. */
  feed?: boolean;
  tag?: string;
  author?: string;
  favorited?: string;
  q?: string;
}

const PAGE = 12;

export class Pager {
  articles = $state<Article[]>([]);
  total = $state(0);
  loading = $state(false);
  error = $state<string | null>(null);
  private cursor: string | null = null;
  private ended = $state(false);
  private generation = 0;
  private readonly query: ArticleQuery;

  constructor(query: ArticleQuery) {
    this.query = query;
  }

  get hasMore(): boolean {
    return !this.ended && this.articles.length < this.total;
  }

  /** Starts again from the first page. */
  reload(): Promise<void> {
    this.generation += 1;
    this.articles = [];
    this.total = 0;
    this.cursor = null;
    this.ended = false;
    return this.fetch(this.generation);
  }

  more(): Promise<void> {
    if (this.loading || !this.hasMore) return Promise.resolve();
    return this.fetch(this.generation);
  }

  private async fetch(generation: number): Promise<void> {
    this.loading = true;
    this.error = null;
    const { feed, ...filters } = this.query;
    const paging = this.cursor
      ? { before: this.cursor }
      : this.articles.length
        ? { offset: this.articles.length }
        : {};
    try {
      const page = feed
        ? await call(
            client.GET("/api/articles/feed", { params: { query: { limit: PAGE, ...paging } } }),
          )
        : await call(
            client.GET("/api/articles", {
              params: { query: { limit: PAGE, ...clean(filters), ...paging } },
            }),
          );
      if (generation !== this.generation) return;
      const seen = new Set(this.articles.map((a) => a.slug));
      this.articles = [...this.articles, ...page.articles.filter((a) => !seen.has(a.slug))];
      this.total = page.articlesCount;
      this.cursor = page.nextCursor ?? null;
      // Search answers have no cursor: they page by offset until a page comes back empty.
      if (filters.q ? page.articles.length === 0 : !page.nextCursor) this.ended = true;
    } catch (error) {
      if (generation !== this.generation) return;
      this.error =
        error instanceof ApiError && error.status === 401
          ? "Sign in to see your feed."
          : errorSentence(error);
    } finally {
      if (generation === this.generation) this.loading = false;
    }
  }
}

function clean(filters: Omit<ArticleQuery, "feed">): Omit<ArticleQuery, "feed"> {
  const out: Omit<ArticleQuery, "feed"> = {};
  for (const [key, value] of Object.entries(filters) as [keyof typeof out, string | undefined][]) {
    if (value) out[key] = value;
  }
  return out;
}
