//! The duplicate check of a ticket's creation: how alike two titles are.
//!
//! Trigram similarity (as PostgreSQL's pg_trgm): each word padded with spaces is cut
//! into three-character pieces, and two titles score the share of pieces they have in
//! common. Word order, case, punctuation and a typo or two barely matter; different
//! words do.

use std::collections::BTreeSet;

/// At or above this score two titles are worth showing as possible duplicates
/// (pg_trgm's default threshold).
pub const SIMILAR_THRESHOLD: f64 = 0.3;

fn trigrams(text: &str) -> BTreeSet<[char; 3]> {
    let mut out = BTreeSet::new();
    let lower = text.to_lowercase();
    for word in lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let padded: Vec<char> = "  "
            .chars()
            .chain(word.chars())
            .chain(std::iter::once(' '))
            .collect();
        for piece in padded.windows(3) {
            out.insert([piece[0], piece[1], piece[2]]);
        }
    }
    out
}

/// From 0 (nothing in common) to 1 (the same words).
pub fn similarity(a: &str, b: &str) -> f64 {
    shared(&trigrams(a), &trigrams(b))
}

fn shared(a: &BTreeSet<[char; 3]>, b: &BTreeSet<[char; 3]>) -> f64 {
    let union = a.union(b).count();
    if union == 0 {
        return 0.0;
    }
    a.intersection(b).count() as f64 / union as f64
}

/// The candidates alike enough to `title`, most alike first (ties: the later id
/// first), at most `limit`.
pub fn rank<T: Copy + Ord>(
    title: &str,
    candidates: impl IntoIterator<Item = (T, String)>,
    limit: usize,
) -> Vec<(T, f64)> {
    let wanted = trigrams(title);
    let mut scored: Vec<(T, f64)> = candidates
        .into_iter()
        .filter_map(|(id, other)| {
            let score = shared(&wanted, &trigrams(&other));
            (score >= SIMILAR_THRESHOLD).then_some((id, score))
        })
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.0.cmp(&a.0)));
    scored.truncate(limit);
    scored
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alike_titles_score_high_and_different_ones_low() {
        assert_eq!(similarity("Outlook", "outlook"), 1.0);
        assert!(similarity("Outlook disconnected", "outlook is disconected!") > 0.5);
        assert!(similarity("Printer jam on floor 2", "VPN drops every hour") < 0.1);
        assert_eq!(similarity("", "anything"), 0.0);
    }

    #[test]
    fn ranking_keeps_the_alike_most_alike_first() {
        let ranked = rank(
            "Email not working",
            [
                (1, "Printer offline".to_owned()),
                (2, "email not working for sales".to_owned()),
                (3, "Email not working".to_owned()),
                (4, "Emails not working".to_owned()),
            ],
            10,
        );
        let ids: Vec<i32> = ranked.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, vec![3, 4, 2]);
        assert_eq!(
            rank("Email not working", [(9, "Email".to_owned())], 0),
            vec![]
        );
    }
}
