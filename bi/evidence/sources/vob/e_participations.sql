-- The half-year's e-participations (marts.e_participations).
select period, title, kind, target_group, channel, month, url
from marts.e_participations
