-- dhanita schema, version 1. Applied by db::migrate inside one transaction; later changes are
-- appended as new migrations in src/db/mod.rs, never edited here in place.

CREATE TABLE partners (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);

CREATE TABLE api_keys (
    id          INTEGER PRIMARY KEY,
    partner_id  INTEGER NOT NULL REFERENCES partners(id),
    role        TEXT NOT NULL CHECK (role IN ('partner', 'admin')),
    dsa_code    TEXT,
    key_hash    TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);

CREATE TABLE categories (
    name      TEXT PRIMARY KEY,
    position  INTEGER NOT NULL UNIQUE
);

CREATE TABLE products (
    code      TEXT PRIMARY KEY,
    name      TEXT NOT NULL UNIQUE COLLATE NOCASE,
    category  TEXT NOT NULL REFERENCES categories(name),
    status    TEXT NOT NULL CHECK (status IN ('active', 'inactive')),
    position  INTEGER NOT NULL
);

CREATE TABLE document_types (
    code      TEXT PRIMARY KEY,
    name      TEXT NOT NULL,
    position  INTEGER NOT NULL
);

CREATE TABLE product_documents (
    product_code   TEXT NOT NULL REFERENCES products(code),
    document_type  TEXT NOT NULL REFERENCES document_types(code),
    position       INTEGER NOT NULL,
    PRIMARY KEY (product_code, document_type)
);

CREATE TABLE statuses (
    code      TEXT PRIMARY KEY,
    label     TEXT NOT NULL,
    message   TEXT NOT NULL,
    position  INTEGER NOT NULL UNIQUE
);

CREATE TABLE rms (
    id      INTEGER PRIMARY KEY,
    name    TEXT NOT NULL,
    mobile  TEXT NOT NULL,
    email   TEXT NOT NULL,
    active  INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE lenders (
    id    INTEGER PRIMARY KEY,
    name  TEXT NOT NULL UNIQUE
);

CREATE TABLE lender_products (
    lender_id     INTEGER NOT NULL REFERENCES lenders(id),
    product_code  TEXT NOT NULL REFERENCES products(code),
    status        TEXT NOT NULL DEFAULT 'active',
    PRIMARY KEY (product_code, lender_id)
);

-- Named counters: the document sequence and the RM round-robin cursor.
CREATE TABLE counters (
    name   TEXT PRIMARY KEY,
    value  INTEGER NOT NULL
);

-- The last lead number handed out on each local day (YYYYMMDD).
CREATE TABLE lead_days (
    day   TEXT PRIMARY KEY,
    last  INTEGER NOT NULL
);

CREATE TABLE leads (
    id                   INTEGER PRIMARY KEY,
    lead_id              TEXT NOT NULL UNIQUE,
    partner_id           INTEGER NOT NULL REFERENCES partners(id),
    product_code         TEXT NOT NULL REFERENCES products(code),
    customer_name        TEXT NOT NULL,
    mobile               TEXT NOT NULL,
    email                TEXT,
    loan_amount          INTEGER,
    city                 TEXT,
    dsa_code             TEXT,
    status               TEXT NOT NULL REFERENCES statuses(code),
    rm_id                INTEGER REFERENCES rms(id),
    lender_id            INTEGER REFERENCES lenders(id),
    lender_status        TEXT,
    approved_amount      INTEGER,
    disbursement_status  TEXT NOT NULL DEFAULT 'not_started',
    disbursement_date    TEXT,
    created_by_key       INTEGER NOT NULL,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
);
CREATE INDEX leads_mobile ON leads(mobile, product_code);

-- Document types still awaited for a lead.
CREATE TABLE lead_pending_documents (
    lead_id        INTEGER NOT NULL REFERENCES leads(id),
    document_type  TEXT NOT NULL REFERENCES document_types(code),
    PRIMARY KEY (lead_id, document_type)
) WITHOUT ROWID;

-- Every status change, append-only.
CREATE TABLE journey (
    id          INTEGER PRIMARY KEY,
    lead_id     INTEGER NOT NULL REFERENCES leads(id),
    from_status TEXT,
    status      TEXT NOT NULL,
    note        TEXT NOT NULL,
    key_id      INTEGER,
    created_at  INTEGER NOT NULL
);
CREATE INDEX journey_lead ON journey(lead_id, id);

CREATE TABLE documents (
    id             INTEGER PRIMARY KEY,
    document_id    TEXT NOT NULL UNIQUE,
    lead_id        INTEGER NOT NULL REFERENCES leads(id),
    document_type  TEXT NOT NULL REFERENCES document_types(code),
    status         TEXT NOT NULL CHECK (status IN ('uploaded', 'verified', 'rejected')),
    sha256         TEXT NOT NULL,
    size           INTEGER NOT NULL,
    content_type   TEXT NOT NULL,
    filename       TEXT NOT NULL,
    key_id         INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE INDEX documents_lead ON documents(lead_id, id);
CREATE INDEX documents_sha ON documents(sha256);

CREATE TABLE notes (
    id          INTEGER PRIMARY KEY,
    lead_id     INTEGER NOT NULL REFERENCES leads(id),
    note_type   TEXT NOT NULL,
    note        TEXT NOT NULL,
    key_id      INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX notes_lead ON notes(lead_id, id);
