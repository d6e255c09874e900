//! The landmark document a CA publishes at `<log prefix>/landmarks` (draft §6.4.3
//! "Publishing Landmarks", -06/-07 shape with expiry times): a header line with the
//! latest landmark number, then `"<tree_size> <expiry>"` lines for landmarks latest,
//! latest-1, ... (tree sizes strictly decreasing, expiries non-increasing, POSIX
//! seconds). Landmark 0 is `0 0`. Parsing is strict: one space, `\n` line ends, no
//! leading zeros, values at most 2^48-1. Also: each landmark's two covering subtrees and
//! the landmark whose subtree holds a given entry (draft §6.4.4).
use super::error::FormatError;
use crate::tlog;
use crate::version::{CURRENT, MAX_TREE_SIZE};

/// One landmark: number, tree size and expiry (Unix seconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Landmark {
    pub number: u64,
    pub tree_size: u64,
    pub expiry: u64,
}

/// A landmark's subtree `[start, end)` (one of the two covering its interval).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LandmarkSubtree {
    pub landmark: u64,
    pub start: u64,
    pub end: u64,
}

/// A parsed landmark document; `landmarks` is newest first with consecutive numbers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LandmarkDocument {
    pub landmarks: Vec<Landmark>,
}

fn number(s: &str, line: usize) -> Result<u64, FormatError> {
    let ok =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    if !ok {
        return Err(FormatError::Landmark {
            line,
            reason: "expected a decimal number without leading zeros",
        });
    }
    match s.parse::<u64>() {
        Ok(v) if v <= MAX_TREE_SIZE => Ok(v),
        _ => Err(FormatError::Landmark {
            line,
            reason: "number exceeds 2^48-1",
        }),
    }
}

impl LandmarkDocument {
    /// Parses a document strictly.
    pub fn parse(text: &str) -> Result<Self, FormatError> {
        debug_assert!(CURRENT.landmark_expiry());
        let body = text.strip_suffix('\n').ok_or(FormatError::Landmark {
            line: 0,
            reason: "must end with a newline",
        })?;
        let mut lines = body.split('\n');
        let latest = number(lines.next().unwrap_or_default(), 1)?;
        let mut landmarks: Vec<Landmark> = Vec::new();
        for (i, l) in lines.enumerate() {
            let line = i + 2;
            let offset = u64::try_from(i).map_err(|_| FormatError::Landmark {
                line,
                reason: "too many lines",
            })?;
            let n = latest.checked_sub(offset).ok_or(FormatError::Landmark {
                line,
                reason: "more lines than landmarks",
            })?;
            let (size, expiry) = l.split_once(' ').ok_or(FormatError::Landmark {
                line,
                reason: "expected \"<tree_size> <expiry>\"",
            })?;
            let (tree_size, expiry) = (number(size, line)?, number(expiry, line)?);
            if let Some(prev) = landmarks.last() {
                if tree_size >= prev.tree_size {
                    return Err(FormatError::Landmark {
                        line,
                        reason: "tree sizes must strictly decrease",
                    });
                }
                if expiry > prev.expiry {
                    return Err(FormatError::Landmark {
                        line,
                        reason: "expiry times must not increase",
                    });
                }
            }
            if n == 0 && (tree_size != 0 || expiry != 0) {
                return Err(FormatError::Landmark {
                    line,
                    reason: "landmark 0 must be \"0 0\"",
                });
            }
            landmarks.push(Landmark {
                number: n,
                tree_size,
                expiry,
            });
        }
        if landmarks.is_empty() {
            return Err(FormatError::Landmark {
                line: 2,
                reason: "no landmarks listed",
            });
        }
        Ok(LandmarkDocument { landmarks })
    }

