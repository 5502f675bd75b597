//! Contact tracing from visits: who was with a case (F1), who was with an F1 after that F1 was
//! exposed (F2), and so on to a chosen depth (at most F3).
//!
//! The rules, all times in Unix milliseconds and every interval closed (`[from, to]`, so that
//! stays that only touch meet, and a zero-length stay at one instant counts):
//!
//! - **Place.** Checkpoints an agency grouped into a *space* (a gate and the reception of one
//!   building) are one place; any other checkpoint is a place of its own.
//! - **F1.** The case's stays are clipped to the infectious window and widened by the buffer on
//!   both sides. Anyone else with a stay at the same place that overlaps a widened stay by at least
//!   the minimum overlap is an F1. Their exposure begins where their earliest such overlap begins.
//! - **F*n*.** The same, from each F(*n*−1)'s stays clipped to the time from their exposure to the
//!   end of the window. A person keeps the lowest degree they are found at; the case is never a
//!   contact of anyone.
//!
//! [`Tracer`] holds no I/O: it says which visits it needs ([`Need`]), the caller fetches them from
//! wherever visits are kept and hands them back. Spans it asks for at one place are merged first,
//! so that a whole workplace of F1s costs a few index scans, not one per stay.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};

use crate::ids::{CheckpointId, SpaceId, UserId};

/// Minutes on either side of a case's stay that still count as being together, by default.
pub const DEFAULT_BUFFER_MS: i64 = 15 * 60_000;
/// The deepest tracing goes: F3.
pub const MAX_DEPTH: u8 = 3;
/// The widest buffer and minimum overlap accepted: a day.
const MAX_SETTING_MS: i64 = 24 * 3_600_000;

/// A stay at a checkpoint: a visit as tracing reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Visit {
    /// The visit's id.
    pub id: i64,
    /// Whose.
    pub user: UserId,
    /// Where.
    pub checkpoint: CheckpointId,
    /// From.
    pub start: i64,
    /// Until (a visit still open: its planned end).
    pub end: i64,
}

/// Why tracing settings were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TraceError {
    /// Depth outside 1 to 3.
    #[error("tracing goes 1 to 3 degrees deep")]
    Depth,
    /// Buffer outside 0 to 24 hours.
    #[error("the buffer is between 0 and 24 hours")]
    Buffer,
    /// Minimum overlap outside 0 to 24 hours.
    #[error("the minimum overlap is between 0 and 24 hours")]
    MinOverlap,
    /// A window that ends before it starts.
    #[error("the infectious window ends before it starts")]
    Window,
}

/// How contacts are found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceParams {
    buffer_ms: i64,
    min_overlap_ms: i64,
    depth: u8,
}

impl TraceParams {
    /// Checked settings: a buffer and a minimum overlap of 0 to 24 hours, a depth of 1 to 3.
    pub fn new(buffer_ms: i64, min_overlap_ms: i64, depth: u8) -> Result<Self, TraceError> {
        if !(0..=MAX_SETTING_MS).contains(&buffer_ms) {
            return Err(TraceError::Buffer);
        }
        if !(0..=MAX_SETTING_MS).contains(&min_overlap_ms) {
            return Err(TraceError::MinOverlap);
        }
        if !(1..=MAX_DEPTH).contains(&depth) {
            return Err(TraceError::Depth);
        }
        Ok(Self { buffer_ms, min_overlap_ms, depth })
    }

    /// The buffer.
    pub fn buffer_ms(&self) -> i64 {
        self.buffer_ms
    }

    /// The minimum overlap.
    pub fn min_overlap_ms(&self) -> i64 {
        self.min_overlap_ms
    }

    /// The depth.
    pub fn depth(&self) -> u8 {
        self.depth
    }
}

impl Default for TraceParams {
    /// A 15-minute buffer, no minimum overlap, F1 and F2.
    fn default() -> Self {
        Self { buffer_ms: DEFAULT_BUFFER_MS, min_overlap_ms: 0, depth: 2 }
    }
}

/// Days before symptom onset (or the positive test) that a case's infectious window starts.
pub const WINDOW_DAYS_BEFORE: i64 = 2;
/// The longest infectious window accepted: a month.
pub const MAX_WINDOW_MS: i64 = 31 * 24 * 3_600_000;

