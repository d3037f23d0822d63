-- articlesCount without counting rows: the number of all articles and of each author's,
-- kept by triggers in the transaction of every insert and delete (COPY included), so they
-- are exact whatever writes the rows and cost the writer no round trip.

-- The total is spread over up to 16 slots, chosen by the writing connection, so that
-- concurrent creates do not queue on one row until each other's commit; a reader sums them.
CREATE TABLE article_totals (
    slot smallint PRIMARY KEY,
    articles bigint NOT NULL DEFAULT 0
);

CREATE TABLE author_totals (
    author_id bigint PRIMARY KEY,
    articles bigint NOT NULL DEFAULT 0 CHECK (articles >= 0)
);

INSERT INTO article_totals (slot, articles) SELECT 0, count(*) FROM articles;
INSERT INTO author_totals (author_id, articles)
SELECT author_id, count(*) FROM articles GROUP BY author_id;

-- Statement-level, over the transition table: a bulk insert updates each row once.
CREATE FUNCTION count_articles() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    sign integer := CASE WHEN TG_OP = 'INSERT' THEN 1 ELSE -1 END;
    changed bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT count(*) INTO changed FROM new_rows;
    ELSE
        SELECT count(*) INTO changed FROM old_rows;
    END IF;
    IF changed = 0 THEN
        RETURN NULL;
    END IF;
    INSERT INTO article_totals AS t (slot, articles)
    VALUES (pg_backend_pid() % 16, sign * changed)
    ON CONFLICT (slot) DO UPDATE SET articles = t.articles + EXCLUDED.articles;
    -- Authors in id order, so that concurrent statements lock them in the same order.
    IF TG_OP = 'INSERT' THEN
        INSERT INTO author_totals AS t (author_id, articles)
        SELECT author_id, count(*) FROM new_rows GROUP BY author_id ORDER BY author_id
        ON CONFLICT (author_id) DO UPDATE SET articles = t.articles + EXCLUDED.articles;
    ELSE
        UPDATE author_totals AS t SET articles = t.articles - gone.n
        FROM (SELECT author_id, count(*) AS n FROM old_rows GROUP BY author_id
              ORDER BY author_id) AS gone
        WHERE t.author_id = gone.author_id;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER articles_counted_on_insert AFTER INSERT ON articles
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION count_articles();
CREATE TRIGGER articles_counted_on_delete AFTER DELETE ON articles
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION count_articles();

-- Emptied with the table (as the tests do between cases).
CREATE FUNCTION uncount_articles() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    DELETE FROM article_totals;
    DELETE FROM author_totals;
    RETURN NULL;
END
$$;

CREATE TRIGGER articles_uncounted_on_truncate AFTER TRUNCATE ON articles
    FOR EACH STATEMENT EXECUTE FUNCTION uncount_articles();
