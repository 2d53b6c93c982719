WITH hwbs AS (SELECT unnest($hwbs) AS hwb_code),
c AS (
    SELECT la_code AS hwb_code,
           count(*) FILTER (
               WHERE previous_referral_date < coalesce(referral_date, contact_date)
                 AND previous_referral_date >= coalesce(referral_date, contact_date) - INTERVAL 12 MONTH
           ) AS numerator,
           count(*) AS denominator
    FROM cs_contacts_current
    WHERE outcome = 'referral' AND coalesce(referral_date, contact_date) BETWEEN $window_start AND $window_end
    GROUP BY ALL
)
SELECT h.hwb_code, coalesce(c.numerator, 0) AS numerator, coalesce(c.denominator, 0) AS denominator
FROM hwbs AS h LEFT JOIN c USING (hwb_code)
ORDER BY h.hwb_code