/// Where a case stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    /// Suspected (nghi nhiễm): traced, not yet confirmed.
    Suspected,
    /// Confirmed (F0).
    Confirmed,
    /// Closed: tracing is over.
    Closed,
}

impl CaseStatus {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Suspected => "suspected",
            Self::Confirmed => "confirmed",
            Self::Closed => "closed",
        }
    }

    /// From the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Suspected, Self::Confirmed, Self::Closed].into_iter().find(|c| c.as_str() == s)
    }
}

/// What the infectious window is counted from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseBasis {
    /// The day symptoms began.
    Onset,
    /// The day of the positive test (a case without symptoms).
    Test,
}

impl CaseBasis {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Onset => "onset",
            Self::Test => "test",
        }
    }

    /// From the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Onset, Self::Test].into_iter().find(|c| c.as_str() == s)
    }
}

/// Where people count as together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Place {
    /// A checkpoint in no space.
    Checkpoint(CheckpointId),
    /// A space and every checkpoint in it.
    Space(SpaceId),
}

/// Which checkpoints are grouped into spaces.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Places {
    space_of: HashMap<CheckpointId, SpaceId>,
    members: HashMap<SpaceId, Vec<CheckpointId>>,
}

impl Places {
    /// From `(space, checkpoint)` pairs; a checkpoint is in one space at most (a later pair for
    /// the same checkpoint is ignored).
    pub fn new(pairs: impl IntoIterator<Item = (SpaceId, CheckpointId)>) -> Self {
        let mut p = Self::default();
        for (space, checkpoint) in pairs {
            if p.space_of.contains_key(&checkpoint) {
                continue;
            }
            p.space_of.insert(checkpoint, space);
            p.members.entry(space).or_default().push(checkpoint);
        }
        for list in p.members.values_mut() {
            list.sort_unstable();
        }
        p
    }

    /// The place a checkpoint belongs to.
    pub fn place(&self, checkpoint: CheckpointId) -> Place {
        self.space_of.get(&checkpoint).map_or(Place::Checkpoint(checkpoint), |s| Place::Space(*s))
    }

    /// The checkpoints of a place.
    pub fn checkpoints(&self, place: Place) -> Vec<CheckpointId> {
        match place {
            Place::Checkpoint(c) => vec![c],
            Place::Space(s) => self.members.get(&s).cloned().unwrap_or_default(),
        }
    }
}

/// One time a contact was with the person they were found through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Exposure {
    /// When their time together began (the overlap with the widened stay).
    pub from: i64,
    /// When it ended.
    pub to: i64,
    /// Who they were with: the case, or a contact one degree nearer.
    pub via: UserId,
    /// That person's visit.
    pub via_visit: i64,
    /// The contact's visit.
    pub visit: i64,
    /// The contact's checkpoint (the place they shared is its place: see [`Places::place`]).
    pub checkpoint: CheckpointId,
}

impl Exposure {
    /// How long they were together.
    pub fn overlap_ms(&self) -> i64 {
        self.to - self.from
    }
}

/// A person found by tracing. Their exposures are in the [`Contacts`] they came in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    /// Who.
    pub user: UserId,
    /// 1 for F1, 2 for F2, 3 for F3.
    pub degree: u8,
    /// When their earliest exposure began.
    pub exposed_from: i64,
    /// Where their exposures are: which of the lists, and where in it.
    exposures: (usize, Range<usize>),
}

/// What tracing found: the contacts, by degree and then by when their exposure began, and the
/// exposures of each.
///
/// An F2 step finds hundreds of thousands of contacts with one or two exposures each. A list of
/// its own for each made as many small allocations, and freeing them left glibc's allocator
/// hundreds of thousands of small blocks to merge at the next large allocation: 5–25 ms, in
/// whatever request came next. So each thread of each step writes its exposures to one list, and
/// a contact knows its part of it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contacts {
    list: Vec<Contact>,
    exposures: Vec<Vec<Exposure>>,
}

