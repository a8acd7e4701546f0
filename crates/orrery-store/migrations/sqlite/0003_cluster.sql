-- Leadership (a lease with a fencing epoch) and the nodes of a cluster.

CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    expires_at TEXT NOT NULL,
    renewed_at TEXT NOT NULL
);

-- The scheduler lease exists from the start, expired and held by nobody, so claims
-- only ever update (and lock) this one row.
INSERT INTO leases (name, holder, epoch, expires_at, renewed_at)
VALUES ('scheduler', '', 0, '1970-01-01T00:00:00Z', '1970-01-01T00:00:00Z');

CREATE TABLE cluster_nodes (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    api_address TEXT,
    grpc_address TEXT,
    roles TEXT NOT NULL,
    version TEXT NOT NULL,
    started_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL
);
