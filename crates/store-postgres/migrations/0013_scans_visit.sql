-- A scan's link to its visit, indexed: deleting a visit (at the end of the retention period, or
-- with its person's account) sets the link of its scans to NULL, and without this index each
-- deleted visit read the whole scans table to find them. Visit ids grow with time, so a new scan's
-- entry goes at the end of the index.
CREATE INDEX scans_visit ON scans (visit_id);