impl Contacts {
    /// Every exposure of `contact` at its degree, earliest first (none for a contact from other
    /// `Contacts`).
    pub fn exposures(&self, contact: &Contact) -> &[Exposure] {
        let (list, range) = &contact.exposures;
        self.exposures.get(*list).and_then(|l| l.get(range.clone())).unwrap_or_default()
    }
}

impl<'a> IntoIterator for &'a Contacts {
    type Item = &'a Contact;
    type IntoIter = std::slice::Iter<'a, Contact>;

    fn into_iter(self) -> Self::IntoIter {
        self.list.iter()
    }
}

impl std::ops::Deref for Contacts {
    type Target = [Contact];

    fn deref(&self) -> &[Contact] {
        &self.list
    }
}

/// A person's visits the tracer needs: those overlapping `[from, to]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonSpan {
    /// Whose.
    pub user: UserId,
    /// From.
    pub from: i64,
    /// To.
    pub to: i64,
}

/// Visits at a place the tracer needs: those at any of `checkpoints` overlapping `[from, to]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceSpan {
    /// The place's checkpoints.
    pub checkpoints: Vec<CheckpointId>,
    /// From.
    pub from: i64,
    /// To.
    pub to: i64,
}

/// What the tracer needs next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Need {
    /// These people's visits (give them to [`Tracer::give_visits_of`]).
    VisitsOf(Vec<PersonSpan>),
    /// The visits at these places (give them to [`Tracer::give_visits_at`]).
    VisitsAt(Vec<PlaceSpan>),
    /// Nothing: the contacts are known.
    Done,
}

/// From how many visits at one step tracing shares the work out between two threads.
const PARALLEL_VISITS: usize = 20_000;

/// Into how many groups by person a step deals its visits (see [`Tracer::contacts_in`]).
const GROUPS: usize = 256;

/// A person's group: the top bits of a multiplicative hash of their id, so that ids given out
/// one after another spread over every group.
fn group_of(user: UserId) -> usize {
    let hash = user.0.cast_unsigned().wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56;
    usize::from(u8::try_from(hash).unwrap_or(u8::MAX))
}

/// The stays traced from at one place, sorted by start, and the longest of them (so that a visit
/// there is compared only with stays that could reach it).
#[derive(Debug, Clone, Default)]
struct PlaceSources {
    list: Vec<Source>,
    longest: i64,
}

/// The places with stays to trace from at one degree, and which of them each of their checkpoints
/// belongs to.
#[derive(Debug)]
struct PlaceIndex<'a> {
    places: Vec<&'a PlaceSources>,
    of: FxHashMap<CheckpointId, usize>,
}

impl<'a> PlaceIndex<'a> {
    fn of(sources: &'a BTreeMap<Place, PlaceSources>, places: &Places) -> Self {
        let mut at = Self { places: Vec::with_capacity(sources.len()), of: FxHashMap::default() };
        for (place, here) in sources {
            for checkpoint in places.checkpoints(*place) {
                at.of.insert(checkpoint, at.places.len());
            }
            at.places.push(here);
        }
        at
    }
}

/// A visit dealt to a group by person: the index of its place in [`PlaceIndex::places`], and of
/// the first of the stays there that could reach it.
#[derive(Debug, Clone, Copy)]
struct Dealt {
    visit: Visit,
    place: u32,
    first: u32,
}

/// A stay of a person traced from, clipped and widened.
#[derive(Debug, Clone, Copy)]
struct Source {
    from: i64,
    to: i64,
    via: UserId,
    via_visit: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Sources,
    Places,
    Done,
}

/// Traces one case; see the module's rules.
#[derive(Debug, Clone)]
pub struct Tracer {
    params: TraceParams,
    places: Places,
    window_end: i64,
    degree: u8,
    stage: Stage,
    /// The people traced from at this degree, with when their exposure began.
    frontier: Vec<(UserId, i64)>,
    /// Everyone found so far, the case at degree 0. (User ids come from the store, not from
    /// whoever asks: a fast hash is safe here, and tracing hashes every visit it reads.)
    known: FxHashMap<UserId, u8>,
    /// This degree's stays to trace from, by place.
    sources: BTreeMap<Place, PlaceSources>,
    contacts: Contacts,
    /// From how many visits one step shares its work out between two threads.
    parallel_from: usize,
}

