WITH hwbs AS (SELECT unnest($hwbs) AS hwb_code),
c AS (
    SELECT la_code AS hwb_code, count(DISTINCT child_id) AS numerator
    FROM cs_cla_episodes_current
    WHERE start_date <= $window_end AND (end_date IS NULL OR end_date > $window_end)
      -- Short-term breaks (V3, V4) are not in the headline count: the episode is ignored.
      AND NOT list_contains($exclude_legal_status, legal_status)
    GROUP BY ALL
),
pop AS (
    SELECT code AS hwb_code, sum(population) AS denominator
    FROM child_population
    WHERE _period = $period
    GROUP BY ALL
)
SELECT h.hwb_code, coalesce(c.numerator, 0) AS numerator, coalesce(pop.denominator, 0) AS denominator
FROM hwbs AS h LEFT JOIN c USING (hwb_code) LEFT JOIN pop USING (hwb_code)
ORDER BY h.hwb_code
