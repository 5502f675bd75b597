//! Visit packs: a checkpoint's visits of one day kept together in one value, for tracing.
//!
//! An F2 step reads every visit at the places the F1s were while they were there: at ten million
//! visits up to a million rows per case. Read row by row that costs SQLite about 170 ns a row and
//! PostgreSQL more; a pack of a day's visits at a checkpoint is one look-up, decoded at a few
//! nanoseconds a visit.
//!
//! Packs are a copy; the `visits` table stays the record:
//!
//! - Triggers on `visits` mark the pack of a `(checkpoint, day)` stale (its `visits` NULL) on
//!   every insert, change or deletion of a visit that started that day, in the same transaction.
//! - The packer ([`crate::App::pack_visits`], run by `vaora serve` every few minutes) packs the
//!   stale days before today. On PostgreSQL it locks the pack rows it packs, and a visit's trigger
//!   locks its pack row too, so a pack is never made without a visit being written at that time.
//! - Tracing decodes a fresh pack where there is one and reads the rows where there is not (today,
//!   and any day written since it was packed): each visit is read from one or the other.
//!
//! A day begins at midnight in Vietnam (UTC+7), when checkpoints are quietest, and is numbered
//! from the Unix epoch: `(started_at + 25200000) / 86400000`, the expression the triggers use.
//! Days before day 1 are never packed.
//!
//! The value: a version byte (1), the number of visits, then for each visit in order of start and
//! id: the start less the previous start, the end less the start, the id less the previous id, and
//! the person's id; each a zigzag LEB128 integer. A day's visits at a checkpoint take about 14
//! bytes each, so that a pack mostly fits in one database page.

use vaora_domain::tracing::Visit;
use vaora_domain::{CheckpointId, UserId};

use crate::store::VisitRange;

/// A day.
pub const DAY_MS: i64 = 86_400_000;
/// How far ahead of UTC the day is counted (Vietnam, UTC+7).
pub const OFFSET_MS: i64 = 7 * 3_600_000;
/// The first day that is packed.
pub const FIRST_DAY: i64 = 1;
/// Where the packer is in its walk over the stale packs, which goes in order of day and
/// checkpoint: it goes on after this pack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PackCursor {
    /// The day of the last pack looked at.
    pub day: i64,
    /// Its checkpoint.
    pub checkpoint: CheckpointId,
}

impl PackCursor {
    /// Before every pack.
    pub const START: PackCursor = PackCursor { day: FIRST_DAY, checkpoint: CheckpointId(i64::MIN) };
}

/// The format's version.
const VERSION: u8 = 1;

/// Why a pack could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PackError {
    /// Not a format this build knows.
    #[error("a visit pack of an unknown format ({0})")]
    Version(u8),
    /// Cut short, too long, or with a number out of range.
    #[error("a damaged visit pack")]
    Damaged,
}

/// The day a visit that started at `started_at` belongs to.
pub fn day_of(started_at: i64) -> i64 {
    started_at.saturating_add(OFFSET_MS) / DAY_MS
}

/// When `day` begins (for days from [`FIRST_DAY`]).
pub fn day_start(day: i64) -> i64 {
    day.saturating_mul(DAY_MS).saturating_sub(OFFSET_MS)
}

/// The first and last start of `day`'s visits.
pub fn day_bounds(day: i64) -> (i64, i64) {
    (day_start(day), day_start(day.saturating_add(1)).saturating_sub(1))
}

fn put(out: &mut Vec<u8>, n: i64) {
    // Zigzag: small negative and positive numbers both take few bytes.
    let mut z = (n.cast_unsigned() << 1) ^ (n >> 63).cast_unsigned();
    while z >= 0x80 {
        out.push(u8::try_from(z & 0x7f).unwrap_or(0) | 0x80);
        z >>= 7;
    }
    out.push(u8::try_from(z).unwrap_or(0));
}

/// Reads zigzag LEB128 integers from a pack.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn next(&mut self) -> Result<i64, PackError> {
        let mut z: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = *self.bytes.get(self.at).ok_or(PackError::Damaged)?;
            self.at += 1;
            z |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                if shift == 63 && b > 1 {
                    return Err(PackError::Damaged);
                }
                return Ok((z >> 1).cast_signed() ^ -((z & 1).cast_signed()));
            }
        }
        Err(PackError::Damaged)
    }
}

