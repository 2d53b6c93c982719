-- ASCOF 2B(1) annual cohort: people aged 65+ discharged from hospital into reablement between
-- 1 October and 31 December of the financial year ($window_start is its 1 April), each followed up
-- 91 days after discharge. The figure is given only once the whole cohort has been followed up (the
-- 91st day after 31 December on or before the data cut, $window_end); before that it is withheld,
-- never a partial figure. At home = at_home; died, hospital, care_home, unknown and pending count in
-- the denominator only (ASCOF: a status that cannot be established is not at home).
WITH hwbs AS (SELECT unnest($hwbs) AS hwb_code),
cohort AS (
    SELECT
        make_date(year($window_start::DATE), 10, 1) AS first_day,
        make_date(year($window_start::DATE), 12, 31) AS last_day
),
r AS (
    SELECT
        e.hwb_code,
        count(*) FILTER (WHERE e.status_91_days = 'at_home') AS numerator,
        count(*) AS denominator
    FROM reablement_current AS e, cohort AS c
    WHERE e.age >= $min_age AND e.hospital_discharge_date BETWEEN c.first_day AND c.last_day
    GROUP BY ALL
)
SELECT
    h.hwb_code,
    coalesce(r.numerator, 0) AS numerator,
    coalesce(r.denominator, 0) AS denominator,
    CASE
        WHEN c.last_day + $follow_up_days > $window_end::DATE
            THEN 'ASCOF cohort not complete: hospital discharges 1 October-31 December '
            || year(c.last_day) || ' are all followed up only on '
            || strftime(c.last_day + $follow_up_days, '%-d %B %Y') || ', after the data cut, '
            || strftime($window_end::DATE, '%-d %B %Y')
    END AS unavailable
FROM hwbs AS h CROSS JOIN cohort AS c LEFT JOIN r USING (hwb_code)
ORDER BY h.hwb_code
