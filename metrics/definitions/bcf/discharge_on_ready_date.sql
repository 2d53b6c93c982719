-- Acute discharges in the window with a Discharge Ready Date, and those on the DRD itself.
WITH hwbs AS (SELECT unnest($hwbs) AS hwb_code),
d AS (
    SELECT hwb_code,
           count(*) FILTER (WHERE discharge_date = discharge_ready_date) AS numerator,
           count(*) AS denominator
    FROM apc_current
    WHERE provider_type = $provider_type
      AND age_at_admission >= $min_age
      AND discharge_ready_date IS NOT NULL
      AND discharge_date BETWEEN $window_start AND $window_end
    GROUP BY ALL
)
SELECT h.hwb_code, coalesce(d.numerator, 0) AS numerator, coalesce(d.denominator, 0) AS denominator
FROM hwbs AS h LEFT JOIN d USING (hwb_code)
ORDER BY h.hwb_code