impl Tracer {
    /// Starts tracing `case` over the infectious window `[from, to]`.
    pub fn new(case: UserId, from: i64, to: i64, params: TraceParams, places: Places) -> Result<Self, TraceError> {
        if to < from {
            return Err(TraceError::Window);
        }
        Ok(Self {
            params,
            places,
            window_end: to,
            degree: 1,
            stage: Stage::Sources,
            frontier: vec![(case, from)],
            known: FxHashMap::from_iter([(case, 0)]),
            sources: BTreeMap::new(),
            contacts: Contacts::default(),
            parallel_from: PARALLEL_VISITS,
        })
    }

    /// What to fetch next.
    pub fn need(&self) -> Need {
        match self.stage {
            Stage::Sources => Need::VisitsOf(
                self.frontier
                    .iter()
                    .map(|(user, from)| PersonSpan { user: *user, from: *from, to: self.window_end })
                    .collect(),
            ),
            Stage::Places => Need::VisitsAt(self.place_spans()),
            Stage::Done => Need::Done,
        }
    }

    /// The spans to search at each place: this degree's widened stays there, merged where they
    /// overlap or touch.
    fn place_spans(&self) -> Vec<PlaceSpan> {
        let mut spans = Vec::new();
        for (place, sources) in &self.sources {
            let checkpoints = self.places.checkpoints(*place);
            let mut current: Option<(i64, i64)> = None;
            for s in &sources.list {
                current = match current {
                    Some((from, to)) if s.from <= to => Some((from, to.max(s.to))),
                    Some((from, to)) => {
                        spans.push(PlaceSpan { checkpoints: checkpoints.clone(), from, to });
                        Some((s.from, s.to))
                    }
                    None => Some((s.from, s.to)),
                };
            }
            if let Some((from, to)) = current {
                spans.push(PlaceSpan { checkpoints, from, to });
            }
        }
        spans
    }

    /// The visits asked for by [`Need::VisitsOf`] (others are ignored).
    pub fn give_visits_of(&mut self, visits: &[Visit]) {
        if self.stage != Stage::Sources {
            return;
        }
        let exposed: FxHashMap<UserId, i64> = self.frontier.iter().copied().collect();
        let mut seen = FxHashSet::default();
        self.sources.clear();
        for v in visits {
            let Some(since) = exposed.get(&v.user) else { continue };
            if !seen.insert(v.id) {
                continue;
            }
            let (from, to) = (v.start.max(*since), v.end.min(self.window_end));
            if from > to {
                continue;
            }
            let source = Source {
                from: from.saturating_sub(self.params.buffer_ms),
                to: to.saturating_add(self.params.buffer_ms),
                via: v.user,
                via_visit: v.id,
            };
            let here = self.sources.entry(self.places.place(v.checkpoint)).or_default();
            here.longest = here.longest.max(source.to - source.from);
            here.list.push(source);
        }
        for here in self.sources.values_mut() {
            here.list.sort_by_key(|s| (s.from, s.to, s.via_visit));
        }
        self.stage = if self.sources.is_empty() { Stage::Done } else { Stage::Places };
    }

    /// The visits asked for by [`Need::VisitsAt`]; the same visit given twice counts once. Many
    /// visits (an F2 step reads hundreds of thousands) are shared out between two threads by
    /// person.
    pub fn give_visits_at(&mut self, visits: &[Visit]) {
        if self.stage != Stage::Places {
            return;
        }
        let at = PlaceIndex::of(&self.sources, &self.places);
        // The exposures' lists are numbered on from those of the earlier steps.
        let list = self.contacts.exposures.len();
        let (mut found, exposures) = std::thread::scope(|scope| {
            let other = (visits.len() >= self.parallel_from)
                .then(|| {
                    std::thread::Builder::new()
                        .name("vaora-trace".into())
                        .spawn_scoped(scope, || self.contacts_in(visits, &at, Some(1), list + 1))
                })
                // No thread to be had: one does it all.
                .and_then(Result::ok);
            match other {
                Some(other) => {
                    let (found, exposures) = self.contacts_in(visits, &at, Some(0), list);
                    let (other, others) = other.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                    (merge(found, other), vec![exposures, others])
                }
                None => {
                    let (found, exposures) = self.contacts_in(visits, &at, None, list);
                    (found, vec![exposures])
                }
            }
        });
        self.contacts.exposures.extend(exposures);
        self.sources.clear();
        self.degree += 1;
        self.frontier.clear();
        if self.degree <= self.params.depth {
            // Traced from at the next degree (the last degree's contacts need not be remembered).
            self.known.reserve(found.len());
            for c in &found {
                self.known.insert(c.user, c.degree);
                self.frontier.push((c.user, c.exposed_from));
            }
        }
        self.contacts.list.append(&mut found);
        self.stage = if self.frontier.is_empty() { Stage::Done } else { Stage::Sources };
    }

