-- The scan writer inside the server. It used to send up to eleven statements per scan (was it sent
-- before, was its pass used, the open visit, the visit, the scan, the arrival and the agency's
-- day) and two more per caller for a savepoint; each costs a round trip, which held PostgreSQL near
-- 1,000 scans a second. The same steps, in the same order, now run here, and a whole group of
-- callers' scans is one call. The SQLite writer does them in Rust; the conformance suite holds the
-- two to one behaviour.
-- What the writer answers for one scan.
CREATE TYPE scan_outcome AS (
    colour         TEXT,
    reason         TEXT,
    display_name   TEXT,
    visit_id       BIGINT,
    scanned_at     BIGINT,
    rule           TEXT,
    declared_until BIGINT,
    resubmitted    BOOLEAN
);

CREATE FUNCTION record_scan(
    p_sender         BIGINT,
    p_client_id      TEXT,
    p_checkpoint     BIGINT,
    p_checker        BIGINT,
    p_user           BIGINT,
    p_kind           TEXT,
    p_mode           TEXT,
    p_stay_ms        BIGINT,
    p_scanned_at     BIGINT,
    p_received_at    BIGINT,
    p_colour         TEXT,
    p_reason         TEXT,
    p_display_name   TEXT,
    p_digest         BYTEA,
    p_rule           TEXT,
    p_declared_until BIGINT,
    p_day            INTEGER,
    p_max_visit_ms   BIGINT,
    p_max_span_ms    BIGINT,
    p_debounce_ms    BIGINT,
    p_default_start  INTEGER
) RETURNS scan_outcome LANGUAGE plpgsql AS $$
DECLARE
    prev       RECORD;
    open_v     RECORD;
    has_open   BOOLEAN;
    v_visit    BIGINT;
    v_reused   BOOLEAN := FALSE;
    v_agency   BIGINT;
    old_first  BIGINT;
    old_decl   BOOLEAN;
    had_old    BOOLEAN;
    v_declared BOOLEAN;
    v_staff    BOOLEAN;
    v_start    INTEGER;
    late_from  BIGINT;
    d_staff    INTEGER;
    d_visitors INTEGER;
    d_late     INTEGER;
    d_declared INTEGER;
