//! Scoring: Gary Robinson's per-token probability with chi-squared combining, as SpamBayes
//! does it. A score near 1 is spam, near 0 ham; 0.5 is "no idea" (nothing known yet, or
//! evidence both ways).

/// How strongly an unknown token's 0.5 is believed (SpamBayes' `unknown_word_strength`).
const PRIOR_STRENGTH: f64 = 0.45;
const PRIOR: f64 = 0.5;
/// Tokens closer to 0.5 than this are left out (`minimum_prob_strength`).
const MIN_DISTANCE: f64 = 0.1;
/// At most this many of the strongest tokens decide (`max_discriminators`).
const MAX_CLUES: usize = 150;
/// How many clues are kept with a comment to show the moderator why.
pub const SHOWN_CLUES: usize = 5;

pub use crate::domain::spam::Counts;

/// A token that weighed in, and its spam probability.
#[derive(Debug, Clone, PartialEq)]
pub struct Clue {
    pub token: String,
    pub probability: f64,
}

impl Clue {
    /// As stored with the comment: `0.99 casino`.
    pub fn stored(&self) -> String {
        format!("{:.2} {}", self.probability, self.token)
    }

    pub fn parse(stored: &str) -> Option<Self> {
        let (probability, token) = stored.split_once(' ')?;
        Some(Self {
            token: token.to_owned(),
            probability: probability.parse().ok()?,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub score: f64,
    /// How many tokens weighed in: none means the score is only "no idea".
    pub evidence: usize,
    /// The strongest clues, strongest first (at most `SHOWN_CLUES`).
    pub clues: Vec<Clue>,
}

/// The spam probability of one token seen in `counts` comments of a model of `model` comments.
pub fn probability(counts: Counts, model: Counts) -> f64 {
    let spam_ratio = f64::from(counts.spam) / f64::from(model.spam.max(1));
    let ham_ratio = f64::from(counts.ham) / f64::from(model.ham.max(1));
    let raw = if spam_ratio + ham_ratio == 0.0 {
        PRIOR
    } else {
        spam_ratio / (spam_ratio + ham_ratio)
    };
    let n = f64::from(counts.spam) + f64::from(counts.ham);
    (PRIOR_STRENGTH * PRIOR + n * raw) / (PRIOR_STRENGTH + n)
}

/// Scores a comment's tokens given each one's counts (unknown tokens: `None`).
pub fn score<'a>(
    tokens: impl IntoIterator<Item = (&'a str, Option<Counts>)>,
    model: Counts,
) -> Verdict {
    let mut clues: Vec<(f64, &str)> = tokens
        .into_iter()
        .map(|(token, counts)| {
            let p = counts.map_or(PRIOR, |c| probability(c, model));
            (p, token)
        })
        .filter(|(p, _)| (p - 0.5).abs() >= MIN_DISTANCE)
        .collect();
    // Strongest first; ties by token so a score never depends on the order of rows.
    clues.sort_by(|a, b| {
        (b.0 - 0.5)
            .abs()
            .total_cmp(&(a.0 - 0.5).abs())
            .then_with(|| a.1.cmp(b.1))
    });
    clues.truncate(MAX_CLUES);
    let score = if clues.is_empty() {
        0.5
    } else {
        let n = clues.len();
        let (ln_ham, ln_spam) = clues.iter().fold((0.0, 0.0), |(h, s), (p, _)| {
            (h + f64::ln(*p), s + f64::ln(1.0 - p))
        });
        let spamminess = 1.0 - chi2_q(-2.0 * ln_spam, 2 * n);
        let hamminess = 1.0 - chi2_q(-2.0 * ln_ham, 2 * n);
        (spamminess - hamminess + 1.0) / 2.0
    };
    Verdict {
        score,
        evidence: clues.len(),
        clues: clues
            .into_iter()
            .take(SHOWN_CLUES)
            .map(|(probability, token)| Clue {
                token: token.to_owned(),
                probability,
            })
            .collect(),
    }
}

/// The probability that a chi-squared variable with `freedom` (even) degrees exceeds `x2`.
fn chi2_q(x2: f64, freedom: usize) -> f64 {
    let m = x2 / 2.0;
    let mut term = (-m).exp();
    let mut sum = term;
    for i in 1..freedom / 2 {
        term *= m / i as f64;
        sum += term;
    }
    sum.min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(spam: u32, ham: u32) -> Option<Counts> {
        Some(Counts { spam, ham })
    }

    #[test]
    fn a_token_seen_only_in_spam_leans_to_spam_more_with_more_evidence() {
        let model = Counts {
            spam: 100,
            ham: 100,
        };
        let once = probability(Counts { spam: 1, ham: 0 }, model);
        let often = probability(Counts { spam: 40, ham: 0 }, model);
        assert!(once > 0.6 && often > once && often < 1.0, "{once} {often}");
        assert_eq!(probability(Counts::default(), model), 0.5);
        let balanced = probability(Counts { spam: 10, ham: 10 }, model);
        assert!((balanced - 0.5).abs() < 1e-9);
    }

    #[test]
    fn scores_follow_the_evidence_and_unknown_text_is_undecided() {
        let model = Counts { spam: 50, ham: 50 };
        let spammy = score(
            [
                ("casino", counts(30, 0)),
                ("bonus", counts(20, 1)),
                ("hello", counts(5, 5)),
            ],
            model,
        );
        assert!(spammy.score > 0.9, "{spammy:?}");
        assert_eq!(spammy.clues[0].token, "casino");
        assert!(
            spammy.clues.iter().all(|c| c.token != "hello"),
            "neutral tokens are not clues"
        );
        let hammy = score(
            [("recipe", counts(0, 25)), ("garden", counts(1, 30))],
            model,
        );
        assert!(hammy.score < 0.1, "{hammy:?}");
        let unknown = score([("zebra", None)], model);
        assert_eq!(unknown.score, 0.5);
        assert!(unknown.clues.is_empty());
        let mixed = score(
            [("casino", counts(30, 0)), ("recipe", counts(0, 30))],
            model,
        );
        assert!((mixed.score - 0.5).abs() < 0.05, "{mixed:?}");
    }

    #[test]
    fn a_clue_is_stored_and_read_back() {
        let clue = Clue {
            token: "url:casino.example".into(),
            probability: 0.987,
        };
        assert_eq!(clue.stored(), "0.99 url:casino.example");
        let back = Clue::parse(&clue.stored()).unwrap();
        assert_eq!(back.token, "url:casino.example");
        assert_eq!(back.probability, 0.99);
    }

    #[test]
    fn chi_squared_tail_matches_known_values() {
        // P(X > 2) for 2 degrees of freedom is e^-1.
        assert!((chi2_q(2.0, 2) - (-1.0f64).exp()).abs() < 1e-12);
        assert!(chi2_q(0.0, 10) == 1.0);
        assert!(chi2_q(100.0, 4) < 1e-15);
    }
}
