WITH hwbs AS (SELECT unnest($hwbs) AS hwb_code),
c AS (
    SELECT la_code AS hwb_code, count(*) FILTER (WHERE end_date >= start_date + INTERVAL 2 YEAR) AS numerator,
           count(*) AS denominator
    FROM cs_cp_plans_current
    WHERE end_date BETWEEN $window_start AND $window_end
    GROUP BY ALL
)
SELECT h.hwb_code, coalesce(c.numerator, 0) AS numerator, coalesce(c.denominator, 0) AS denominator
FROM hwbs AS h LEFT JOIN c USING (hwb_code)
ORDER BY h.hwb_code
