-- Dashboard (issue 17). PostgreSQL twin of migrations/sqlite/0008_dashboard.sql.

-- An integrator's country for numbers written the local way (`0803 123 4567` with NG): intake
-- turns them into E.164. NULL: only E.164 is accepted.
ALTER TABLE integrators ADD COLUMN default_country TEXT;

-- A batch's optional label (`POST /call` extension `name`), shown on the dashboard.
ALTER TABLE batches ADD COLUMN name TEXT;

-- What one attempt heard and played: every keypad digit in order, and the prompts it played
-- as references into the render cache / recording store (JSON array of strings), so the
-- dashboard plays the audio the call played, not a fresh rendering.
ALTER TABLE attempts ADD COLUMN digits TEXT;
ALTER TABLE attempts ADD COLUMN played TEXT;
