WITH hwbs AS (SELECT unnest($hwbs) AS hwb_code),
d AS (
    SELECT s.hwb_code,
           count(*) FILTER (WHERE r.usual_residence) AS numerator,
           count(*) AS denominator
    FROM apc_current AS s
    INNER JOIN ref_discharge_destinations AS r ON r.code = s.discharge_destination
    WHERE r.in_denominator
      AND s.provider_type = $provider_type
      AND s.age_at_admission >= $min_age
      AND s.discharge_date BETWEEN $window_start AND $window_end
    GROUP BY ALL
)
SELECT h.hwb_code, coalesce(d.numerator, 0) AS numerator, coalesce(d.denominator, 0) AS denominator
FROM hwbs AS h LEFT JOIN d USING (hwb_code)
ORDER BY h.hwb_code
