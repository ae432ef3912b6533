-- PostgreSQL's twin tells listening servers when API keys or access tokens change, so
-- that they may keep them in memory. A SQLite server reads them at each request (a
-- lookup in the process itself): nothing to tell.
SELECT 1;
