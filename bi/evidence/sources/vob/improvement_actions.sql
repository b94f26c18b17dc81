-- The improvement actions taken on the beneficiaries' notes (marts.improvement_actions).
select period, action_no, title, description, plan_id
from marts.improvement_actions