    /// Encodes the document (the inverse of [`Self::parse`]).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if let Some(first) = self.landmarks.first() {
            out.push_str(&format!("{}\n", first.number));
        }
        for l in &self.landmarks {
            out.push_str(&format!("{} {}\n", l.tree_size, l.expiry));
        }
        out
    }

    /// The newest landmark.
    pub fn latest(&self) -> Option<&Landmark> {
        self.landmarks.first()
    }

    /// Whether the list reaches a landmark already expired at `now` (publishers must
    /// list back that far; landmark 0 always counts).
    pub fn reaches_expired(&self, now: u64) -> bool {
        self.landmarks
            .last()
            .is_some_and(|l| l.number == 0 || l.expiry < now)
    }

    /// Landmarks still active at `now` (`now <= expiry`; landmark 0 never is).
    pub fn active(&self, now: u64) -> impl Iterator<Item = &Landmark> {
        self.landmarks
            .iter()
            .filter(move |l| l.number != 0 && now <= l.expiry)
    }

    /// The (up to two, non-empty) subtrees of every listed landmark whose predecessor is
    /// also listed, newest first: the trusted subtrees a relying party needs.
    pub fn subtrees(&self) -> Vec<LandmarkSubtree> {
        let mut out = Vec::new();
        for pair in self.landmarks.windows(2) {
            let (cur, prev) = (pair[0], pair[1]);
            for (start, end) in tlog::cover(prev.tree_size, cur.tree_size) {
                if start < end {
                    out.push(LandmarkSubtree {
                        landmark: cur.number,
                        start,
                        end,
                    });
                }
            }
        }
        out
    }

    /// The subtree of the lowest listed landmark that contains entry `index`, i.e. what a
    /// landmark-relative certificate for that entry proves inclusion in.
    pub fn subtree_for_index(&self, index: u64) -> Option<LandmarkSubtree> {
        self.subtrees()
            .into_iter()
            .filter(|s| s.start <= index && index < s.end)
            .min_by_key(|s| s.landmark)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "3\n2122 1799999999\n1024 1790000000\n42 1700000000\n0 0\n";

    #[test]
    fn parses_and_encodes_mtcs_vector() {
        let d = LandmarkDocument::parse(DOC).unwrap();
        assert_eq!(
            d.latest(),
            Some(&Landmark {
                number: 3,
                tree_size: 2122,
                expiry: 1_799_999_999
            })
        );
        assert_eq!(d.landmarks.len(), 4);
        assert_eq!(d.encode(), DOC);
        let l3: Vec<_> = d
            .subtrees()
            .into_iter()
            .filter(|s| s.landmark == 3)
            .map(|s| (s.start, s.end))
            .collect();
        assert_eq!(l3, vec![(1024, 2048), (2048, 2122)]);
        assert_eq!(
            d.subtree_for_index(2121),
            Some(LandmarkSubtree {
                landmark: 3,
                start: 2048,
                end: 2122
            })
        );
        assert_eq!(
            d.subtree_for_index(33)
                .map(|s| (s.landmark, s.start, s.end)),
            Some((1, 32, 42))
        );
        assert_eq!(d.subtree_for_index(2122), None);
        let active: Vec<u64> = d.active(1_795_000_000).map(|l| l.number).collect();
        assert_eq!(active, vec![3]);
        assert!(d.reaches_expired(1_795_000_000));
    }

    #[test]
    fn strictness() {
        for bad in [
            "",
            "3\n",
            "3\n2122 1799999999",
            "3\n2122  1799999999\n",
            "3\n2122 1799999999\r\n",
            "03\n2122 1799999999\n",
            "3\n02122 1799999999\n",
            "3\n2122 1799999999\n2122 1790000000\n",
            "3\n2122 1700000000\n1024 1790000000\n",
            "1\n5 10\n1 1\n",
            "1\n5 10\n0 0\n0 0\n",
            "0\n0 0\n\n",
            "3\n281474976710656 1\n",
        ] {
            assert!(LandmarkDocument::parse(bad).is_err(), "{bad:?}");
        }
        assert!(LandmarkDocument::parse("0\n0 0\n").is_ok());
    }
}
