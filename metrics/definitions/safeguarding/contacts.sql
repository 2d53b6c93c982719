WITH hwbs AS (SELECT unnest($hwbs) AS hwb_code),
c AS (
    SELECT la_code AS hwb_code, count(*) AS numerator
    FROM cs_contacts_current
    WHERE contact_date BETWEEN $window_start AND $window_end
    GROUP BY ALL
)
SELECT h.hwb_code, coalesce(c.numerator, 0) AS numerator, CAST(NULL AS DOUBLE) AS denominator
FROM hwbs AS h LEFT JOIN c USING (hwb_code)
ORDER BY h.hwb_code
