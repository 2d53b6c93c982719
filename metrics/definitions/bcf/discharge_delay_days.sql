-- Days from the Discharge Ready Date to discharge for acute discharges in the window with a DRD
-- and a delay of at least $min_delay_days days (0: every discharge; 1: delayed ones only): their
-- sum (numerator), count (denominator) and sum of squares, for the mean and its t limits.
WITH hwbs AS (SELECT unnest($hwbs) AS hwb_code),
delays AS (
    SELECT hwb_code, date_diff('day', discharge_ready_date, discharge_date) AS days
    FROM apc_current
    WHERE provider_type = $provider_type
      AND age_at_admission >= $min_age
      AND discharge_ready_date IS NOT NULL
      AND discharge_date BETWEEN $window_start AND $window_end
),
d AS (
    SELECT hwb_code, sum(days) AS numerator, count(*) AS denominator, sum(days * days) AS sum_squares
    FROM delays
    WHERE days >= $min_delay_days
    GROUP BY ALL
)
SELECT h.hwb_code,
       coalesce(d.numerator, 0) AS numerator,
       coalesce(d.denominator, 0) AS denominator,
       coalesce(d.sum_squares, 0) AS sum_squares
FROM hwbs AS h LEFT JOIN d USING (hwb_code)
ORDER BY h.hwb_code