    /// The people not yet known who were exposed in `visits`, at this degree, and their exposures
    /// (to be the `list`th of [`Contacts`]); with `half`, only those of one half of the groups (0
    /// or 1).
    ///
    /// The visits come by checkpoint, and a person's exposures must come together. Keeping every
    /// person's list open while going through the visits writes a million exposures all over
    /// memory at an F2 step, and sorting the visits by person reads them all over memory. So
    /// they are first dealt into groups by person, each small enough for the processor's cache,
    /// and each group is then sorted and gone through on its own.
    fn contacts_in(
        &self,
        visits: &[Visit],
        at: &PlaceIndex<'_>,
        half: Option<usize>,
        list: usize,
    ) -> (Vec<Contact>, Vec<Exposure>) {
        // A small step (an F1 step: a few thousand visits) fits the cache as it is: one group.
        let count = if half.is_none() && visits.len() < PARALLEL_VISITS { 1 } else { GROUPS };
        let groups = half.map_or(0..count, |h| h * count / 2..(h + 1) * count / 2);
        let mut dealt: Vec<Vec<Dealt>> = (0..count)
            .map(|g| if groups.contains(&g) { Vec::with_capacity(visits.len() / count + 64) } else { Vec::new() })
            .collect();
        let mut run: Option<(CheckpointId, Option<usize>)> = None;
        for v in visits {
            let group = if count == 1 { 0 } else { group_of(v.user) };
            if !groups.contains(&group) {
                continue;
            }
            // Visits at one checkpoint come one after another: one look-up for each run.
            let place = match run {
                Some((c, place)) if c == v.checkpoint => place,
                _ => {
                    let place = at.of.get(&v.checkpoint).copied();
                    run = Some((v.checkpoint, place));
                    place
                }
            };
            if let Some(place) = place
                && !self.known.contains_key(&v.user)
            {
                // Where the stays that could reach it begin: looked for here, while this place's
                // stays are in the cache (further on, the visits come by person).
                let here = at.places[place];
                let first = here.list.partition_point(|s| s.from < v.start.saturating_sub(here.longest));
                dealt[group].push(Dealt { visit: *v, place: place as u32, first: first as u32 });
            }
        }

        // Room enough from the start: grown step by step, these lists of megabytes were copied at
        // each doubling into memory the system had to hand out afresh. A step makes at most one
        // contact per visit dealt, and about two exposures or fewer (on the benchmark's data); a
        // step that makes more grows its list once or twice.
        let dealt_visits: usize = dealt.iter().map(Vec::len).sum();
        let mut contacts = Vec::with_capacity(dealt_visits);
        let mut exposures: Vec<Exposure> = Vec::with_capacity(dealt_visits * 2);
        for mut group in dealt {
            group.sort_unstable_by_key(|d| d.visit.user);
            for person in group.chunk_by(|a, b| a.visit.user == b.visit.user) {
                let start = exposures.len();
                for d in person {
                    let here = at.places[d.place as usize];
                    self.expose(&d.visit, &here.list[d.first as usize..], &mut exposures);
                }
                // A visit given twice made the same exposures twice.
                exposures[start..].sort_unstable_by_key(|e| (e.from, e.to, e.via_visit, e.visit));
                dedup_from(&mut exposures, start);
                if let Some(first) = exposures.get(start) {
                    contacts.push(Contact {
                        user: person[0].visit.user,
                        degree: self.degree,
                        exposed_from: first.from,
                        exposures: (list, start..exposures.len()),
                    });
                }
            }
        }
        // In the order of `contacts()`, on this thread: an F2 step finds a few hundred thousand.
        contacts.sort_unstable_by_key(|c| (c.exposed_from, c.user));
        (contacts, exposures)
    }

