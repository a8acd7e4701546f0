-- Leadership (a lease with a fencing epoch) and the nodes of a cluster.
-- The same schema as migrations/sqlite/0003_cluster.sql in PostgreSQL types.

CREATE TABLE leases (
    name TEXT COLLATE "C" PRIMARY KEY,
    holder TEXT NOT NULL,
    epoch BIGINT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    renewed_at TIMESTAMPTZ NOT NULL
);

-- The scheduler lease exists from the start, expired and held by nobody, so claims
-- only ever update (and lock) this one row.
INSERT INTO leases (name, holder, epoch, expires_at, renewed_at)
VALUES ('scheduler', '', 0, '1970-01-01T00:00:00Z', '1970-01-01T00:00:00Z');

CREATE TABLE cluster_nodes (
    name TEXT COLLATE "C" PRIMARY KEY,
    holder TEXT NOT NULL,
    api_address TEXT,
    grpc_address TEXT,
    roles TEXT NOT NULL,
    version TEXT NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL
);
