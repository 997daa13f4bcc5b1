-- AUC on CDNOW of p_alive and of P(a purchase in the next 39 weeks) under BG/NBD, MBG/NBD and
-- Pareto/NBD, for "bought in the 39-week holdout" (docs/purchase_models.md).  Needs the test
-- fixtures (test/load-fixtures.sh): run on a test cluster kept with CS_KEEP_CLUSTER=1.
SET search_path = customer_score, public;
create temp table hold as
select c.id, c.x, c.t_x, c.t, exists (select 1 from fixture.cdnow_sample s where s.customer_id = c.id and s.day > '1997-09-30') as bought
from fixture.cdnow_summary_tx c;
create temp table sc as
select h.*, p_alive(b.m, x, t_x, t) pb, p_alive(mb.m, x, t_x, t) pm, p_alive(pn.m, x, t_x, t) pp,
       1 - p_no_purchase(b.m, 39, x, t_x, t) qb, 1 - p_no_purchase(mb.m, 39, x, t_x, t) qm, 1 - p_no_purchase(pn.m, 39, x, t_x, t) qp
from hold h, (select bgnbd_fit(x,t_x,t) m from hold) b, (select mbgnbd_fit(x,t_x,t) m from hold) mb, (select pareto_nbd_fit(x,t_x,t) m from hold) pn;
-- AUC of each score for "bought in the 39-week holdout": P(score(buyer) > score(non-buyer)), ties half
create function pg_temp.auc(col text, cond text default 'true') returns float8 language plpgsql as $$
declare r float8; begin
execute format('select (count(*) filter (where a.%1$s > b.%1$s) + 0.5 * count(*) filter (where a.%1$s = b.%1$s))::float8 / count(*)
 from sc a, sc b where a.bought and not b.bought and (%2$s) and %3$s', col, replace(cond,'@','a'), replace(cond,'@','b')) into r; return r; end $$;
select 'all' grp, round(pg_temp.auc('pb')::numeric,4) bgnbd_palive, round(pg_temp.auc('pm')::numeric,4) mbg_palive, round(pg_temp.auc('pp')::numeric,4) pnbd_palive,
 round(pg_temp.auc('qb')::numeric,4) bg_p_buy39, round(pg_temp.auc('qm')::numeric,4) mbg_p_buy39, round(pg_temp.auc('qp')::numeric,4) pnbd_p_buy39
union all
select 'x=0', round(pg_temp.auc('pb','@.x=0')::numeric,4), round(pg_temp.auc('pm','@.x=0')::numeric,4), round(pg_temp.auc('pp','@.x=0')::numeric,4),
 round(pg_temp.auc('qb','@.x=0')::numeric,4), round(pg_temp.auc('qm','@.x=0')::numeric,4), round(pg_temp.auc('qp','@.x=0')::numeric,4);
select count(*) filter (where bought) buyers, count(*) from sc;
