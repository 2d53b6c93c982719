WITH hwbs AS (SELECT unnest($hwbs) AS hwb_code),
r AS (
    SELECT hwb_code,
           count(*) FILTER (WHERE status_91_days = 'at_home') AS numerator,
           count(*) FILTER (WHERE status_91_days <> 'unknown' OR $unknown_in_denominator) AS denominator
    FROM reablement_current
    WHERE age >= $min_age AND hospital_discharge_date BETWEEN $window_start AND $window_end
    GROUP BY ALL
)
SELECT h.hwb_code, coalesce(r.numerator, 0) AS numerator, coalesce(r.denominator, 0) AS denominator
FROM hwbs AS h LEFT JOIN r USING (hwb_code)
ORDER BY h.hwb_code
