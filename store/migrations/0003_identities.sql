-- Ids merged into a person: an anonymousId linked by a call carrying both
-- ids, an alias's previousId. Kept flat (every id points straight at its
-- person) so a lookup is one hop. Ids never merged have no row: they are
-- their own person.
CREATE TABLE identities (
    id        text        PRIMARY KEY,
    person_id text        NOT NULL,
    linked_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX identities_person ON identities (person_id);