/// Packs visits (of one checkpoint; their checkpoint is not kept). They are put in order of start
/// and id first.
pub fn encode(visits: &mut [Visit]) -> Vec<u8> {
    visits.sort_unstable_by_key(|v| (v.start, v.id));
    let mut out = Vec::with_capacity(4 + visits.len() * 14);
    out.push(VERSION);
    put(&mut out, i64::try_from(visits.len()).unwrap_or(i64::MAX));
    let (mut start, mut id) = (0i64, 0i64);
    for v in visits.iter() {
        put(&mut out, v.start.wrapping_sub(start));
        put(&mut out, v.end.wrapping_sub(v.start));
        put(&mut out, v.id.wrapping_sub(id));
        put(&mut out, v.user.0);
        (start, id) = (v.start, v.id);
    }
    out
}

/// Unpacks the visits of a pack of `checkpoint`, in order of start and id, giving each to `each`.
pub fn decode(bytes: &[u8], checkpoint: CheckpointId, mut each: impl FnMut(Visit)) -> Result<(), PackError> {
    let Some((&version, rest)) = bytes.split_first() else { return Err(PackError::Damaged) };
    if version != VERSION {
        return Err(PackError::Version(version));
    }
    let mut r = Reader { bytes: rest, at: 0 };
    let count = r.next()?;
    // Each visit takes at least four bytes: a count beyond that is damage, not a reason to loop.
    if count < 0 || count > i64::try_from(rest.len() / 4).unwrap_or(i64::MAX) {
        return Err(PackError::Damaged);
    }
    let (mut start, mut id) = (0i64, 0i64);
    for _ in 0..count {
        start = start.wrapping_add(r.next()?);
        let end = start.wrapping_add(r.next()?);
        id = id.wrapping_add(r.next()?);
        let user = UserId(r.next()?);
        each(Visit { id, user, checkpoint, start, end });
    }
    if r.at != rest.len() {
        return Err(PackError::Damaged);
    }
    Ok(())
}

/// How to answer `range` when the checkpoint's fresh packs are those of `packed` (days in
/// ascending order): the packed days to decode (`pack`) and the stretches of start times to read
/// row by row (`rows`, each `[from, to]` of `started_at`), in order of time.
pub fn plan(range: &VisitRange, packed: &[i64], mut pack: impl FnMut(i64), mut rows: impl FnMut(i64, i64)) {
    let mut next = range.lowest_start;
    for &day in packed {
        let (first, last) = day_bounds(day);
        if day < FIRST_DAY || last < next || first > range.to {
            continue;
        }
        if next < first {
            rows(next, first - 1);
        }
        pack(day);
        next = last.saturating_add(1);
    }
    if next <= range.to {
        rows(next, range.to);
    }
}

/// The visits of a pack that belong to `range` (started in `[lowest_start, to]`, ended at or after
/// `from`), added to `out`.
pub fn decode_range(bytes: &[u8], range: &VisitRange, out: &mut Vec<Visit>) -> Result<(), PackError> {
    decode(bytes, range.checkpoint, |v| {
        if v.start >= range.lowest_start && v.start <= range.to && v.end >= range.from {
            out.push(v);
        }
    })
}

/// The first and last day whose packs may hold visits of `ranges` (of one checkpoint).
pub fn days_of(ranges: &[VisitRange]) -> (i64, i64) {
    let first = ranges.iter().map(|r| r.lowest_start).min().unwrap_or(0);
    let last = ranges.iter().map(|r| r.to).max().unwrap_or(0);
    (day_of(first), day_of(last))
}

/// A pack that could not be read, and whose it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the visit pack of checkpoint {}, day {day}: {error}", checkpoint.0)]
pub struct DamagedPack {
    /// The pack's checkpoint.
    pub checkpoint: CheckpointId,
    /// The pack's day.
    pub day: i64,
    /// What is wrong with it.
    pub error: PackError,
}

