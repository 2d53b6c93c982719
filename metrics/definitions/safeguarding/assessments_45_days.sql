WITH hwbs AS (SELECT unnest($hwbs) AS hwb_code),
c AS (
    SELECT a.la_code AS hwb_code,
           -- The calendar is widened to cover every date in the view (metrics.warehouse.prepare_views), so a
           -- date missing from it is a bug: fail, never drop the row or count its days as working days.
           count(*) FILTER (
               WHERE CASE
                   WHEN cs.day IS NULL OR ce.day IS NULL
                       THEN error('assessments_45_days: a date outside the working-day calendar (ref_calendar): '
                           || CAST(a.referral_date AS VARCHAR) || ' to ' || CAST(a.authorisation_date AS VARCHAR))
                   ELSE ce.working_day_index - cs.working_day_index <= $max_working_days
               END
           ) AS numerator,
           count(*) AS denominator
    FROM cs_assessments_current AS a
    LEFT JOIN ref_calendar AS cs ON cs.day = a.referral_date
    LEFT JOIN ref_calendar AS ce ON ce.day = a.authorisation_date
    WHERE a.authorisation_date BETWEEN $window_start AND $window_end
    GROUP BY ALL
)
SELECT h.hwb_code, coalesce(c.numerator, 0) AS numerator, coalesce(c.denominator, 0) AS denominator
FROM hwbs AS h LEFT JOIN c USING (hwb_code)
ORDER BY h.hwb_code
