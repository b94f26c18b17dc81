-- The half-year figures (marts.fct_vob_half_year).
select period, beneficiaries, notes, plans_total, plans_in_progress, plans_implemented
from marts.fct_vob_half_year
