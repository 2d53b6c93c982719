WITH hwbs AS (SELECT unnest($hwbs) AS hwb_code),
adm AS (
    SELECT hwb_code, count(DISTINCT person_id) AS numerator
    FROM care_home_current
    WHERE age >= $min_age AND admission_date BETWEEN $window_start AND $window_end
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
