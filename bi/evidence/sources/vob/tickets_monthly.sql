-- Tickets of each month as counted in the latest CRM snapshot (marts.fct_tickets_monthly).
select month, snapshot_date, tickets_total, tickets_open, tickets_closed
from marts.fct_tickets_monthly
qualify snapshot_date = max(snapshot_date) over ()
