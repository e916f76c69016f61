-- Version 2: back office, lead search, audit trail and idempotent creates.

-- The customer name folded to lower case (Unicode-aware, done by the program) for the
-- case-insensitive name search of GET /leads.
ALTER TABLE leads ADD COLUMN name_folded TEXT NOT NULL DEFAULT '';

CREATE INDEX leads_partner ON leads(partner_id, id);
CREATE INDEX leads_status ON leads(status, id);
CREATE INDEX leads_product ON leads(product_code, id);
CREATE INDEX leads_dsa ON leads(dsa_code, id);
CREATE INDEX leads_updated ON leads(updated_at);
CREATE INDEX leads_created ON leads(created_at);

-- Every change to a lead, append-only: nothing updates or deletes these rows.
CREATE TABLE audit (
    id          INTEGER PRIMARY KEY,
    lead_id     INTEGER NOT NULL REFERENCES leads(id),
    action      TEXT NOT NULL,
    field       TEXT,
    old_value   TEXT,
    new_value   TEXT,
    detail      TEXT,
    key_id      INTEGER,
    created_at  INTEGER NOT NULL
);
CREATE INDEX audit_lead ON audit(lead_id, id);

-- First successful answers to creates sent with an Idempotency-Key, kept 24 hours.
CREATE TABLE idempotency (
    partner_id   INTEGER NOT NULL REFERENCES partners(id),
    key          TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    status       INTEGER NOT NULL,
    body         BLOB NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (partner_id, key)
);
CREATE INDEX idempotency_age ON idempotency(created_at);
