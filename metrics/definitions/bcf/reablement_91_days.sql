-- In-year cohort: people aged 65+ discharged from hospital into reablement from 1 April
-- ($window_start) whose 91st day after discharge is on or before the data cut ($window_end, the end
-- of the quarter run). A discharge still inside its 91 days is not in the cohort, whatever status it
-- carries. At home = at_home; died, hospital, care_home, unknown (and pending left after the 91st
-- day) stay in the denominator only: ASCOF records a status that cannot be established as not at home.
-- At Q1 no discharge since 1 April can have reached its 91st day, so the figure is withheld.
WITH hwbs AS (SELECT unnest($hwbs) AS hwb_code),
r AS (
    SELECT
        hwb_code,
        count(*) FILTER (WHERE status_91_days = 'at_home') AS numerator,
        count(*) AS denominator
    FROM reablement_current
    WHERE
        age >= $min_age
        AND hospital_discharge_date BETWEEN $window_start AND $window_end
        AND hospital_discharge_date + $follow_up_days <= $window_end
    GROUP BY ALL
)
SELECT
    h.hwb_code,
    coalesce(r.numerator, 0) AS numerator,
    coalesce(r.denominator, 0) AS denominator,
    CASE
        WHEN $window_start::DATE + $follow_up_days > $window_end::DATE
            THEN 'in-year cohort empty: no discharge since ' || strftime($window_start::DATE, '%-d %B %Y')
            || ' can have reached its 91st day by the data cut, ' || strftime($window_end::DATE, '%-d %B %Y')
    END AS unavailable
FROM hwbs AS h LEFT JOIN r USING (hwb_code)
ORDER BY h.hwb_code
