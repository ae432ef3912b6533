-- PostgreSQL's twin turns the report rollup's insert trigger into one per statement.
-- SQLite has row triggers only: its rollup stays as 0015 made it.
SELECT 1;
