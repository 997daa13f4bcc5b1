-- The calendar of a source (issue 14): sources.time_zone, fixed by set_source (the session
-- TimeZone unless named), and refresh's rfm and actions read on it.  A source set before the
-- upgrade gets the TimeZone of the session that upgrades: the zone its refreshes have counted
-- days in when they ran in that session's default.
ALTER TABLE customer_score.sources ADD COLUMN time_zone text NOT NULL DEFAULT pg_catalog.current_setting('TimeZone');
-- @block sources-time-zone-comment
-- @block source-functions
-- @block refresh
