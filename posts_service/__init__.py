"""posts_service: articles and recipes, tags, comments, favorites, feed, search and media."""
