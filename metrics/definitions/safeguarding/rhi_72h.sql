WITH hwbs AS (SELECT unnest($hwbs) AS hwb_code),
c AS (
    SELECT la_code AS hwb_code,
           count(*) FILTER (WHERE rhi_completed_at <= returned_at + INTERVAL (CAST($hours AS INTEGER)) HOUR)
               AS numerator,
           count(*) AS denominator
    FROM cs_missing_episodes_current
    WHERE CAST(returned_at AS DATE) BETWEEN $window_start AND $window_end
    GROUP BY ALL
)
SELECT h.hwb_code, coalesce(c.numerator, 0) AS numerator, coalesce(c.denominator, 0) AS denominator
FROM hwbs AS h LEFT JOIN c USING (hwb_code)
ORDER BY h.hwb_code
