// The broker's SQLite tables (migration component 'broker'): retained messages and persistent sessions.
export const brokerMigrations: readonly string[] = [
  `CREATE TABLE retained (
     topic TEXT PRIMARY KEY,
     payload BLOB NOT NULL,
     qos INTEGER NOT NULL,
     properties TEXT,
     expires_at INTEGER
   );
   CREATE TABLE broker_sessions (
     client_id TEXT PRIMARY KEY,
     username TEXT,
     protocol_version INTEGER NOT NULL,
     expiry_sec INTEGER NOT NULL,
     disconnected_at INTEGER,
     subscriptions TEXT NOT NULL
   );
   CREATE TABLE broker_session_messages (
     client_id TEXT NOT NULL,
     seq INTEGER NOT NULL,
     topic TEXT NOT NULL,
     payload BLOB NOT NULL,
     qos INTEGER NOT NULL,
     retain INTEGER NOT NULL,
     properties TEXT,
     expires_at INTEGER,
     packet_id INTEGER,
     stage TEXT NOT NULL,
     PRIMARY KEY (client_id, seq)
   );`,
];
