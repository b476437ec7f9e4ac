-- `/pql score Acme` looks accounts up by name, ignoring case: exact and
-- prefix matches use this index; a substring search (only when those find
-- nothing) scans.
CREATE INDEX accounts_lower_name ON accounts (lower(name) text_pattern_ops);
