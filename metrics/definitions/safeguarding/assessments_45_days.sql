WITH hwbs AS (SELECT unnest($hwbs) AS hwb_code),
c AS (
    SELECT a.la_code AS hwb_code,
           count(*) FILTER (WHERE ce.working_day_index - cs.working_day_index <= $max_working_days) AS numerator,
           count(*) AS denominator
    FROM cs_assessments_current AS a
    -- Inner joins: a date outside the shipped calendar (2015-2027) cannot be timed, so the row drops out of
    -- both numerator and denominator; the contracts keep dates within five years of the quarter anyway.
    JOIN ref_calendar AS cs ON cs.day = a.referral_date
    JOIN ref_calendar AS ce ON ce.day = a.authorisation_date
    WHERE a.authorisation_date BETWEEN $window_start AND $window_end
    GROUP BY ALL
)
SELECT h.hwb_code, coalesce(c.numerator, 0) AS numerator, coalesce(c.denominator, 0) AS denominator
FROM hwbs AS h LEFT JOIN c USING (hwb_code)
ORDER BY h.hwb_code
