-- The floor: the channel and ticket facts computed straight from the landing
-- files with plain DuckDB SQL, one scan per source. It is what the pipeline's
-- run time is measured against, and an independent check of its figures.
--
-- Rules (shared/contract/LANDING.md):
--   calls / email / chat: contacts = distinct ids whose own timestamp falls in
--     the calendar month in Asia/Riyadh time, whatever daily file holds them;
--   x / sms / self_service: contacts = sum of count over the month's dates;
--   tickets: per CRM snapshot, tickets created in the month (Riyadh), split by
--     their status in that snapshot; the report uses the latest snapshot.
-- It assumes valid input (no rejected rows): the pipeline does the checking.
-- Columns are matched by name: DuckDB maps the columns of every file of a glob
-- to those of the first file by name, so another order and added columns
-- (calls' wrap_up_code from April) are fine; a file lacking one of the first
-- file's columns stops the query. (union_by_name would also accept that, but
-- costs about ten times more: it sniffs every file, twice.)
--
-- Usage: set the landing root first, then run this file, e.g.
--   duckdb -c "SET VARIABLE landing = '/path/to/landing'" -c ".read bench/floor.sql"
-- or from Python: con.execute("SET VARIABLE landing = ?", [root]); con.execute(sql).
-- Without it, the default root data/landing (relative to the working directory) is used.

SET VARIABLE landing = COALESCE(getvariable('landing'), 'data/landing');

CREATE OR REPLACE TABLE fct_channel_monthly AS
WITH calls AS (
    SELECT date_trunc('month', offered_at AT TIME ZONE 'Asia/Riyadh')::DATE AS month,
           'calls' AS channel,
           count(DISTINCT call_id) AS contacts
    FROM read_csv(getvariable('landing') || '/calls/*/*/calls_*.csv',
                  header = true,
                  types = {'call_id': 'VARCHAR', 'offered_at': 'TIMESTAMPTZ'})
    WHERE call_id IS NOT NULL AND offered_at IS NOT NULL
    GROUP BY ALL
),
email AS (
    SELECT date_trunc('month', received_at AT TIME ZONE 'Asia/Riyadh')::DATE AS month,
           'email' AS channel,
           count(DISTINCT message_id) AS contacts
    FROM read_json(getvariable('landing') || '/email/*/*/email_*.jsonl',
                   format = 'newline_delimited',
                   columns = {'message_id': 'VARCHAR', 'received_at': 'TIMESTAMPTZ'})
    WHERE message_id IS NOT NULL AND received_at IS NOT NULL
    GROUP BY ALL
),
chat AS (
    SELECT date_trunc('month', started_at AT TIME ZONE 'Asia/Riyadh')::DATE AS month,
           'chat' AS channel,
           count(DISTINCT session_id) AS contacts
    FROM read_json(getvariable('landing') || '/chat/*/*/chat_*.jsonl',
                   format = 'newline_delimited',
                   columns = {'session_id': 'VARCHAR', 'started_at': 'TIMESTAMPTZ'})
    WHERE session_id IS NOT NULL AND started_at IS NOT NULL
    GROUP BY ALL
),
daily_counts AS (
    SELECT date_trunc('month', "date")::DATE AS month,
           regexp_extract(filename, '(x|sms|self_service)_\d{4}-\d{2}\.csv$', 1) AS channel,
           sum("count")::BIGINT AS contacts
    FROM read_csv([getvariable('landing') || '/x/x_*.csv',
                   getvariable('landing') || '/sms/sms_*.csv',
                   getvariable('landing') || '/self_service/self_service_*.csv'],
                  header = true, filename = true,
                  types = {'date': 'DATE', 'category': 'VARCHAR', 'count': 'BIGINT'})
    WHERE "date" IS NOT NULL AND "count" >= 0
    GROUP BY ALL
)
SELECT * FROM calls
UNION ALL SELECT * FROM email
UNION ALL SELECT * FROM chat
UNION ALL SELECT * FROM daily_counts
ORDER BY month, channel;

CREATE OR REPLACE TABLE fct_tickets_monthly AS
SELECT date_trunc('month', created_at AT TIME ZONE 'Asia/Riyadh')::DATE AS month,
       strptime(regexp_extract(filename, 'tickets_(\d{4}-\d{2}-\d{2})\.csv$', 1), '%Y-%m-%d')::DATE
           AS snapshot_date,
       count(DISTINCT ticket_id) AS tickets_total,
       count(DISTINCT ticket_id) FILTER (WHERE status IN ('new', 'in_progress', 'pending')) AS tickets_open,
       count(DISTINCT ticket_id) FILTER (WHERE status IN ('resolved', 'closed')) AS tickets_closed
FROM read_csv(getvariable('landing') || '/crm/tickets_*.csv',
              header = true, filename = true,
              types = {'ticket_id': 'VARCHAR', 'created_at': 'TIMESTAMPTZ', 'status': 'VARCHAR'})
WHERE ticket_id IS NOT NULL AND created_at IS NOT NULL
GROUP BY ALL
ORDER BY snapshot_date, month;
