-- The ONS MYE2 population (one row per area and sex, a column per single year of age, 90+ last) in
-- long form: one row per period, area, sex and age. Metric SQL reads population_long.
CREATE OR REPLACE TEMP VIEW population_long AS
SELECT
    _period AS period,
    code AS hwb_code,
    sex,
    CASE WHEN age_col = '90+' THEN 90 ELSE CAST(age_col AS INTEGER) END AS age,
    population
FROM (UNPIVOT population ON COLUMNS('^([0-9]+|90\+)$') INTO NAME age_col VALUE population);
