//! Content models compiled to automata, once per schema: a Glushkov automaton over a model's element
//! declarations (its positions), with a counter for the current position's repetitions, so each child costs
//! one lookup in its state's transitions whatever the model's shape.
//!
//! Counting only the current position is exact when only elements repeat a bounded number of times (every FA
//! model: groups occur at most once, or any number of times from none or one); a model where a group repeats
//! a bounded number of times or is required more than once, or that is not deterministic (XSD's unique
//! particle attribution), is refused when compiled.

use std::collections::BTreeMap;

use crate::schema::{ElementDecl, Particle, Term};

/// A compiled content model.
#[derive(Debug, Clone, Default)]
pub(crate) struct Automaton {
    /// By state (0: before the first child, `p + 1`: at position `p`): the position each element number leads
    /// to, sorted by element number.
    next: Vec<Box<[(u32, u32)]>>,
    positions: Vec<Position>,
    /// Whether no children at all fit.
    empty_fits: bool,
}

/// One element declaration of the model.
#[derive(Debug, Clone)]
struct Position {
    decl: ElementDecl,
    min: u32,
    max: Option<u32>,
    /// Whether the content may end here (once `min` is reached).
    last: bool,
}

/// Where a content model stands in an element's children: its state and how many times in a row the
/// current position has matched.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cursor {
    state: u32,
    count: u32,
}

impl Cursor {
    /// Before the first child.
    pub(crate) const START: Cursor = Cursor { state: 0, count: 0 };
}

/// What a particle contributes to the automaton being built: the positions it can begin and end with.
struct Fragment {
    first: Vec<u32>,
    last: Vec<u32>,
    nullable: bool,
}

/// The automaton under construction.
#[derive(Default)]
struct Builder {
    positions: Vec<Position>,
    /// Positions that may follow each position (other than itself again: its counter's business).
    follow: Vec<Vec<u32>>,
}

impl Automaton {
    /// The automaton of content model `p`, or why it cannot be compiled.
    pub(crate) fn compile(p: &Particle) -> Result<Automaton, String> {
        let mut builder = Builder::default();
        let whole = builder.particle(p)?;
        for at in &whole.last {
            builder.positions[*at as usize].last = true;
        }
        let next_of = |targets: &[u32], from: Option<&Position>| -> Result<Box<[(u32, u32)]>, String> {
            let mut next = BTreeMap::new();
            for &q in targets {
                let decl = &builder.positions[q as usize].decl;
                // A position that repeats must not also be followed by another of its name: which one a
                // child matched would depend on what comes after it.
                let repeats = from.is_some_and(|p| p.decl.id == decl.id && p.max != Some(1));
                if next.insert(decl.id, q).is_some() || repeats {
                    return Err(format!("element '{}' is ambiguous here (unique particle attribution)", decl.name));
                }
            }
            Ok(next.into_iter().collect())
        };
        let mut next = vec![next_of(&whole.first, None)?];
        for (at, follow) in builder.follow.iter().enumerate() {
            next.push(next_of(follow, Some(&builder.positions[at]))?);
        }
        Ok(Automaton { next, positions: builder.positions, empty_fits: whole.nullable })
    }

    /// Takes the child numbered `id`: the declaration it matches, or `None` if it does not fit here.
    pub(crate) fn step(&self, at: &mut Cursor, id: u32) -> Option<&ElementDecl> {
        if let Some(here) = at.state.checked_sub(1).map(|p| &self.positions[p as usize]) {
            if here.decl.id == id && here.max.is_none_or(|max| at.count < max) {
                at.count += 1;
                return Some(&here.decl);
            }
            if at.count < here.min {
                return None;
            }
        }
        let next = &self.next[at.state as usize];
        let found = next.binary_search_by_key(&id, |(id, _)| *id).ok()?;
        let q = next[found].1;
        *at = Cursor { state: q + 1, count: 1 };
        Some(&self.positions[q as usize].decl)
    }

    /// Whether the children so far are complete content.
    pub(crate) fn accepts(&self, at: Cursor) -> bool {
        match at.state.checked_sub(1) {
            None => self.empty_fits,
            Some(p) => {
                let here = &self.positions[p as usize];
                here.last && at.count >= here.min
            }
        }
    }
}

