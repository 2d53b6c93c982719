-- Falls admissions and population by ESP2013 five-year band from $min_age, with the standard weights.
WITH hwbs AS (SELECT unnest($hwbs) AS hwb_code),
bands AS (
    SELECT age_band, weight, band_start
    FROM ref_esp2013
    WHERE band_start >= $min_age
),
pop AS (
    SELECT hwb_code, age_band5(age) AS age_band, sum(population) AS population
    FROM population_long
    WHERE period = $period AND age >= $min_age
    GROUP BY ALL
),
-- One row per spell, its diagnoses those of the first episode; regular day/night attenders
-- (patient classification 3, 4) are planned care, not falls admissions.
obs AS (
    SELECT hwb_code, age_band5(age_at_admission) AS age_band, count(*) AS events
    FROM apc_current AS s
    INNER JOIN ref_admission_methods AS m ON m.code = s.admission_method
    INNER JOIN ref_patient_classifications AS c ON c.code = s.patient_classification
    WHERE m.is_emergency
      AND NOT c.regular_attender
      AND s.age_at_admission >= $min_age
      AND s.admission_date BETWEEN $window_start AND $window_end
      AND s.primary_diagnosis[1] IN ('S', 'T') AND s.primary_diagnosis[1:3] <= 'T98'
      AND regexp_matches(coalesce(s.secondary_diagnoses, ''), '(^|;)W(0[0-9]|1[0-9])')
    GROUP BY ALL
)
SELECT h.hwb_code,
       b.age_band AS stratum,
       coalesce(o.events, 0) AS numerator,
       coalesce(p.population, 0) AS denominator,
       b.weight AS std_weight
FROM hwbs AS h
CROSS JOIN bands AS b
LEFT JOIN pop AS p ON p.hwb_code = h.hwb_code AND p.age_band = b.age_band
LEFT JOIN obs AS o ON o.hwb_code = h.hwb_code AND o.age_band = b.age_band
ORDER BY h.hwb_code, b.band_start