BEGIN
    -- A scan sent again (a retry) gets its first answer back and changes nothing.
    SELECT s.colour, s.reason, s.display_name, s.visit_id, s.scanned_at, s.rule, s.declared_until INTO prev
      FROM scans s WHERE s.sender_id = p_sender AND s.client_id = p_client_id;
    IF FOUND THEN
        RETURN ROW(prev.colour, prev.reason, prev.display_name, prev.visit_id, prev.scanned_at, prev.rule,
                   prev.declared_until, TRUE)::scan_outcome;
    END IF;

    -- A pass is accepted once per checkpoint; the refused scan is kept without the digest, which
    -- the unique index reserves for the accepted one.
    IF p_digest IS NOT NULL
       AND EXISTS (SELECT 1 FROM scans s WHERE s.checkpoint_id = p_checkpoint AND s.pass_digest = p_digest) THEN
        p_colour := 'red';
        p_reason := 'pass_already_used';
        p_rule := NULL;
        p_declared_until := NULL;
        p_digest := NULL;
        v_reused := TRUE;
    END IF;

    -- A valid code makes a visit whatever the person's health status.
    IF NOT v_reused AND p_user IS NOT NULL THEN
        SELECT v.id, v.checkpoint_id, v.started_at INTO open_v
          FROM visits v
         WHERE v.user_id = p_user AND v.end_reason = 'stay' AND v.started_at <= p_scanned_at
           AND v.started_at >= p_scanned_at - p_max_span_ms AND v.ended_at > p_scanned_at
         ORDER BY v.started_at DESC, v.id DESC LIMIT 1;
        has_open := FOUND;
        IF p_mode = 'exit' THEN
            IF has_open THEN
                UPDATE visits SET ended_at = GREATEST(started_at, p_scanned_at), end_reason = 'exit' WHERE id = open_v.id;
                v_visit := open_v.id;
            ELSE
                INSERT INTO visits (user_id, checkpoint_id, started_at, ended_at, end_reason)
                VALUES (p_user, p_checkpoint, p_scanned_at, p_scanned_at, 'exit') RETURNING id INTO v_visit;
            END IF;
        ELSIF has_open AND open_v.checkpoint_id = p_checkpoint THEN
            IF p_mode = 'both' AND p_scanned_at - open_v.started_at >= p_debounce_ms THEN
                UPDATE visits SET ended_at = GREATEST(started_at, p_scanned_at), end_reason = 'exit' WHERE id = open_v.id;
                v_visit := open_v.id;
            ELSIF p_scanned_at - open_v.started_at > p_max_visit_ms THEN
                UPDATE visits SET ended_at = GREATEST(started_at, p_scanned_at), end_reason = 'moved' WHERE id = open_v.id;
                INSERT INTO visits (user_id, checkpoint_id, started_at, ended_at, end_reason)
                VALUES (p_user, p_checkpoint, p_scanned_at, p_scanned_at + p_stay_ms, 'stay') RETURNING id INTO v_visit;
            ELSE
                -- A scan that arrives late (an offline batch) never shortens the visit.
                UPDATE visits SET ended_at = GREATEST(ended_at, p_scanned_at + p_stay_ms) WHERE id = open_v.id;
                v_visit := open_v.id;
            END IF;
        ELSE
            IF has_open THEN
                UPDATE visits SET ended_at = GREATEST(started_at, p_scanned_at), end_reason = 'moved' WHERE id = open_v.id;
            END IF;
            INSERT INTO visits (user_id, checkpoint_id, started_at, ended_at, end_reason)
            VALUES (p_user, p_checkpoint, p_scanned_at, p_scanned_at + p_stay_ms, 'stay') RETURNING id INTO v_visit;
        END IF;
    END IF;

    INSERT INTO scans (sender_id, client_id, checkpoint_id, checker_id, user_id, kind, scanned_at, received_at, colour,
                       reason, display_name, visit_id, pass_digest, rule, declared_until)
    VALUES (p_sender, p_client_id, p_checkpoint, p_checker, p_user, p_kind, p_scanned_at, p_received_at, p_colour,
            p_reason, p_display_name, v_visit, p_digest, p_rule, p_declared_until);

    -- The person's first admitted scan of the day at the checkpoint's agency (see `arrivals`), and
    -- the agency's day counts that follow from it.
    IF p_user IS NOT NULL AND p_rule IS NOT NULL THEN
        SELECT c.agency_id INTO v_agency FROM checkpoints c WHERE c.id = p_checkpoint;
        IF FOUND THEN
            v_declared := p_declared_until IS NOT NULL;
            SELECT a.first_at, a.declared INTO old_first, old_decl
              FROM arrivals a WHERE a.agency_id = v_agency AND a.day = p_day AND a.user_id = p_user;
            had_old := FOUND;
            IF NOT had_old OR old_first > p_scanned_at THEN
                INSERT INTO arrivals (agency_id, day, user_id, first_at, checkpoint_id, declared)
                VALUES (v_agency, p_day, p_user, p_scanned_at, p_checkpoint, v_declared)
                ON CONFLICT (agency_id, day, user_id) DO UPDATE
                    SET first_at = excluded.first_at, checkpoint_id = excluded.checkpoint_id, declared = excluded.declared;
                v_staff := EXISTS (SELECT 1 FROM roster_entries r JOIN units u ON u.id = r.unit_id
                                    WHERE r.user_id = p_user AND u.agency_id = v_agency);
                SELECT s.work_starts_minute INTO v_start FROM agency_settings s WHERE s.agency_id = v_agency;
                IF NOT FOUND THEN
                    v_start := p_default_start;
                END IF;
                -- An arrival within the start minute is on time (as `late_from` in vaora_app::stats).
                late_from := p_day::BIGINT * 86400000 - 25200000 + (v_start + 1) * 60000;
                IF NOT had_old THEN
                    IF v_staff THEN
                        d_staff := 1; d_visitors := 0;
                        d_late := (p_scanned_at >= late_from)::INTEGER;
                        d_declared := v_declared::INTEGER;
                    ELSE
                        d_staff := 0; d_visitors := 1; d_late := 0; d_declared := 0;
                    END IF;
                ELSIF v_staff THEN
                    d_staff := 0; d_visitors := 0;
                    d_late := (p_scanned_at >= late_from)::INTEGER - (old_first >= late_from)::INTEGER;
                    d_declared := v_declared::INTEGER - old_decl::INTEGER;
                END IF;
                IF NOT had_old OR v_staff THEN
                    INSERT INTO agency_days (agency_id, day, staff, visitors, late, declared)
                    VALUES (v_agency, p_day, d_staff, d_visitors, d_late, d_declared)
                    ON CONFLICT (agency_id, day) DO UPDATE SET staff = agency_days.staff + excluded.staff,
                        visitors = agency_days.visitors + excluded.visitors, late = agency_days.late + excluded.late,
                        declared = agency_days.declared + excluded.declared;
                END IF;
            END IF;
        END IF;
    END IF;

    RETURN ROW(p_colour, p_reason, p_display_name, v_visit, p_scanned_at, p_rule, p_declared_until, FALSE)::scan_outcome;