    /// The exposures of the visit `v`, where `stays` are the stays traced from at its place that
    /// start no earlier than the longest stay there could reach it, by start.
    fn expose(&self, v: &Visit, stays: &[Source], exposures: &mut Vec<Exposure>) {
        // Only stays that start at or before the visit ends.
        for s in stays.iter().take_while(|s| s.from <= v.end) {
            if s.to < v.start || s.via == v.user {
                continue;
            }
            let (from, to) = (v.start.max(s.from), v.end.min(s.to));
            if from <= to && to - from >= self.params.min_overlap_ms {
                exposures.push(Exposure {
                    from,
                    to,
                    via: s.via,
                    via_visit: s.via_visit,
                    visit: v.id,
                    checkpoint: v.checkpoint,
                });
            }
        }
    }

    /// Whether every contact is found.
    pub fn is_done(&self) -> bool {
        self.stage == Stage::Done
    }

    /// The contacts: by degree, then by when their exposure began.
    pub fn contacts(mut self) -> Contacts {
        // Each person once: an unstable sort gives the one order. Each step's contacts come in
        // this order already, and a sorted list is only looked through.
        self.contacts.list.sort_unstable_by_key(|c| (c.degree, c.exposed_from, c.user));
        self.contacts
    }
}

/// Drops the repeats from `list[start..]`, which is sorted.
fn dedup_from(list: &mut Vec<Exposure>, start: usize) {
    let mut kept = start;
    for i in start..list.len() {
        if kept == start || list[i] != list[kept - 1] {
            list[kept] = list[i];
            kept += 1;
        }
    }
    list.truncate(kept);
}