impl Builder {
    fn particle(&mut self, p: &Particle) -> Result<Fragment, String> {
        if p.max == Some(0) {
            return Ok(Fragment { first: Vec::new(), last: Vec::new(), nullable: true });
        }
        // A group's rounds are not counted: it may occur once or any number of times, from none or one.
        if !matches!(p.term, Term::Element(_)) {
            if p.min > 1 {
                return Err("a group required more than once is not supported".to_owned());
            }
            if p.max.is_some_and(|max| max > 1) {
                return Err("a group repeated a bounded number of times is not supported".to_owned());
            }
        }
        let mut fragment = match &p.term {
            Term::Element(decl) => {
                let at = self.positions.len() as u32;
                self.positions.push(Position { decl: (**decl).clone(), min: p.min, max: p.max, last: false });
                self.follow.push(Vec::new());
                // Its own repetitions are counted, not followed.
                return Ok(Fragment { first: vec![at], last: vec![at], nullable: p.min == 0 });
            }
            Term::Sequence(items) => {
                let mut first = Vec::new();
                let mut ends: Vec<u32> = Vec::new();
                let mut all_nullable = true;
                for item in items {
                    let f = self.particle(item)?;
                    for end in &ends {
                        self.follow[*end as usize].extend(&f.first);
                    }
                    if all_nullable {
                        first.extend(&f.first);
                    }
                    if f.nullable {
                        ends.extend(f.last);
                    } else {
                        ends = f.last;
                    }
                    all_nullable &= f.nullable;
                }
                Fragment { first, last: ends, nullable: all_nullable }
            }
            Term::Choice(items) => {
                let mut fragment = Fragment { first: Vec::new(), last: Vec::new(), nullable: false };
                for item in items {
                    let f = self.particle(item)?;
                    fragment.first.extend(f.first);
                    fragment.last.extend(f.last);
                    fragment.nullable |= f.nullable;
                }
                fragment
            }
        };
        if p.max.is_none() {
            for end in &fragment.last {
                self.follow[*end as usize].extend(&fragment.first);
            }
        }
        fragment.nullable |= p.min == 0;
        Ok(fragment)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::TypeRef;

    fn element(name: &str, id: u32, min: u32, max: Option<u32>) -> Particle {
        let decl = ElementDecl { name: name.to_owned(), namespace: None, ty: TypeRef::Simple(0), fixed: None, id };
        Particle { min, max, term: Term::Element(Box::new(decl)) }
    }

    fn group(min: u32, max: Option<u32>, term: fn(Vec<Particle>) -> Term, items: Vec<Particle>) -> Particle {
        Particle { min, max, term: term(items) }
    }

    /// Whether the children numbered `ids` fit `model`.
    fn fits(model: &Automaton, ids: &[u32]) -> bool {
        let mut at = Cursor::START;
        ids.iter().all(|id| model.step(&mut at, *id).is_some()) && model.accepts(at)
    }

    #[test]
    fn a_sequence_takes_its_items_in_order_skipping_only_optional_ones() {
        // (a, b?, c{2,3}, d*)
        let model = group(1, Some(1), Term::Sequence, vec![element("a", 1, 1, Some(1)), element("b", 2, 0, Some(1)), element("c", 3, 2, Some(3)), element("d", 4, 0, None)]);
        let model = Automaton::compile(&model).unwrap();
        for good in [&[1, 3, 3][..], &[1, 2, 3, 3], &[1, 3, 3, 3, 4, 4, 4], &[1, 2, 3, 3, 4]] {
            assert!(fits(&model, good), "{good:?}");
        }
        for bad in [&[][..], &[1], &[1, 3], &[1, 3, 3, 3, 3], &[1, 2, 2, 3, 3], &[3, 3], &[1, 3, 3, 2], &[1, 3, 3, 9]] {
            assert!(!fits(&model, bad), "{bad:?}");
        }
    }

    #[test]
    fn a_choice_takes_one_alternative_and_an_optional_group_may_be_absent() {
        // (a | (b, c)), (d, e)?
        let choice = group(1, Some(1), Term::Choice, vec![element("a", 1, 1, Some(1)), group(1, Some(1), Term::Sequence, vec![element("b", 2, 1, Some(1)), element("c", 3, 1, Some(1))])]);
        let tail = group(0, Some(1), Term::Sequence, vec![element("d", 4, 1, Some(1)), element("e", 5, 1, Some(1))]);
        let model = Automaton::compile(&group(1, Some(1), Term::Sequence, vec![choice, tail])).unwrap();
        for good in [&[1][..], &[2, 3], &[1, 4, 5], &[2, 3, 4, 5]] {
            assert!(fits(&model, good), "{good:?}");
        }
        for bad in [&[][..], &[1, 2, 3], &[2], &[1, 4], &[1, 5], &[3]] {
            assert!(!fits(&model, bad), "{bad:?}");
        }
    }

    #[test]
    fn a_group_repeated_any_number_of_times_starts_over_after_its_end() {
        // (a, b?)*
        let model = Automaton::compile(&group(0, None, Term::Sequence, vec![element("a", 1, 1, Some(1)), element("b", 2, 0, Some(1))])).unwrap();
        for good in [&[][..], &[1], &[1, 2, 1], &[1, 1, 2, 1, 2]] {
            assert!(fits(&model, good), "{good:?}");
        }
        for bad in [&[2][..], &[1, 2, 2]] {
            assert!(!fits(&model, bad), "{bad:?}");
        }
    }

    #[test]
    fn ambiguous_models_and_bounded_group_repetitions_are_refused() {
        // (a?, a): which `a` a lone child is depends on what follows.
        let ambiguous = group(1, Some(1), Term::Sequence, vec![element("a", 1, 0, Some(1)), element("a", 1, 1, Some(1))]);
        assert!(Automaton::compile(&ambiguous).unwrap_err().contains("ambiguous"));
        // (a{1,2}, a)
        let counted = group(1, Some(1), Term::Sequence, vec![element("a", 1, 1, Some(2)), element("a", 1, 1, Some(1))]);
        assert!(Automaton::compile(&counted).unwrap_err().contains("ambiguous"));
        // (a, a) is not ambiguous.
        assert!(Automaton::compile(&group(1, Some(1), Term::Sequence, vec![element("a", 1, 1, Some(1)), element("a", 1, 1, Some(1))])).is_ok());
        let bounded = group(1, Some(3), Term::Sequence, vec![element("a", 1, 1, Some(1))]);
        assert!(Automaton::compile(&bounded).unwrap_err().contains("bounded"));
        // (a, b){2,}: at least two rounds, which one counter per element cannot tell.
        let twice = group(2, None, Term::Sequence, vec![element("a", 1, 1, Some(1)), element("b", 2, 1, Some(1))]);
        assert!(Automaton::compile(&twice).unwrap_err().contains("more than once"));
    }
}
