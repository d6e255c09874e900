//! Subtrees of a Merkle tree (draft-ietf-plants-merkle-tree-certs §4.1
//! "Definition of a Subtree" and §4.5 "Efficiently Covering Arbitrary
//! Intervals"): the validity rule for `[start, end)` and the choice of two
//! adjacent subtrees that cover any interval.

/// Whether `[start, end)` is a valid subtree: `start <= end` and `start` is a
/// multiple of `BIT_CEIL(end - start)`. Sizes above 2^63 (where `BIT_CEIL`
/// overflows u64) are valid only with `start == 0`. Every `[0, x)` and every
/// empty `[x, x)` is valid. (`end <= n` is checked by the callers that know `n`.)
pub fn is_valid_subtree(start: u64, end: u64) -> bool {
    if start > end {
        return false;
    }
    let size = end - start;
    if size > (1u64 << 63) {
        return start == 0;
    }
    // size <= 2^63, so next_power_of_two cannot overflow; BIT_CEIL(0) = 1.
    let ceil = size.max(1).next_power_of_two();
    start & (ceil - 1) == 0
}

/// The two adjacent subtrees `left = [ls, mid)`, `right = [mid, end)` that
/// together cover `[start, end)` (draft §4.5.1). `left.start <= start`, no
/// entries past `end`, and fewer than half of `left` lie before `start`.
/// An interval of 0 or 1 entries yields `[start, end), [end, end)`.
///
/// Always returns exactly two pairs (the second or both may be empty); callers
/// that want only non-empty subtrees filter on `s < e`. Returns an empty vector
/// when `start > end`.
pub fn cover(start: u64, end: u64) -> Vec<(u64, u64)> {
    match cover_pair(start, end) {
        Some((l, r)) => vec![l, r],
        None => Vec::new(),
    }
}

/// [`cover`] as a fixed pair; `None` when `start > end`.
pub fn cover_pair(start: u64, end: u64) -> Option<((u64, u64), (u64, u64))> {
    if start > end {
        return None;
    }
    if end - start <= 1 {
        return Some(((start, end), (end, end)));
    }
    let last = end - 1;
    // start < last here, so start ^ last != 0.
    let split = 63 - (start ^ last).leading_zeros();
    let mask = (1u64 << split) - 1;
    let mid = last & !mask;
    let left_split = 64 - (!start & mask).leading_zeros();
    let left_start = start & !low_mask(left_split);
    Some(((left_start, mid), (mid, end)))
}

/// `(1 << bits) - 1`, defined for `bits == 64` too.
fn low_mask(bits: u32) -> u64 {
    1u64.checked_shl(bits).map_or(u64::MAX, |b| b - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validity_examples_from_draft() {
        assert!(is_valid_subtree(4, 8));
        assert!(is_valid_subtree(8, 13));
        assert!(!is_valid_subtree(7, 9));
        assert!(is_valid_subtree(0, 9));
        assert!(is_valid_subtree(5, 5));
        assert!(!is_valid_subtree(6, 5));
        assert!(is_valid_subtree(0, u64::MAX));
        assert!(is_valid_subtree(0, (1 << 63) + 1));
        assert!(!is_valid_subtree(1 << 62, (1 << 63) + 1));
    }

    #[test]
    fn cover_example_from_draft() {
        assert_eq!(cover(5, 13), vec![(4, 8), (8, 13)]);
        assert_eq!(cover(7, 9), vec![(7, 8), (8, 9)]);
        assert_eq!(cover(3, 4), vec![(3, 4), (4, 4)]);
        assert_eq!(cover(9, 9), vec![(9, 9), (9, 9)]);
        assert!(cover(2, 1).is_empty());
    }

    #[test]
    fn cover_properties_small() {
        for end in 0..200u64 {
            for start in 0..=end {
                let ((ls, mid), (rs, re)) = cover_pair(start, end).unwrap();
                assert_eq!(mid, rs);
                assert_eq!(re, end);
                assert!(ls <= start);
                assert!(is_valid_subtree(ls, mid) && is_valid_subtree(rs, re));
                if start < end {
                    assert!(start - ls < mid - start, "[{start},{end})");
                }
            }
        }
    }
}