/// Two lists of contacts in order of exposure and person, as one.
fn merge(a: Vec<Contact>, b: Vec<Contact>) -> Vec<Contact> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
    loop {
        let from_a = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => (x.exposed_from, x.user) <= (y.exposed_from, y.user),
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => return out,
        };
        out.extend(if from_a { a.next() } else { b.next() });
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use proptest::prelude::*;

    use super::*;

    const MIN: i64 = 60_000;

    fn v(id: i64, user: i64, checkpoint: i64, start: i64, end: i64) -> Visit {
        Visit { id, user: UserId(user), checkpoint: CheckpointId(checkpoint), start: start * MIN, end: end * MIN }
    }

    /// Runs a tracer against visits held in memory, as a store would answer it.
    fn trace(visits: &[Visit], case: i64, from: i64, to: i64, params: TraceParams, places: &Places) -> Contacts {
        trace_in(visits, case, (from, to), params, places, false)
    }

    /// As [`trace`]; `parallel`: every step shares its work between two threads, however few
    /// visits it has.
    fn trace_in(
        visits: &[Visit],
        case: i64,
        (from, to): (i64, i64),
        params: TraceParams,
        places: &Places,
        parallel: bool,
    ) -> Contacts {
        let mut t = Tracer::new(UserId(case), from, to, params, places.clone()).unwrap();
        if parallel {
            t.parallel_from = 0;
        }
        let mut rounds = 0;
        loop {
            match t.need() {
                Need::VisitsOf(people) => {
                    let got: Vec<Visit> = people
                        .iter()
                        .flat_map(|p| {
                            visits.iter().filter(move |v| v.user == p.user && v.start <= p.to && v.end >= p.from)
                        })
                        .copied()
                        .collect();
                    t.give_visits_of(&got);
                }
                Need::VisitsAt(spans) => {
                    let got: Vec<Visit> = spans
                        .iter()
                        .flat_map(|s| {
                            visits.iter().filter(move |v| {
                                s.checkpoints.contains(&v.checkpoint) && v.start <= s.to && v.end >= s.from
                            })
                        })
                        .copied()
                        .collect();
                    t.give_visits_at(&got);
                }
                Need::Done => break,
            }
            rounds += 1;
            assert!(rounds <= 2 * usize::from(MAX_DEPTH), "a tracer ends");
        }
        t.contacts()
    }

    /// The rules applied as literally as they are written: every stay against every stay.
    fn brute_force(
        visits: &[Visit],
        case: i64,
        window: (i64, i64),
        params: TraceParams,
        places: &Places,
    ) -> BTreeMap<UserId, (u8, i64, BTreeSet<Exposure>)> {
        let mut known: BTreeMap<UserId, (u8, i64, BTreeSet<Exposure>)> = BTreeMap::new();
        let mut frontier = vec![(UserId(case), window.0)];
        let mut seen_people: BTreeSet<UserId> = BTreeSet::from([UserId(case)]);
        for degree in 1..=params.depth() {
            let mut found: BTreeMap<UserId, BTreeSet<Exposure>> = BTreeMap::new();
            for (source, since) in &frontier {
                for sv in visits.iter().filter(|x| x.user == *source) {
                    let (a, b) = (sv.start.max(*since), sv.end.min(window.1));
                    if a > b {
                        continue;
                    }
                    let (wa, wb) = (a - params.buffer_ms(), b + params.buffer_ms());
                    for other in visits {
                        if other.user == *source
                            || seen_people.contains(&other.user)
                            || places.place(other.checkpoint) != places.place(sv.checkpoint)
                        {
                            continue;
                        }
                        let (lo, hi) = (other.start.max(wa), other.end.min(wb));
                        if lo <= hi && hi - lo >= params.min_overlap_ms() {
                            found.entry(other.user).or_default().insert(Exposure {
                                from: lo,
                                to: hi,
                                via: *source,
                                via_visit: sv.id,
                                visit: other.id,
                                checkpoint: other.checkpoint,
                            });
                        }
                    }
                }
            }
            frontier.clear();
            for (user, exposures) in found {
                let first = exposures.iter().map(|e| e.from).min().unwrap();
                seen_people.insert(user);
                frontier.push((user, first));
                known.insert(user, (degree, first, exposures));
            }
        }
        known
    }

    fn as_map(contacts: &Contacts) -> BTreeMap<UserId, (u8, i64, BTreeSet<Exposure>)> {
        contacts
            .iter()
            .map(|c| (c.user, (c.degree, c.exposed_from, contacts.exposures(c).iter().copied().collect())))
            .collect()
    }

    #[test]
    fn a_hand_built_day_finds_f1_and_f2() {
        // Checkpoints 1 (gate) and 2 (reception) form one space; 3 is a café elsewhere.
        let places = Places::new([(SpaceId(7), CheckpointId(1)), (SpaceId(7), CheckpointId(2))]);
        let visits = [
            v(1, 100, 1, 8 * 60, 9 * 60),            // the case, at the gate 08:00–09:00
            v(2, 200, 2, 8 * 60 + 30, 10 * 60),      // F1: the reception of the same building
            v(3, 300, 1, 9 * 60 + 15, 9 * 60 + 20),  // F1: arrives exactly as the buffer ends
            v(4, 400, 1, 9 * 60 + 16, 9 * 60 + 30),  // no: after the buffer
            v(5, 200, 3, 12 * 60, 13 * 60),          // the F1 at the café later
            v(6, 500, 3, 12 * 60 + 59, 14 * 60),     // F2 through 200
            v(7, 600, 3, 7 * 60, 7 * 60 + 10),       // no: at the café before 200 was exposed
            v(8, 100, 3, 20 * 60, 21 * 60),          // the case at the café after the window
            v(9, 700, 3, 20 * 60, 21 * 60),          // no: outside the window
            v(10, 800, 2, 8 * 60 + 40, 8 * 60 + 40), // F1: a zero-length scan during the stay
        ];
        let params = TraceParams::default();
        let contacts = trace(&visits, 100, 0, 18 * 60 * MIN, params, &places);
        let got: Vec<(i64, u8)> = contacts.iter().map(|c| (c.user.0, c.degree)).collect();
        assert_eq!(got, [(200, 1), (800, 1), (300, 1), (400, 2), (500, 2)]);
        let vias: Vec<UserId> = contacts.exposures(&contacts[3]).iter().map(|e| e.via).collect();
        assert_eq!(vias, [UserId(200), UserId(300)], "400 met both F1s, each after their exposure");
        let f2 = &contacts[4];
        assert_eq!(f2.exposed_from, (12 * 60 + 59) * MIN);
        let first = contacts.exposures(f2)[0];
        assert_eq!((first.via, first.checkpoint), (UserId(200), CheckpointId(3)));
        assert_eq!(contacts.exposures(&contacts[2])[0].overlap_ms(), 0, "touching counts");
        // With a minimum overlap of 5 minutes the touch and the zero-length scan no longer count:
        // 300 is then an F2, through 200 at the reception.
        let strict = TraceParams::new(DEFAULT_BUFFER_MS, 5 * MIN, 2).unwrap();
        let got: Vec<i64> = trace(&visits, 100, 0, 18 * 60 * MIN, strict, &places).iter().map(|c| c.user.0).collect();
        assert_eq!(got, [200, 300, 400, 500]);
        // F1 only.
        let f1 = TraceParams::new(DEFAULT_BUFFER_MS, 0, 1).unwrap();
        assert_eq!(trace(&visits, 100, 0, 18 * 60 * MIN, f1, &places).len(), 3);
        assert_eq!(as_map(&contacts), brute_force(&visits, 100, (0, 18 * 60 * MIN), params, &places));
    }

    #[test]
    fn settings_are_checked() {
        assert_eq!(TraceParams::new(0, 0, 0), Err(TraceError::Depth));
        assert_eq!(TraceParams::new(0, 0, 4), Err(TraceError::Depth));
        assert_eq!(TraceParams::new(-1, 0, 1), Err(TraceError::Buffer));
        assert_eq!(TraceParams::new(0, 25 * 60 * MIN, 1), Err(TraceError::MinOverlap));
        assert!(Tracer::new(UserId(1), 10, 9, TraceParams::default(), Places::default()).is_err());
        let t = Tracer::new(UserId(1), 10, 10, TraceParams::default(), Places::default()).unwrap();
        assert_eq!(t.need(), Need::VisitsOf(vec![PersonSpan { user: UserId(1), from: 10, to: 10 }]));
    }

    fn visits_strategy() -> impl Strategy<Value = Vec<Visit>> {
        // Few people, places and minutes, so that stays meet, touch and nest often; some are
        // zero-length, some run past the window (as a visit still open does, to its planned end).
        proptest::collection::vec((0i64..12, 1i64..7, 0i64..120, prop_oneof![Just(0i64), 0i64..40, 0i64..200]), 0..60)
            .prop_map(|raw| {
                raw.into_iter()
                    .enumerate()
                    .map(|(i, (user, cp, start, len))| v(i as i64 + 1, user, cp, start, start + len))
                    .collect()
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        #[test]
        fn the_tracer_agrees_with_brute_force(
            visits in visits_strategy(),
            case in 0i64..12,
            window in (0i64..150, 0i64..150),
            buffer in prop_oneof![Just(0i64), 0i64..20],
            min_overlap in prop_oneof![Just(0i64), 0i64..15],
            depth in 1u8..=3,
            spaced in proptest::bool::ANY,
            parallel in proptest::bool::ANY,
        ) {
            let (from, to) = (window.0.min(window.1) * MIN, window.0.max(window.1) * MIN);
            let params = TraceParams::new(buffer * MIN, min_overlap * MIN, depth).unwrap();
            // Sometimes checkpoints 1 and 2 are one space, and 3 and 4 another.
            let places = if spaced {
                Places::new([(SpaceId(1), CheckpointId(1)), (SpaceId(1), CheckpointId(2)), (SpaceId(2), CheckpointId(3)), (SpaceId(2), CheckpointId(4))])
            } else {
                Places::default()
            };
            let got = trace_in(&visits, case, (from, to), params, &places, parallel);
            for c in &got {
                prop_assert!(c.user != UserId(case), "the case is no contact");
                prop_assert!(c.degree >= 1 && c.degree <= depth);
            }
            prop_assert_eq!(as_map(&got), brute_force(&visits, case, (from, to), params, &places));
        }
    }
}
