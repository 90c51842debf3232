-- The outreach service's schema (created and put on the search_path by platform/pgdb).
-- Identifiers sort and compare as bytes (COLLATE "C"), as in the bbolt store, whatever
-- the database's default collation.

-- Campaigns, by area and id. codes keeps the promo codes as the client gave them.
CREATE TABLE campaigns (
    area            TEXT COLLATE "C" NOT NULL,
    id              TEXT COLLATE "C" NOT NULL,
    display_name    TEXT NOT NULL,
    channel         INTEGER NOT NULL,
    messenger       INTEGER NOT NULL,
    target_audience TEXT NOT NULL DEFAULT '',
    message_variant TEXT NOT NULL DEFAULT '',
    start_date      DATE NOT NULL,
    end_date        DATE,
    cost_pence      BIGINT NOT NULL,
    utm_campaign    TEXT NOT NULL DEFAULT '',
    codes           TEXT[] NOT NULL DEFAULT '{}',
    create_time     TIMESTAMPTZ NOT NULL,
    update_time     TIMESTAMPTZ NOT NULL,
    revision        BIGINT NOT NULL,
    creator         TEXT NOT NULL DEFAULT '',
    last_modifier   TEXT NOT NULL DEFAULT '',
    CONSTRAINT campaigns_pkey PRIMARY KEY (area, id)
);

-- The normalised lookup codes (UTM value and promo codes): one campaign per code in an
-- area, enforced here so that two replicas cannot give one code to two campaigns.
CREATE TABLE campaign_codes (
    area        TEXT COLLATE "C" NOT NULL,
    code        TEXT COLLATE "C" NOT NULL,
    campaign_id TEXT COLLATE "C" NOT NULL,
    CONSTRAINT campaign_codes_pkey PRIMARY KEY (area, code),
    CONSTRAINT campaign_codes_campaign_fkey FOREIGN KEY (area, campaign_id)
        REFERENCES campaigns (area, id) ON DELETE CASCADE
);
CREATE INDEX campaign_codes_campaign_idx ON campaign_codes (area, campaign_id);

-- Events, deduplicated by the client's event id (the primary key: a duplicate sent to
-- two replicas at once is stored once). seq orders them for replicas following the
-- table (WHERE seq > last); it is allocated at insert, so it may commit out of order
-- and has gaps, which the followers handle. created_at is when the row's seq was
-- allocated, by which a follower tells a gap still in flight from one that never fills.
CREATE TABLE events (
    id           TEXT COLLATE "C" NOT NULL,
    seq          BIGINT GENERATED ALWAYS AS IDENTITY,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    fingerprint  BYTEA NOT NULL,
    journey      BYTEA NOT NULL,
    area         TEXT COLLATE "C" NOT NULL,
    occur_time   TIMESTAMPTZ NOT NULL,
    receive_time TIMESTAMPTZ NOT NULL,
    kind         SMALLINT NOT NULL,
    source       SMALLINT NOT NULL,
    channel      SMALLINT NOT NULL,
    messenger    SMALLINT NOT NULL,
    stage        SMALLINT NOT NULL,
    outcome      SMALLINT NOT NULL,
    reason       SMALLINT NOT NULL,
    campaign     TEXT COLLATE "C" NOT NULL DEFAULT '',
    CONSTRAINT events_pkey PRIMARY KEY (id),
    CONSTRAINT events_seq_key UNIQUE (seq),
    CONSTRAINT events_fingerprint_len CHECK (length(fingerprint) = 16),
    CONSTRAINT events_journey_len CHECK (length(journey) = 16)
);

-- Settings shared by every replica: the check value of the journey secret, so that a
-- replica configured with a different secret refuses to start instead of splitting
-- journeys.
CREATE TABLE settings (
    name  TEXT COLLATE "C" NOT NULL,
    value BYTEA NOT NULL,
    CONSTRAINT settings_pkey PRIMARY KEY (name)
);