/// Answers one checkpoint's `ranges` from its fresh `packs` (`(day, bytes)` in ascending order of
/// day): adds the visits the packs hold to `out`, and gives `rows` each stretch of a range that is
/// left to read from the rows (see [`plan`]).
pub fn unpack<B: AsRef<[u8]>>(
    ranges: &[VisitRange],
    packs: &[(i64, B)],
    out: &mut Vec<Visit>,
    mut rows: impl FnMut(VisitRange),
) -> Result<(), DamagedPack> {
    let days: Vec<i64> = packs.iter().map(|(day, _)| *day).collect();
    // A packed visit takes about 14 bytes: room for them at once, not by doubling.
    out.reserve(packs.iter().map(|(_, bytes)| bytes.as_ref().len() / 12).sum());
    for r in ranges {
        let mut failed = Ok(());
        plan(
            r,
            &days,
            |day| {
                let bytes = days.binary_search(&day).ok().and_then(|i| packs.get(i)).map(|(_, b)| b.as_ref());
                if let Some(bytes) = bytes
                    && let Err(error) = decode_range(bytes, r, out)
                {
                    failed = Err(DamagedPack { checkpoint: r.checkpoint, day, error });
                }
            },
            |lowest_start, to| rows(VisitRange { lowest_start, to, ..*r }),
        );
        failed?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn visit(id: i64, user: i64, start: i64, end: i64) -> Visit {
        Visit { id, user: UserId(user), checkpoint: CheckpointId(3), start, end }
    }

    #[test]
    fn a_day_begins_at_midnight_in_vietnam() {
        // 2021-08-01 00:00 in Huế is 2021-07-31 17:00 UTC.
        let midnight = 1_627_750_800_000;
        assert_eq!(day_of(midnight), day_of(midnight - 1) + 1);
        assert_eq!(day_start(day_of(midnight)), midnight);
        assert_eq!(day_bounds(day_of(midnight)), (midnight, midnight + DAY_MS - 1));
    }

    #[test]
    fn a_pack_gives_back_its_visits_in_order() {
        let mut visits =
            vec![visit(90, 7, 5_000, 9_000), visit(12, 8, 1_000, 1_000), visit(11, i64::MAX, 1_000, 70_000)];
        let bytes = encode(&mut visits);
        let mut got = Vec::new();
        decode(&bytes, CheckpointId(3), |v| got.push(v)).unwrap();
        assert_eq!(got, [visit(11, i64::MAX, 1_000, 70_000), visit(12, 8, 1_000, 1_000), visit(90, 7, 5_000, 9_000)]);
        assert!(bytes.len() < 3 * 14, "{} bytes", bytes.len());
    }

    #[test]
    fn damaged_packs_are_refused() {
        let bytes = encode(&mut [visit(1, 2, 3, 4), visit(5, 6, 7, 8)]);
        let ignore = |_: Visit| {};
        assert_eq!(decode(&[], CheckpointId(1), ignore), Err(PackError::Damaged));
        assert_eq!(decode(&[2, 0], CheckpointId(1), ignore), Err(PackError::Version(2)));
        assert_eq!(decode(&bytes[..bytes.len() - 1], CheckpointId(1), ignore), Err(PackError::Damaged));
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(decode(&longer, CheckpointId(1), ignore), Err(PackError::Damaged));
        // A count far beyond what the bytes hold.
        assert_eq!(decode(&[1, 0xfe, 0xff, 0xff, 0x0f], CheckpointId(1), ignore), Err(PackError::Damaged));
        // An integer of eleven bytes.
        assert_eq!(
            decode(&[1, 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], CheckpointId(1), ignore),
            Err(PackError::Damaged)
        );
    }

    #[test]
    fn a_range_is_read_from_packs_where_there_are_some_and_from_rows_between() {
        let d = 20_000;
        let range = VisitRange {
            checkpoint: CheckpointId(3),
            lowest_start: day_start(d) - 5,
            from: 0,
            to: day_start(d + 3) + 9,
        };
        let (mut packs, mut rows) = (Vec::new(), Vec::new());
        // Days d - 1 (ends inside the range), d + 1, and d + 7 (outside) are packed.
        plan(&range, &[d - 1, d + 1, d + 7], |day| packs.push(day), |a, b| rows.push((a, b)));
        assert_eq!(packs, [d - 1, d + 1]);
        assert_eq!(rows, [(day_start(d), day_start(d + 1) - 1), (day_start(d + 2), day_start(d + 3) + 9)]);
        // Nothing packed: the range as it is.
        let (mut packs, mut rows) = (Vec::new(), Vec::new());
        plan(&range, &[], |day| packs.push(day), |a, b| rows.push((a, b)));
        assert!(packs.is_empty());
        assert_eq!(rows, [(range.lowest_start, range.to)]);
    }

    #[test]
    fn a_damaged_pack_is_named_by_its_checkpoint_and_day() {
        let d = 20_000;
        let range =
            VisitRange { checkpoint: CheckpointId(3), lowest_start: day_start(d), from: 0, to: day_start(d + 2) };
        let good = encode(&mut [visit(1, 2, day_start(d) + 5, day_start(d) + 9)]);
        let packs = [(d, good.clone()), (d + 1, vec![1, 9])];
        let (mut got, mut rows) = (Vec::new(), Vec::new());
        let err = unpack(&[range], &packs, &mut got, |r| rows.push(r)).unwrap_err();
        assert_eq!(err, DamagedPack { checkpoint: CheckpointId(3), day: d + 1, error: PackError::Damaged });
        assert_eq!(err.to_string(), "the visit pack of checkpoint 3, day 20001: a damaged visit pack");
        // With that pack fresh no more, its day is read from the rows.
        let (mut got, mut rows) = (Vec::new(), Vec::new());
        unpack(&[range], &packs[..1], &mut got, |r| rows.push(r)).unwrap();
        assert_eq!(got, [visit(1, 2, day_start(d) + 5, day_start(d) + 9)]);
        assert_eq!(rows, [VisitRange { lowest_start: day_start(d + 1), ..range }]);
    }

    proptest! {
        #[test]
        fn packs_and_rows_answer_a_range_as_the_rows_alone_do(
            raw in proptest::collection::vec((0i64..5, 0i64..(4 * DAY_MS), 0i64..(DAY_MS / 2), 1i64..1_000_000), 0..80),
            lowest in 0i64..(4 * DAY_MS),
            len in 0i64..(3 * DAY_MS),
            back in 0i64..(DAY_MS / 2),
            packed_days in proptest::collection::vec(0i64..6, 0..6),
        ) {
            let base = day_start(19_000);
            let visits: Vec<Visit> = raw
                .iter()
                .enumerate()
                .map(|(i, (cp, start, len, user))| Visit {
                    id: i64::try_from(i).unwrap() * 3 + 1,
                    user: UserId(*user),
                    checkpoint: CheckpointId(*cp),
                    start: base + start,
                    end: base + start + len,
                })
                .collect();
            let range = VisitRange { checkpoint: CheckpointId(2), lowest_start: base + lowest, from: base + lowest + back, to: base + lowest + len };
            let wanted = |v: &Visit| v.checkpoint == range.checkpoint && v.start >= range.lowest_start && v.start <= range.to && v.end >= range.from;
            let mut expected: Vec<Visit> = visits.iter().copied().filter(wanted).collect();

            let mut days: Vec<i64> = packed_days.iter().map(|d| 19_000 + d).collect();
            days.sort_unstable();
            days.dedup();
            let packs: Vec<(i64, Vec<u8>)> = days
                .iter()
                .map(|d| {
                    let (a, b) = day_bounds(*d);
                    let mut of_day: Vec<Visit> = visits.iter().copied().filter(|v| v.checkpoint == range.checkpoint && v.start >= a && v.start <= b).collect();
                    (*d, encode(&mut of_day))
                })
                .collect();
            let mut got = Vec::new();
            let mut stretches = Vec::new();
            unpack(std::slice::from_ref(&range), &packs, &mut got, |r| stretches.push(r)).unwrap();
            for r in stretches {
                prop_assert_eq!((r.checkpoint, r.from), (range.checkpoint, range.from));
                got.extend(visits.iter().copied().filter(|v| wanted(v) && v.start >= r.lowest_start && v.start <= r.to));
            }
            expected.sort_by_key(|v| v.id);
            got.sort_by_key(|v| v.id);
            prop_assert_eq!(got, expected);
        }
    }
}
