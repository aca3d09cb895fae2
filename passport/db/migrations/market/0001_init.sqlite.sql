-- The market's listings, offers, sales and sale intents (passport/market/book.py).
CREATE TABLE IF NOT EXISTS listings (
    id TEXT PRIMARY KEY, passport_id TEXT NOT NULL, seller TEXT NOT NULL, asking_price INTEGER NOT NULL,
    currency TEXT NOT NULL, location TEXT NOT NULL, delivery TEXT NOT NULL, notes TEXT,
    summary TEXT NOT NULL, state TEXT NOT NULL, state_reason TEXT,
    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS listings_passport ON listings (passport_id, created_at);
CREATE TABLE IF NOT EXISTS offers (
    id TEXT PRIMARY KEY, listing_id TEXT NOT NULL REFERENCES listings (id), buyer TEXT NOT NULL,
    price INTEGER NOT NULL, conditions TEXT, terms_body TEXT NOT NULL, buyer_signature TEXT NOT NULL,
    state TEXT NOT NULL, created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS offers_listing ON offers (listing_id);
CREATE TABLE IF NOT EXISTS sales (
    sale_id TEXT PRIMARY KEY, offer_id TEXT NOT NULL UNIQUE REFERENCES offers (id),
    listing_id TEXT NOT NULL, passport_id TEXT NOT NULL, seller TEXT NOT NULL, buyer TEXT NOT NULL,
    price INTEGER NOT NULL, currency TEXT NOT NULL, terms_cid TEXT NOT NULL, terms_digest TEXT NOT NULL,
    state TEXT NOT NULL, chemistry TEXT NOT NULL, grade TEXT, soh_band TEXT,
    agreed_at INTEGER NOT NULL, closed_at INTEGER, note TEXT
);
CREATE INDEX IF NOT EXISTS sales_state ON sales (state);
CREATE TABLE IF NOT EXISTS sale_intents (
    sale_id TEXT PRIMARY KEY, offer_id TEXT NOT NULL REFERENCES offers (id), listing_id TEXT NOT NULL,
    terms_digest TEXT NOT NULL, terms_cid TEXT NOT NULL, sale TEXT NOT NULL, state TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sale_intents_state ON sale_intents (state);
