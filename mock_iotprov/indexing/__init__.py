"""Fleet indexing: the indexing configuration, the query language (pure) and SearchIndex."""
