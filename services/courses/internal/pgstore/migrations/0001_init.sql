-- The courses service's schema. Keys compare byte by byte (COLLATE "C"), as in bbolt,
-- so lists and pages are in the same order on every engine and locale.

CREATE TABLE providers (
    area          text COLLATE "C" NOT NULL,
    ukprn         text COLLATE "C" NOT NULL,
    name          text NOT NULL,
    loan_facility boolean NOT NULL,
    premises      text[] NOT NULL,
    demo          boolean NOT NULL,
    create_time   timestamptz NOT NULL,
    update_time   timestamptz NOT NULL,
    updated_by    text NOT NULL,
    PRIMARY KEY (area, ukprn)
);

-- Enums are stored by their CSV words, as in the bbolt store.
CREATE TABLE courses (
    area               text COLLATE "C" NOT NULL,
    id                 text COLLATE "C" NOT NULL,
    learning_aim       text NOT NULL,
    title              text NOT NULL,
    description        text NOT NULL,
    level              text NOT NULL,
    sector             text NOT NULL,
    awarding_body      text NOT NULL,
    provider_ukprn     text COLLATE "C" NOT NULL,
    venue_postcode     text NOT NULL,
    delivery           text NOT NULL,
    study              text NOT NULL,
    attendance         text NOT NULL,
    duration_value     integer NOT NULL,
    duration_unit      text NOT NULL,
    start_date         date,            -- NULL for a flexible start
    flexible_start     boolean NOT NULL,
    full_cost_pence    bigint NOT NULL CHECK (full_cost_pence >= 0),
    modular            boolean NOT NULL,
    discount_percent   integer NOT NULL CHECK (discount_percent BETWEEN 0 AND 100),
    learner_cost_pence bigint NOT NULL CHECK (learner_cost_pence >= 0),
    demo               boolean NOT NULL,
    create_time        timestamptz NOT NULL,
    update_time        timestamptz NOT NULL,
    updated_by         text NOT NULL,
    PRIMARY KEY (area, id),
    -- A course names a provider of its area, and a provider with courses cannot be
    -- deleted, whichever replica writes.
    CONSTRAINT courses_provider_fkey FOREIGN KEY (area, provider_ukprn) REFERENCES providers (area, ukprn)
);

CREATE INDEX courses_by_provider ON courses (area, provider_ukprn, id);

-- The change feed the replicas follow to keep their search indexes current. Each write
-- transaction takes the next positions from change_counter (one row, so writers take
-- positions in commit order and a reader never sees a position before the ones below it)
-- and records, per record written, its latest position: the table holds one row per
-- record ever written, however often it changes.
CREATE TABLE change_counter (
    id       integer PRIMARY KEY CHECK (id = 1),
    last_seq bigint NOT NULL
);

INSERT INTO change_counter (id, last_seq) VALUES (1, 0);

CREATE TABLE changes (
    kind text COLLATE "C" NOT NULL CHECK (kind IN ('course', 'provider')),
    area text COLLATE "C" NOT NULL,
    key  text COLLATE "C" NOT NULL,
    seq  bigint NOT NULL,
    PRIMARY KEY (kind, area, key),
    CONSTRAINT changes_seq_key UNIQUE (seq)
);