END;
$$;

-- A whole group of jobs in one round trip: each job (one caller's scans) is recorded all or
-- nothing inside its own subtransaction, so one job that fails rolls back alone and the others
-- still commit together. The arrays hold the scans in order; `p_ends` holds where each job ends
-- (1-based, inclusive). A job's rows come back in its scans' order; a failed job gives one row
-- with its error.
CREATE FUNCTION record_scan_group(
    p_ends           INTEGER[],
    p_sender         BIGINT[],
    p_client_id      TEXT[],
    p_checkpoint     BIGINT[],
    p_checker        BIGINT[],
    p_user           BIGINT[],
    p_kind           TEXT[],
    p_mode           TEXT[],
    p_stay_ms        BIGINT[],
    p_scanned_at     BIGINT[],
    p_received_at    BIGINT[],
    p_colour         TEXT[],
    p_reason         TEXT[],
    p_display_name   TEXT[],
    p_digest         BYTEA[],
    p_rule           TEXT[],
    p_declared_until BIGINT[],
    p_day            INTEGER[],
    p_max_visit_ms   BIGINT,
    p_max_span_ms    BIGINT,
    p_debounce_ms    BIGINT,
    p_default_start  INTEGER
) RETURNS TABLE (
    o_job            INTEGER,
    o_error          TEXT,
    o_colour         TEXT,
    o_reason         TEXT,
    o_display_name   TEXT,
    o_visit_id       BIGINT,
    o_scanned_at     BIGINT,
    o_rule           TEXT,
    o_declared_until BIGINT,
    o_resubmitted    BOOLEAN
) LANGUAGE plpgsql AS $$
DECLARE
    first_i INTEGER := 1;
    r       scan_outcome;
    outs    scan_outcome[];
BEGIN
    FOR j IN 1 .. COALESCE(array_length(p_ends, 1), 0) LOOP
        outs := '{}';
        BEGIN
            FOR i IN first_i .. p_ends[j] LOOP
                r := record_scan(
                    p_sender[i], p_client_id[i], p_checkpoint[i], p_checker[i], p_user[i], p_kind[i], p_mode[i],
                    p_stay_ms[i], p_scanned_at[i], p_received_at[i], p_colour[i], p_reason[i], p_display_name[i],
                    p_digest[i], p_rule[i], p_declared_until[i], p_day[i], p_max_visit_ms, p_max_span_ms, p_debounce_ms,
                    p_default_start);
                outs := outs || r;
            END LOOP;
        EXCEPTION WHEN OTHERS THEN
            o_job := j;
            o_error := SQLERRM;
            o_colour := NULL; o_reason := NULL; o_display_name := NULL; o_visit_id := NULL;
            o_scanned_at := NULL; o_rule := NULL; o_declared_until := NULL; o_resubmitted := NULL;
            RETURN NEXT;
            first_i := p_ends[j] + 1;
            CONTINUE;
        END;
        FOREACH r IN ARRAY outs LOOP
            o_job := j;
            o_error := NULL;
            o_colour := r.colour; o_reason := r.reason; o_display_name := r.display_name;
            o_visit_id := r.visit_id; o_scanned_at := r.scanned_at; o_rule := r.rule;
            o_declared_until := r.declared_until; o_resubmitted := r.resubmitted;
            RETURN NEXT;
        END LOOP;
        first_i := p_ends[j] + 1;
    END LOOP;
END;
$$;
