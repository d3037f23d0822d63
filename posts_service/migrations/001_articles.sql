CREATE TABLE articles (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug text NOT NULL UNIQUE,
    title text NOT NULL,
    description text NOT NULL,
    body text NOT NULL,
    author_id bigint NOT NULL,
    complexity text CHECK (complexity IN ('easy', 'medium', 'hard')),
    cooking_minutes integer CHECK (cooking_minutes >= 0),
    ingredients jsonb NOT NULL DEFAULT '[]',
    media text[] NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    search tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', title), 'A')
        || setweight(to_tsvector('english', description), 'B')
        || setweight(to_tsvector('english', body), 'C')
    ) STORED
);

-- The global list, newest first.
CREATE INDEX articles_newest ON articles (created_at DESC, id DESC);
-- By author (the author filter and the feed), newest first.
CREATE INDEX articles_by_author ON articles (author_id, created_at DESC, id DESC);
-- Full-text search over title, description and body.
CREATE INDEX articles_search ON articles USING gin (search);

CREATE TABLE tags (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL UNIQUE,
    -- Kept in the transaction of each article change: "most used first" never counts rows.
    article_count integer NOT NULL DEFAULT 0 CHECK (article_count >= 0)
);

CREATE INDEX tags_most_used ON tags (article_count DESC, name);

-- created_at is copied from the article so that a tag's page is read from one index.
CREATE TABLE article_tags (
    article_id bigint NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    tag_id bigint NOT NULL REFERENCES tags (id),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (article_id, tag_id)
);

-- By tag, newest first.
CREATE INDEX article_tags_by_tag ON article_tags (tag_id, created_at DESC, article_id DESC);

CREATE TABLE comments (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    article_id bigint NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    author_id bigint NOT NULL,
    body text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- An article's comments, oldest first.
CREATE INDEX comments_by_article ON comments (article_id, id);
-- A deleted user's comments.
CREATE INDEX comments_by_author ON comments (author_id);

CREATE TABLE media (
    id text PRIMARY KEY,
    owner_id bigint NOT NULL,
    content_type text NOT NULL,
    size integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
