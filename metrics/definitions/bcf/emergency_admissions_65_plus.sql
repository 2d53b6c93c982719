-- Emergency admissions (one per spell) of residents aged $min_age+ admitted in the window, and
-- the population of those ages.
WITH hwbs AS (SELECT unnest($hwbs) AS hwb_code),
adm AS (
    SELECT s.hwb_code, count(*) AS numerator
    FROM apc_current AS s
    INNER JOIN ref_admission_methods AS m ON m.code = s.admission_method
    WHERE m.is_emergency
      AND NOT list_contains($excluded_methods, s.admission_method)
      AND s.age_at_admission >= $min_age
      AND s.admission_date BETWEEN $window_start AND $window_end
    GROUP BY ALL
),
pop AS (
    SELECT hwb_code, sum(population) AS denominator
    FROM population_long
    WHERE period = $period AND age >= $min_age
    GROUP BY ALL
)
SELECT h.hwb_code, coalesce(adm.numerator, 0) AS numerator, coalesce(pop.denominator, 0) AS denominator
FROM hwbs AS h
LEFT JOIN adm USING (hwb_code)
LEFT JOIN pop USING (hwb_code)
ORDER BY h.hwb_code
