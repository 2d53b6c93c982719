WITH hwbs AS (SELECT unnest($hwbs) AS hwb_code),
a AS (
    -- The clock's start point, a declared parameter: the assessment start (DfE C2, rule 8670Q) or the referral.
    SELECT la_code, authorisation_date,
           CASE $start_point
               WHEN 'assessment_start' THEN start_date
               WHEN 'referral' THEN referral_date
               ELSE error('assessments_45_days: parameter start_point must be "assessment_start" or "referral", not "'
                   || $start_point || '"; fix it in assessments_45_days.toml')
           END AS clock_start
    FROM cs_assessments_current
),
c AS (
    SELECT a.la_code AS hwb_code,
           -- The calendar is widened to cover every date in the view (metrics.warehouse.prepare_views), so a
           -- date missing from it is a bug: fail, never drop the row or count its days as working days.
           count(*) FILTER (
               WHERE CASE
                   WHEN cs.day IS NULL OR ce.day IS NULL
                       THEN error('assessments_45_days: a date outside the working-day calendar (ref_calendar): '
                           || CAST(a.clock_start AS VARCHAR) || ' to ' || CAST(a.authorisation_date AS VARCHAR))
                   ELSE ce.working_day_index - cs.working_day_index <= $max_working_days
               END
           ) AS numerator,
           count(*) AS denominator
    FROM a
    LEFT JOIN ref_calendar AS cs ON cs.day = a.clock_start
    LEFT JOIN ref_calendar AS ce ON ce.day = a.authorisation_date
    WHERE a.authorisation_date BETWEEN $window_start AND $window_end
    GROUP BY ALL
)
SELECT h.hwb_code, coalesce(c.numerator, 0) AS numerator, coalesce(c.denominator, 0) AS denominator
FROM hwbs AS h LEFT JOIN c USING (hwb_code)
ORDER BY h.hwb_code
