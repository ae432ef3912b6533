-- The client's contact who wrote a note (a customer's reply), so that only a
-- technician's external note counts as the first response.
ALTER TABLE notes ADD COLUMN contact_id INTEGER REFERENCES contacts(id);
