-- Observed chronic-ACSC emergency admissions and population by age band and sex, with England
-- reference counts scaled to the window so that ISR = O / E x reference rate is a rate for the window.
WITH hwbs AS (SELECT unnest($hwbs) AS hwb_code),
pop AS (
    SELECT hwb_code, sex, age_band5(age) AS age_band, sum(population) AS population
    FROM population_long
    WHERE period = $period
    GROUP BY ALL
),
obs AS (
    SELECT s.hwb_code, s.sex, age_band5(s.age_at_admission) AS age_band, count(*) AS events
    FROM apc_current AS s
    INNER JOIN ref_admission_methods AS m ON m.code = s.admission_method
    WHERE m.is_emergency AND s.admission_method <> '2B'
      AND s.admission_date BETWEEN $window_start AND $window_end
      AND EXISTS (
          SELECT 1 FROM ref_acsc_icd10 AS a
          WHERE starts_with(s.primary_diagnosis, a.code_prefix)
      )
    GROUP BY ALL
)
SELECT h.hwb_code,
       r.age_band || ' ' || r.sex AS stratum,
       coalesce(o.events, 0) AS numerator,
       coalesce(p.population, 0) AS denominator,
       r.admissions * $period_years AS ref_numerator,
       r.population AS ref_denominator
FROM hwbs AS h
CROSS JOIN ref_england_acsc AS r
LEFT JOIN pop AS p ON p.hwb_code = h.hwb_code AND p.sex = r.sex AND p.age_band = r.age_band
LEFT JOIN obs AS o ON o.hwb_code = h.hwb_code AND o.sex = r.sex AND o.age_band = r.age_band
ORDER BY h.hwb_code, stratum
