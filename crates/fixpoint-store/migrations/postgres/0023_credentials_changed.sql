-- Servers keep the API keys and access tokens they looked up in memory and forget them
-- when told: any change to a key or a token (a revocation, a delete, from any server,
-- the CLI or by hand) tells every server listening on the channel. New rows need no
-- word: a server remembers only what it found.
CREATE FUNCTION fixpoint_credentials_changed() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('fixpoint_credentials', TG_TABLE_NAME);
    RETURN NULL;
END $$;
CREATE TRIGGER api_keys_changed AFTER UPDATE OR DELETE OR TRUNCATE ON api_keys FOR EACH STATEMENT EXECUTE FUNCTION fixpoint_credentials_changed();
CREATE TRIGGER access_tokens_changed AFTER UPDATE OR DELETE OR TRUNCATE ON access_tokens FOR EACH STATEMENT EXECUTE FUNCTION fixpoint_credentials_changed();
