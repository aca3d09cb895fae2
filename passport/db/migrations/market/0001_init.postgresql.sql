-- The market's listings, offers, sales and sale intents (passport/market/book.py). ``seq`` orders
-- listings of one passport created in the same second (SQLite uses its rowid). COLLATE "C": ids sort
-- byte-wise, as on SQLite.
CREATE TABLE listings (
    id TEXT COLLATE "C" PRIMARY KEY, passport_id TEXT NOT NULL, seller TEXT NOT NULL,
    asking_price BIGINT NOT NULL, currency TEXT NOT NULL, location TEXT NOT NULL, delivery TEXT NOT NULL,
    notes TEXT, summary TEXT NOT NULL, state TEXT NOT NULL, state_reason TEXT,
    created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,
    seq BIGINT GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX listings_passport ON listings (passport_id, created_at);
CREATE TABLE offers (
    id TEXT COLLATE "C" PRIMARY KEY, listing_id TEXT NOT NULL REFERENCES listings (id),
    buyer TEXT NOT NULL, price BIGINT NOT NULL, conditions TEXT, terms_body TEXT NOT NULL,
    buyer_signature TEXT NOT NULL, state TEXT NOT NULL, created_at BIGINT NOT NULL
);
CREATE INDEX offers_listing ON offers (listing_id);
CREATE TABLE sales (
    sale_id TEXT COLLATE "C" PRIMARY KEY, offer_id TEXT NOT NULL UNIQUE REFERENCES offers (id),
    listing_id TEXT NOT NULL, passport_id TEXT NOT NULL, seller TEXT NOT NULL, buyer TEXT NOT NULL,
    price BIGINT NOT NULL, currency TEXT NOT NULL, terms_cid TEXT NOT NULL, terms_digest TEXT NOT NULL,
    state TEXT NOT NULL, chemistry TEXT NOT NULL, grade TEXT, soh_band TEXT,
    agreed_at BIGINT NOT NULL, closed_at BIGINT, note TEXT
);
CREATE INDEX sales_state ON sales (state);
CREATE TABLE sale_intents (
    sale_id TEXT COLLATE "C" PRIMARY KEY, offer_id TEXT NOT NULL REFERENCES offers (id),
    listing_id TEXT NOT NULL, terms_digest TEXT NOT NULL, terms_cid TEXT NOT NULL, sale TEXT NOT NULL,
    state TEXT NOT NULL, created_at BIGINT NOT NULL
);
CREATE INDEX sale_intents_state ON sale_intents (state);
