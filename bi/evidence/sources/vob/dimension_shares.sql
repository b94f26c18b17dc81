-- The Adaa dimension shares of the half-year's feedback tags, with the dimension's Arabic name.
select f.period, f.dimension, d.name_ar as dimension_ar, f.tags, f.share_pct
from marts.fct_feedback_dimension_half_year f
join marts.dim_dimension d using (dimension)
