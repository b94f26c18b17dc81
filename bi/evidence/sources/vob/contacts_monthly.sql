-- Contacts per channel and month (marts.fct_channel_monthly), with the channel's Arabic name.
select f.month, f.channel, d.name_ar as channel_ar, d.sort_order, f.contacts
from marts.fct_channel_monthly f
join marts.dim_channel d using (channel)
