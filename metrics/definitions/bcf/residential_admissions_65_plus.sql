-- New long-term admissions to residential and nursing care homes of people aged 65+ (ASCOF 2C; the
-- Client Level Data rule): a person is counted when their first long-term care-home placement on
-- record started in the window and they were 65 or over at it. A readmission, or a move between
-- residential and nursing care, carries an earlier first_admission_date and is not counted; so is a
-- first admission at 64 followed by another at 65. Read by residential_admissions_65_plus (2023-25)
-- and care_home_admissions_65_plus (2025-26 BCF core metric), which differ only in their declaration.
WITH hwbs AS (SELECT unnest($hwbs) AS hwb_code),
history AS (
    -- The earliest placement on record per person, over every delivery kept in the view.
    SELECT person_id, least(min(first_admission_date), min(admission_date)) AS first_ever
    FROM care_home_current
    GROUP BY person_id
),
adm AS (
    SELECT c.hwb_code, count(DISTINCT c.person_id) AS numerator
    FROM care_home_current AS c INNER JOIN history AS p USING (person_id)
    WHERE
        c.first_admission_date = c.admission_date
        AND c.admission_date = p.first_ever
        AND c.age >= $min_age
        AND c.admission_date BETWEEN $window_start AND $window_end
    GROUP BY ALL
),
pop AS (
    SELECT hwb_code, sum(population) AS denominator
    FROM population_long
    WHERE period = $period AND age >= $min_age
    GROUP BY ALL
)
SELECT h.hwb_code, coalesce(adm.numerator, 0) AS numerator, coalesce(pop.denominator, 0) AS denominator
FROM hwbs AS h
LEFT JOIN adm USING (hwb_code)
LEFT JOIN pop USING (hwb_code)
ORDER BY h.hwb_code
