"""Call log: records, storage, batch writer, statistics."""
